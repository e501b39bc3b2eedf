"""End to end, the real CLI against hostile servers on 127.0.0.1 (issue 9, items 6-11): a server
that drips, one that dies mid-apply, a login page answering 200, a redirect to another server,
a zip bomb, TLS settings overridden by the environment, and bad transport settings. Each ends in
one clear line and exit 1 (or click's usage error), quickly, with nothing lost."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kestra_sync.applying.apply import UNREACHABLE_STOP
from tests.support.cli import ROOT, run_cli
from tests.support.hostile import DiesAfterWrites, HostileServer, drip, make_ca
from tests.support.server_state import flow, on_server, seed, write_flows


def cli(*args: str, cwd: Path, env: dict[str, str], timeout: float = 60):
    """run_cli with a tighter bound: a test here fails, rather than hangs, if the CLI hangs."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KESTRA_", "GITHUB_", "REQUESTS_CA", "CURL_CA"))
    }
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "kestra_sync", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    """The error lines, wherever the command prints them (a plan lists a namespace it could not
    read among its own lines on stdout; other failures go to stderr)."""
    text = done.stdout + done.stderr
    return [line for line in text.splitlines() if line.startswith("error:")]


# -- item 6: --timeout bounds each request, not each read --------------------------------------


def test_a_server_that_drips_a_byte_at_a_time_cannot_hang_plan(emulator, tmp_path):
    write_flows(tmp_path, [flow("acme", "a")])

    def answer(method, path, body):
        return drip(every=0.1, total=3000) if "/flows/search" in path else None

    with HostileServer(answer, emulator.url) as server:
        # Each read gets a byte within 0.1 s, far inside the 0.5 s timeout: only a deadline on
        # the whole request ends it (4 attempts of 0.5 s plus backoff, a few seconds; the drip
        # would last 300 s).
        done = cli(
            "plan", "flows", "--timeout", "0.5", cwd=tmp_path, env={"KESTRA_URL": server.url}
        )

    assert done.returncode == 1, done.stderr
    (line,) = error_lines(done)
    assert f"GET /api/v1/main/flows/search: no complete reply from {server.url}" in line
    assert "within 0.5s (--timeout)" in line
    assert "1 to create" not in done.stdout  # nothing planned from what could not be read


# -- item 7: a server that dies mid-apply ------------------------------------------------------


