"""What scripts and people get from plan and apply (issue 11 items 7, 8, 12): the plan and one
line per change on stdout, progress and prompts on stderr; --format json is one document on
stdout even when the command stops on an error; the plan names the server and tenant."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import jsonschema
import pytest

from tests.e2e.test_apply import hold_writes_after_the_first, interrupt, start_cli
from tests.support.cli import ROOT, run_cli
from tests.support.project import Project, flow, seed

PLAN_SCHEMA = json.loads((ROOT / "docs/plan.schema.json").read_text(encoding="utf-8"))
ERROR_SCHEMA = json.loads((ROOT / "docs/error.schema.json").read_text(encoding="utf-8"))


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_json_on_an_unreachable_server_is_one_error_document(tmp_path, emulator, command):
    project = Project(tmp_path, emulator, env={"KESTRA_URL": closed_port_url()})
    project.write(flow("a"))
    done = project.run(command, "--format", "json", "-y" if command == "apply" else "--no-diff")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    jsonschema.validate(data, ERROR_SCHEMA)
    assert data["command"] == command and data["error"]["type"] == "TransportError"
    assert data["errors"] == [data["error"]["message"]]
    assert "error: " in done.stderr  # the one-line error for a person reading the log


def test_json_with_invalid_flows_lists_every_problem(tmp_path, emulator):
    project = Project(tmp_path, emulator)
    project.write(flow("a"))
    (tmp_path / "flows/company.team/b.yml").write_text(
        "id: b\nnamespace: company.team\ntasks: []\n"
    )
    (tmp_path / "flows/c.yml").write_text("id: [\n")
    done = project.plan("--format", "json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    jsonschema.validate(data, ERROR_SCHEMA)
    assert data["error"]["type"] == "InvalidFlowsError"
    assert {d["path"] for d in data["diagnostics"]} == {"flows/company.team/b.yml", "flows/c.yml"}
    assert emulator.stats.count() == 0  # nothing was sent


def test_apply_json_has_snake_case_keys_and_matches_the_schema(tmp_path, emulator):
    project = Project(tmp_path, emulator)
    project.write(flow("a"))
    done = project.run("apply", "-y", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, PLAN_SCHEMA)
    assert data["format_version"] == 2
    assert data["apply"]["summary"] == {"done": 1, "failed": 0, "not_attempted": 0}
    assert "[1/1] ok" in done.stderr  # with json on stdout, the change lines go to stderr


def test_apply_to_a_log_file_keeps_the_plan_and_every_change(tmp_path, emulator):
    seed(emulator, flow("b", message="old"), flow("same"))
    project = Project(tmp_path, emulator)
    for source in (flow("a"), flow("b", message="new"), flow("same")):
        project.write(source)
    done = project.run("apply", "-y", "--no-diff", "--show-unchanged")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Plan for {emulator.url}, tenant main"
    assert "  = same" in done.stdout.replace("unchanged", "")  # --show-unchanged lists it
    assert "--- server" not in done.stdout  # --no-diff
    assert sorted(line.split()[1] for line in lines if line.startswith("[")) == ["ok", "ok"]
    assert lines[-1] == "Apply: 2 done, 0 failed, 0 not attempted."
    # on stderr only notes (which Kestra version's rules were followed), no change lines
    assert "[1/" not in done.stderr and "error" not in done.stderr


def test_plan_header_names_every_tenant(tmp_path, make_emulator):
    emu = make_emulator(edition="ee")
    (tmp_path / "kestra-sync.yml").write_text(
        "tenants:\n  dev: flows/dev\n  prod: flows/prod\n", encoding="utf-8"
    )
    for tenant in ("dev", "prod"):
        path = tmp_path / "flows" / tenant / "company.team/a.yml"
        path.parent.mkdir(parents=True)
        path.write_text(flow("a"), encoding="utf-8")
    done = run_cli("plan", cwd=tmp_path, env={"KESTRA_URL": emu.url})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Plan for {emu.url}, tenants dev, prod\n")


def test_plan_directory_option_is_the_directory_argument(tmp_path, emulator):
    project = Project(tmp_path, emulator)
    (tmp_path / "flows").rename(tmp_path / "src")
    (tmp_path / "src/company.team").mkdir(parents=True)
    (tmp_path / "src/company.team/a.yml").write_text(flow("a"))
    assert "+ a" in project.plan("--directory", "src").stdout
    clash = project.plan("src", "--directory", "elsewhere")
    assert clash.returncode == 2 and "disagree" in clash.stderr


def test_tenant_option_selects_one_tenant_of_the_tenants_map(tmp_path, make_emulator):
    """Issue 11 item 10: `--tenant` with a `tenants:` map used to be ignored."""
    emu = make_emulator(edition="ee")
    (tmp_path / "kestra-sync.yml").write_text(
        "tenants:\n  dev: flows/dev\n  prod: flows/prod\n", encoding="utf-8"
    )
    for tenant in ("dev", "prod"):
        path = tmp_path / "flows" / tenant / "company.team/a.yml"
        path.parent.mkdir(parents=True)
        path.write_text(flow("a"), encoding="utf-8")
    env = {"KESTRA_URL": emu.url}
    done = run_cli("plan", "--tenant", "prod", "--format", "json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert {s["tenant"] for s in json.loads(done.stdout)["scopes"]} == {"prod"}
    wrong = run_cli("plan", cwd=tmp_path, env={**env, "KESTRA_TENANT": "qa"})
    assert wrong.returncode == 1
    assert "error: tenant 'qa' (env KESTRA_TENANT) is not in the `tenants:` map" in wrong.stderr
    assert "choose one of: dev, prod" in wrong.stderr


@pytest.mark.parametrize(
    "url, base",
    [
        ("{emu}/api/v1", "{emu}"),
        ("{emu}/api/v1/main/flows", "{emu}"),
        ("{emu}/ui/main/flows/edit/company.team/a", "{emu}"),
        ("{emu}/kestra/ui/", "{emu}/kestra"),
    ],
)
def test_a_wrong_base_url_is_one_error_with_the_url_to_use(tmp_path, emulator, url, base):
    """Issue 11 item 10: before, `.../api/v1` gave "Plan: 0 to create" then a 404 per namespace."""
    project = Project(tmp_path, emulator)
    project.write(flow("a"))
    done = project.plan(env={"KESTRA_URL": url.format(emu=emulator.url)})
    assert done.returncode == 1
    assert done.stderr.count("error:") == 1 and "is not Kestra's base URL" in done.stderr
    assert f"hint: use {base.format(emu=emulator.url)}: kestra-sync adds" in done.stderr
    assert emulator.stats.count() == 0


def test_a_url_without_scheme_is_refused_where_it_is_read(tmp_path, emulator):
    project = Project(tmp_path, emulator)
    project.write(flow("a"))
    done = project.plan("--server", "kestra.example.com")
    assert done.returncode == 1
    assert "error: --server: 'kestra.example.com' is not an http(s) URL" in done.stderr


def test_validate_json_on_a_config_error_is_one_error_document(tmp_path):
    (tmp_path / "kestra-sync.yml").write_text("max_deletes: lots\n", encoding="utf-8")
    done = run_cli("validate", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    jsonschema.validate(data, ERROR_SCHEMA)
    assert data["command"] == "validate" and data["error"]["type"] == "ConfigError"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_after_ctrl_c_the_text_report_counts_what_was_not_attempted(tmp_path, emulator):
    """Issue 11 item 12: not one "skipped ... interrupted" line per change after Ctrl-C. (The
    creates after the first are held until the signal has arrived: exactly 9 never start.)"""
    project = Project(tmp_path, emulator)
    ids = [f"f{i:02d}" for i in range(12)]
    for fid in ids:
        project.write(flow(fid))
    release, held = hold_writes_after_the_first(emulator, "company.team", ids)
    proc = start_cli(emulator, tmp_path, "apply", "-y", "--parallelism", "2")
    try:
        for _ in range(200):  # the plan, then the first change line, all on stdout
            line = proc.stdout.readline()
            if line.startswith("[1/12]") or not line:
                break
        held(2)  # f00 is done: f01 and f02, and only they, are in flight
        interrupt(proc, release)
        out, err = proc.communicate(timeout=60)
    finally:
        release.set()
        proc.kill()
    assert proc.returncode == 130, err
    headline = next(line for line in out.splitlines() if line.startswith("Apply: "))
    assert headline.startswith("Apply: 3 done, 0 failed, 9 not attempted")
    assert "(9 not attempted)" in out
    assert "the apply was interrupted" not in out  # counted, not listed


def test_a_reader_that_closes_stdout_early_is_not_a_bug(tmp_path):
    """`kestra-sync validate | head -1`: once head exits, the next write to stdout fails with
    a broken pipe. That used to end as "unexpected error ... this is a bug" with exit 3."""
    flows = tmp_path / "flows"
    flows.mkdir()
    for n in range(1500):  # enough error lines to overflow the pipe's buffer after head exits
        (flows / f"f{n:04d}.yml").write_text(
            f"id: bad id {n}\nnamespace: company.team\ntasks: []\n", encoding="utf-8"
        )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "kestra_sync", "validate", "--directory", str(flows)]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    with proc:
        proc.stdout.readline()  # head -1
        proc.stdout.close()
        err = proc.stderr.read().decode()
    assert proc.returncode == 1, err
    assert "bug" not in err and "Traceback" not in err, err
    assert "the output was closed before kestra-sync finished" in err