@pytest.mark.parametrize("parallelism", [1, 4])
def test_when_the_server_dies_mid_apply_the_rest_is_not_attempted_and_a_rerun_converges(
    emulator, tmp_path, parallelism
):
    """The server answers exactly 3 writes, then dies at the 4th (DiesAfterWrites: counted, not
    timed). Everything asserted holds whatever the scheduling: the apply stops, the report says
    what was done and what not, it never claims less than the server holds, and a re-run
    converges. (This used to kill the server from a callback and bound the wall time: on a
    loaded machine other keep-alive connections applied a varying number of writes meanwhile.)"""
    total, answered = 60, 3
    sources = [flow("acme", f"f{i:02d}") for i in range(total)]
    directory = write_flows(tmp_path, sources)
    server = DiesAfterWrites(emulator, answered)

    done = cli(
        "apply",
        str(directory),
        "-y",
        "--parallelism",
        str(parallelism),  # pinned: the bound below counts what can be in flight
        "--format",
        "json",
        cwd=tmp_path,
        env={"KESTRA_URL": emulator.url},
    )

    assert done.returncode == 1, done.stderr
    assert server.died.is_set() and server.answered == answered
    report = json.loads(done.stdout)["apply"]
    by_status: dict[str, list[str]] = {"done": [], "failed": [], "not_attempted": []}
    for o in report["outcomes"]:
        by_status[o["status"]].append(o["id"])
    errors = {o["id"]: o["error"] for o in report["outcomes"]}
    # What was done is exactly what the server holds: every answered write, nothing else.
    created = {fid for (_, fid) in on_server(emulator)}
    assert len(created) == answered
    assert set(by_status["done"]) == created
    # The write the server died at was sent, then cut: it may have been applied (here it was
    # not). Later ones were refused, never sent. No other kind of failure.
    failed = by_status["failed"]
    for fid in failed:
        error = errors[fid]
        assert ("closed the connection" in error and "may have been applied" in error) or (
            "connection refused" in error and "may have been applied" not in error
        ), error
    # It stops after UNREACHABLE_STOP failures in a row; a done reply still in flight at the
    # death can break a run (at most parallelism - 1 of them, each after at most
    # parallelism + 1 failures), and what is in flight when it stops fails too.
    in_flight_dones = min(answered, parallelism - 1)
    bound = in_flight_dones * (parallelism + 1) + UNREACHABLE_STOP - 1 + parallelism
    assert UNREACHABLE_STOP <= len(failed) <= bound
    rest = by_status["not_attempted"]
    assert len(rest) == total - answered - len(failed) >= total - answered - bound
    (reason,) = {errors[fid] for fid in rest}
    assert re.match(
        r"not attempted: the server could not be reached for \d+ changes in a row", reason
    )
    assert "re-run it once the server is back" in reason
    if parallelism == 1:  # one at a time, the outcome is exact
        assert by_status["done"] == [f"f{i:02d}" for i in range(answered)]
        assert failed == [f"f{i:02d}" for i in range(answered, answered + UNREACHABLE_STOP)]
        assert "closed the connection" in errors[failed[0]]
        assert all("connection refused" in errors[fid] for fid in failed[1:])

    emulator.stop()
    emulator.start()  # back with what it stored (on a fresh port: no race for the old one)
    again = cli("apply", str(directory), "-y", cwd=tmp_path, env={"KESTRA_URL": emulator.url})
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Apply: {total - answered} done, 0 failed, 0 not attempted." in again.stdout
    assert on_server(emulator) == {("acme", f"f{i:02d}"): s for i, s in enumerate(sources)}


# -- item 8: a login page answering 200 is not "applied" ---------------------------------------

LOGIN_PAGE = b"<!DOCTYPE html><html><body><form action=/login>Sign in</form></body></html>"


def test_a_proxy_answering_writes_with_a_login_page_applies_nothing_and_says_so(emulator, tmp_path):
    seed(emulator, flow("acme", "changed", "old"))
    directory = write_flows(tmp_path, [flow("acme", "changed", "new"), flow("acme", "fresh")])

    def answer(method, path, body):
        if method == "GET":
            return None
        return 200, {"Content-Type": "text/html; charset=utf-8"}, LOGIN_PAGE

    with HostileServer(answer, emulator.url) as proxy:
        done = cli("apply", str(directory), "-y", cwd=tmp_path, env={"KESTRA_URL": proxy.url})

    assert done.returncode == 1, done.stderr
    assert "Apply: 0 done, 2 failed, 0 not attempted." in done.stdout
    # the summary's list (each change also had its numbered line as it finished)
    failed = [line for line in done.stdout.splitlines() if line.startswith("  FAILED")]
    assert len(failed) == 2
    for line in failed:
        assert "HTML page" in line and "the change was not applied" in line
        assert "applied (200)" not in line
    assert on_server(emulator) == {("acme", "changed"): flow("acme", "changed", "old")}


@pytest.mark.parametrize("status", [429, 503])
def test_creates_answered_429_or_503_are_resent_after_retry_after(emulator, tmp_path, status):
    """Both statuses say the request was not processed: the creates are resent (after the
    server's Retry-After, 1 s here) and all land once."""
    sources = [flow("acme", f"f{i}") for i in range(3)]
    directory = write_flows(tmp_path, sources)
    emulator.faults.add("POST", r"/api/v1/main/flows$", status=status, count=2, retry_after=1)

    done = cli("apply", str(directory), "-y", cwd=tmp_path, env={"KESTRA_URL": emulator.url})

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply: 3 done, 0 failed, 0 not attempted." in done.stdout
    assert emulator.stats.count("POST") == 3 + 2
    assert on_server(emulator) == {("acme", f"f{i}"): s for i, s in enumerate(sources)}


def test_a_login_page_instead_of_a_listing_is_one_clear_error(tmp_path):
    write_flows(tmp_path, [flow("acme", "a")])

    def answer(method, path, body):
        return 200, {"Content-Type": "text/html"}, LOGIN_PAGE

    with HostileServer(answer) as proxy:
        done = cli("plan", "flows", cwd=tmp_path, env={"KESTRA_URL": proxy.url})
    assert done.returncode == 1
    (line,) = error_lines(done)
    assert "HTML page" in line and "login page" in line
    assert "1 to create" not in done.stdout  # nothing planned from what could not be read


# -- item 9: size limits ----------------------------------------------------------------------


def zip_bomb(megabytes: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("acme-a.yml", b"id: a\nnamespace: acme\n" + b"#" * (megabytes << 20))
    return buf.getvalue()


@pytest.mark.parametrize("command", ["plan", "pull"])
def test_an_export_that_expands_past_the_limit_is_refused_and_nothing_written(
    emulator, tmp_path, command
):
    seed(emulator, flow("acme", "a"))
    write_flows(tmp_path, [flow("acme", "a")])
    bomb = zip_bomb(3)
    assert len(bomb) < 64 * 1024  # small on the wire, 3 MiB once expanded

    def answer(method, path, body):
        if "/export/by-query" in path:
            return 200, {"Content-Type": "application/octet-stream"}, bomb
        return None

    args = ["plan", "flows"] if command == "plan" else ["pull", "out", "--namespace", "acme"]
    with HostileServer(answer, emulator.url) as server:
        env = {"KESTRA_URL": server.url}
        refused = cli(*args, "--max-reply-mb", "2", cwd=tmp_path, env=env)
        by_env = cli(*args, cwd=tmp_path, env={**env, "KESTRA_MAX_REPLY_MB": "2"})

    for done in (refused, by_env):
        assert done.returncode == 1, done.stderr
        (line,) = error_lines(done)
        assert "GET /api/v1/main/flows/export/by-query" in line
        assert "expands to more than the limit of 2 MiB (--max-reply-mb)" in line
    assert not (tmp_path / "out").exists()


# -- item 10: redirects and TLS ---------------------------------------------------------------


def test_a_redirect_to_another_server_is_not_followed(make_emulator, tmp_path):
    other = make_emulator()
    seed(other, flow("acme", "theirs"))
    write_flows(tmp_path, [flow("acme", "a")])

    def answer(method, path, body):
        return 302, {"Location": other.url + path}, b""

    with HostileServer(answer) as server:
        done = cli(
            "plan",
            "flows",
            cwd=tmp_path,
            env={"KESTRA_URL": server.url, "KESTRA_USERNAME": "u", "KESTRA_PASSWORD": "Pw0rd123"},
        )

    assert done.returncode == 1, done.stdout
    (line,) = error_lines(done)
    here = server.url
    there = other.url
    assert f"{here} redirects to another server, {there}: not followed" in line
    assert other.stats.count("GET") == 0  # nothing, and no credentials, reached it
    assert "theirs" not in done.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_the_configured_ca_wins_over_requests_ca_bundle(emulator, tmp_path):
    seed(emulator, flow("acme", "a"))
    write_flows(tmp_path, [flow("acme", "a")])
    ca, context = make_ca(tmp_path)
    (tmp_path / "other").mkdir()
    unrelated, _ = make_ca(tmp_path / "other")  # a valid bundle that does not hold our CA

    with HostileServer(lambda *a: None, emulator.url, tls=context) as server:
        env = {"KESTRA_URL": server.url, "REQUESTS_CA_BUNDLE": str(unrelated)}
        (tmp_path / "kestra-sync.yml").write_text("verify: ca.pem\n")
        by_config = cli("plan", "flows", cwd=tmp_path, env=env)
        (tmp_path / "kestra-sync.yml").unlink()
        by_flag = cli("plan", "flows", "--ca-bundle", str(ca), cwd=tmp_path, env=env)
        by_env = cli("plan", "flows", cwd=tmp_path, env={**env, "KESTRA_CA_BUNDLE": str(ca)})
        unset = cli("plan", "flows", cwd=tmp_path, env=env)  # only the unrelated bundle: refused
        # Nothing configured: requests' variable is honoured (read once per client, environ.py).
        by_requests_env = cli(
            "plan", "flows", cwd=tmp_path, env={**env, "REQUESTS_CA_BUNDLE": str(ca)}
        )
        insecure = cli("plan", "flows", "--insecure", cwd=tmp_path, env=env)

    for done in (by_config, by_flag, by_env, by_requests_env, insecure):
        assert done.returncode == 0, done.stderr
        assert "1 unchanged" in done.stdout
    assert unset.returncode == 1 and "TLS handshake failed" in unset.stderr
    assert insecure.stderr.count("are not verified") == 1  # said once, not per request
    assert "InsecureRequestWarning" not in insecure.stderr


# -- items 10 and 11: settings that are refused with one line ----------------------------------


def test_a_password_in_the_config_files_url_is_refused_without_printing_it(emulator, tmp_path):
    write_flows(tmp_path, [flow("acme", "a")])
    host = emulator.url.split("://")[1]
    (tmp_path / "kestra-sync.yml").write_text(f"url: http://admin:S3cretPw0rd@{host}\n")
    done = cli("plan", "flows", cwd=tmp_path, env={})
    assert done.returncode == 1
    (line,) = error_lines(done)
    assert "kestra-sync.yml: 'url' holds credentials" in line
    assert "S3cretPw0rd" not in done.stderr + done.stdout
    assert "KESTRA_PASSWORD" in done.stderr
    # In the environment (a CI secret) the same URL is accepted.
    (tmp_path / "kestra-sync.yml").unlink()
    ok = cli("plan", "flows", cwd=tmp_path, env={"KESTRA_URL": f"http://admin:S3cretPw0rd@{host}"})
    assert ok.returncode == 0, ok.stderr


def test_a_missing_ca_bundle_is_one_line_naming_it(emulator, tmp_path):
    write_flows(tmp_path, [flow("acme", "a")])
    env = {"KESTRA_URL": emulator.url}
    by_flag = cli("plan", "flows", "--ca-bundle", "nope/ca.pem", cwd=tmp_path, env=env)
    (tmp_path / "kestra-sync.yml").write_text("verify: certs/missing.pem\n")
    by_config = cli("plan", "flows", cwd=tmp_path, env=env)
    for done, name in ((by_flag, "nope/ca.pem"), (by_config, "certs/missing.pem")):
        assert done.returncode == 1, done.stderr
        (line,) = error_lines(done)
        assert "the CA bundle" in line and name in line and "does not exist" in line
        assert "unexpected" not in done.stderr


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_timeout_of_zero_or_less_is_a_usage_error(emulator, tmp_path, value):
    write_flows(tmp_path, [flow("acme", "a")])
    done = run_cli(
        "plan", "flows", "--timeout", value, cwd=tmp_path, env={"KESTRA_URL": emulator.url}
    )
    assert done.returncode == 2
    assert "Invalid value for '--timeout'" in done.stderr and "unexpected" not in done.stderr
    (tmp_path / "kestra-sync.yml").write_text(f"timeout: {value}\n")
    configured = run_cli("plan", "flows", cwd=tmp_path, env={"KESTRA_URL": emulator.url})
    assert configured.returncode == 1
    (line,) = error_lines(configured)
    assert "'timeout' must be a number of seconds above 0" in line
