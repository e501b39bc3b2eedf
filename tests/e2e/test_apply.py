"""End to end: `kestra-sync apply` run as a user runs it (a child process, real HTTP) against the
emulator, including faults in the middle of an apply. Every test checks what the server holds
afterwards, not only what the report says, and that a re-run converges."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kestra_sync.client import KestraClient
from kestra_sync.emulator import rules
from tests.support.cli import ROOT, run_cli
from tests.support.server_state import (
    caller,
    flow,
    kestra,
    on_server,
    revision,
    seed,
    write_flows,
    writes,
)


class Recorder:
    """Installed on a running emulator: logs every flow request in the order the server handled
    it, and can make chosen writes misbehave in ways the fault plan cannot (it fails before the
    server acts): ``after`` = apply the write, then drop the connection without a reply (a reply
    lost in transit); ``status`` = answer with that status for this flow only; ``before`` = run a
    callable first (a concurrent change by someone else)."""

    def __init__(self, emu):
        self.log: list[tuple[str, str, int]] = []  # (method, namespace/id, status)
        self.rules: list[dict] = []
        self.lock = threading.Lock()
        recorder = self
        base = emu.server.RequestHandlerClass

        class Handler(base):
            _drop_reply = False

            def _dispatch(self, method, route, p, body):
                target = recorder.target(method, p, body)
                rule = recorder.take(method, target)
                if rule and rule.get("before"):
                    rule["before"]()
                status = 500  # any other exception: _handle answers 500
                try:
                    if rule and rule.get("status"):
                        answer = self._reject_status(rule["status"])
                    else:
                        answer = super()._dispatch(method, route, p, body)
                except rules.Rejection as rejection:  # answered by the caller, _handle
                    status = rejection.status
                    raise
                except rules.ConstraintViolations:
                    status = 422
                    raise
                else:
                    status = answer.status
                finally:
                    if target:
                        with recorder.lock:
                            recorder.log.append((method, target, status))
                self._drop_reply = bool(rule and rule.get("after"))
                return answer

            def _reject_status(self, status):
                return self._reject(rules.Rejection(status, "Internal server error", "boom"))

            def _send(self, answer):
                if self._drop_reply:
                    self._drop_reply = False
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                super()._send(answer)

        emu.server.RequestHandlerClass = Handler

    @staticmethod
    def target(method: str, p: dict, body: bytes) -> str:
        if method == "POST" and body and "namespace" not in p:
            text = body.decode("utf-8", "replace")
            ns = re.search(r"^namespace: *(\S+)", text, re.M)
            fid = re.search(r"^id: *(\S+)", text, re.M)
            if ns and fid:
                return f"{ns.group(1)}/{fid.group(1)}"
        if "namespace" in p and "id" in p:
            return f"{p['namespace']}/{p['id']}"
        return ""

    def add(self, method: str, target: str, **rule) -> None:
        self.rules.append({"method": method, "target": target, "count": 1, **rule})

    def take(self, method: str, target: str) -> dict | None:
        with self.lock:
            for rule in self.rules:
                if rule["count"] > 0 and rule["method"] == method and rule["target"] == target:
                    rule["count"] -= 1
                    return rule
        return None

    def index(self, method: str, target: str) -> int:
        return next(i for i, (m, t, _) in enumerate(self.log) if (m, t) == (method, target))


def hold_writes_after_the_first(emu, namespace: str, ids: list[str]):
    """Every create but the first waits in the server until the returned Event is set: what is
    in flight when a test interrupts the apply stays in flight, however loaded the machine.
    ``held(n)`` waits until n creates are held (then exactly those are in flight)."""
    release = threading.Event()
    arrived = threading.Semaphore(0)
    recorder = Recorder(emu)

    def hold() -> None:
        arrived.release()
        release.wait(120)

    for fid in ids[1:]:
        recorder.add("POST", f"{namespace}/{fid}", before=hold)

    def held(count: int) -> None:
        for _ in range(count):
            assert arrived.acquire(timeout=60), "the apply never sent the next create"

    return release, held


def start_cli(emulator, cwd, *args: str) -> subprocess.Popen:
    """The real CLI against ``emulator`` as a child process whose pipes a test reads as it
    runs (the Ctrl-C tests)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KESTRA_")}
    env.update(KESTRA_URL=emulator.url, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "kestra_sync", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt(proc: subprocess.Popen, release: threading.Event) -> None:
    """Ctrl-C, then release the held writes once the CLI's handler has surely run: the signal is
    no longer pending (/proc/PID/status), and then the main thread, which wakes every 0.1 s to
    run signal handlers (scheduler.Scheduler.run), has gone back to sleep twice: its handler
    has set the cancel Event, so no worker starts anything new, whatever the scheduling."""
    ctrl_c_handled(proc)
    release.set()


def ctrl_c_handled(proc: subprocess.Popen) -> None:
    """Send SIGINT and return once the CLI's handler has surely run (see ``interrupt``)."""
    proc.send_signal(signal.SIGINT)
    status = Path(f"/proc/{proc.pid}/status")
    if not status.exists():  # not Linux: a margin instead of a proof
        time.sleep(2)
        return

    def fields(path: Path) -> dict[str, str]:
        return dict(line.split(":", 1) for line in path.read_text().splitlines())

    sigint = 1 << (signal.SIGINT - 1)
    for _ in range(1200):
        pending = fields(status)
        if not (int(pending["SigPnd"], 16) | int(pending["ShdPnd"], 16)) & sigint:
            break
        time.sleep(0.05)
    main = Path(f"/proc/{proc.pid}/task/{proc.pid}/status")
    switches = int(fields(main)["voluntary_ctxt_switches"])
    for _ in range(1200):
        if int(fields(main)["voluntary_ctxt_switches"]) >= switches + 2:
            break
        time.sleep(0.05)


# --- happy path -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "2.0"])
def test_apply_creates_updates_deletes_and_a_second_apply_has_nothing_to_do(
    make_emulator, tmp_path, version
):
    emulator = make_emulator(version=version)
    seed(
        emulator,
        flow("acme", "same"),
        flow("acme", "changed", "old"),
        flow("acme", "gone"),
        flow("other", "untouched"),
    )
    new = [flow("acme", "same"), flow("acme", "changed", "new"), flow("acme.sub", "fresh")]
    directory = write_flows(tmp_path, new)

    done = kestra(emulator, "apply", str(directory), "--auto-approve", "--delete", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Apply: 3 done, 0 failed, 0 not attempted." in done.stdout
    # One numbered line per change on stdout (issue 11 item 7: `apply > apply.log` keeps them),
    # after the plan, which is on stdout too; nothing redrawn when stderr is not a terminal.
    progress = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert len(progress) == 3 and progress[-1].startswith("[3/3] ")
    assert any("update acme/changed: updated (revision 2)" in line for line in progress)
    assert done.stdout.index("~ changed") < done.stdout.index("[1/3]")
    assert "\r" not in done.stdout + done.stderr
    assert "[1/3]" not in done.stderr
    server = on_server(emulator)
    assert server == {
        ("acme", "same"): new[0],
        ("acme", "changed"): new[1],
        ("acme.sub", "fresh"): new[2],
        ("other", "untouched"): flow("other", "untouched"),  # not in scope: never touched
    }
    assert revision(emulator, "acme", "same") == 1

    before = writes(emulator)
    again = kestra(emulator, "apply", str(directory), "--auto-approve", "--delete", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Apply: nothing to do, the server matches git." in again.stdout
    assert "3 unchanged" in again.stdout
    assert writes(emulator) == before


def test_without_a_terminal_or_auto_approve_apply_refuses_and_writes_nothing(emulator, tmp_path):
    directory = write_flows(tmp_path, [flow("acme", "a")])
    done = kestra(emulator, "apply", str(directory), cwd=tmp_path, stdin="y\n")
    assert done.returncode == 1
    assert "error: apply needs confirmation but there is no terminal" in done.stderr
    assert "--auto-approve" in done.stderr
    assert "+ a" in done.stdout  # the plan was shown, so the user knows what would happen
    assert writes(emulator) == 0 and on_server(emulator) == {}


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal (POSIX)")
def test_on_a_terminal_apply_asks_and_a_no_writes_nothing(emulator, tmp_path):
    directory = write_flows(tmp_path, [flow("acme", "a")])
    for answer, code in (("n", 1), ("y", 0)):
        master, slave = os.openpty()
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("KESTRA_")}
            env.update(KESTRA_URL=emulator.url, PYTHONPATH=str(ROOT))
            proc = subprocess.Popen(
                [sys.executable, "-m", "kestra_sync", "apply", str(directory)],
                cwd=tmp_path,
                env=env,
                stdin=slave,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            os.write(master, f"{answer}\n".encode())
            out, err = proc.communicate(timeout=60)
        finally:
            os.close(master)
            os.close(slave)
        assert proc.returncode == code, err
        # issue 11 item 12: the prompt names the server and tenant; "n" is not click's "Aborted!"
        assert f"Apply these changes to {emulator.url} (tenant main)?" in err
        assert out.startswith(f"Plan for {emulator.url}, tenant main\n")
        if answer == "n":
            assert "Apply cancelled." in err and "Aborted" not in err
            assert writes(emulator) == 0
    assert on_server(emulator) == {("acme", "a"): flow("acme", "a")}


# --- saved plans ----------------------------------------------------------------------------


def test_a_saved_plan_is_applied_exactly_even_if_the_directory_changed_since(emulator, tmp_path):
    seed(emulator, flow("acme", "a", "old"))
    planned = [flow("acme", "a", "planned"), flow("acme", "b")]
    directory = write_flows(tmp_path, planned)
    saved = kestra(emulator, "plan", str(directory), "--out", "plan.json", cwd=tmp_path)
    assert saved.returncode == 0, saved.stderr
    write_flows(tmp_path, [flow("acme", "a", "edited after the plan"), flow("acme", "c")])

    done = kestra(emulator, "apply", "plan.json", cwd=tmp_path)  # a saved plan needs no prompt

    assert done.returncode == 0, done.stderr
    assert on_server(emulator) == {("acme", "a"): planned[0], ("acme", "b"): planned[1]}


def test_a_stale_saved_plan_is_refused_and_nothing_is_written(emulator, tmp_path):
    seed(emulator, flow("acme", "a", "old"))
    directory = write_flows(tmp_path, [flow("acme", "a", "planned"), flow("acme", "b")])
    assert kestra(emulator, "plan", str(directory), "--out", "p.json", cwd=tmp_path).returncode == 0
    with KestraClient(emulator.url) as client:
        client.update_flow("acme", "a", flow("acme", "a", "someone else"))
    before = writes(emulator)

    done = kestra(emulator, "apply", "p.json", cwd=tmp_path)

    assert done.returncode == 1
    assert "the saved plan is stale" in done.stderr
    assert "acme/a changed on the server since the plan (revision 1 -> 2)" in done.stderr
    assert writes(emulator) == before
    assert on_server(emulator)[("acme", "a")] == flow("acme", "a", "someone else")


# --- order ------------------------------------------------------------------------------------


def test_flows_are_created_after_the_flows_they_reference_as_the_server_sees_it(
    make_emulator, tmp_path
):
    # Names sort callers first, so only the dependency order can put the targets first.
    # A Flow trigger's `preconditions` is the 1.x form (2.0 replaced it): a 1.3 server.
    emulator = make_emulator(version="1.3")
    trigger = (
        "triggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n"
        "    preconditions:\n      id: p\n      flows:\n"
        "        - namespace: acme\n          flowId: b-middle\n"
    )
    sources = [
        caller("acme", "a-top", "b-middle"),
        caller("acme", "b-middle", "c-bottom"),
        flow("acme", "c-bottom"),
        flow("acme", "a-listener", extra=trigger),
        flow("acme", "d-free"),
    ]
    directory = write_flows(tmp_path, sources)
    recorder = Recorder(emulator)

    done = kestra(emulator, "apply", str(directory), "-y", "--parallelism", "8", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    created = [t for m, t, s in recorder.log if m == "POST" and s == 200]
    assert sorted(created) == sorted(f"acme/{s.split()[1]}" for s in sources)
    assert created.index("acme/c-bottom") < created.index("acme/b-middle")
    assert created.index("acme/b-middle") < created.index("acme/a-top")
    assert created.index("acme/b-middle") < created.index("acme/a-listener")


# --- faults ---------------------------------------------------------------------------------


def test_a_503_burst_on_updates_is_absorbed_by_retries(emulator, tmp_path):
    names = [f"f{i}" for i in range(6)]
    seed(emulator, *(flow("acme", n, "old") for n in names))
    directory = write_flows(tmp_path, [flow("acme", n, "new") for n in names])
    emulator.faults.add("PUT", r"/flows/acme/", status=503, count=3)

    done = kestra(emulator, "apply", str(directory), "-y", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Apply: 6 done, 0 failed, 0 not attempted." in done.stdout
    assert emulator.stats.count("PUT") == 6 + 3
    assert all(on_server(emulator)[("acme", n)] == flow("acme", n, "new") for n in names)
    assert all(revision(emulator, "acme", n) == 2 for n in names)


def test_a_dropped_connection_during_an_update_is_retried_and_counted_once(emulator, tmp_path):
    """PUT is idempotent and retried by the client (client/http.py IDEMPOTENT): a connection
    dropped before the server acted, and one dropped after it stored the update (the reply lost),
    both end with one new revision, reported as updated."""
    names = ["a", "b", "c", "d"]
    seed(emulator, *(flow("acme", n, "old") for n in names))
    directory = write_flows(tmp_path, [flow("acme", n, "new") for n in names])
    emulator.faults.add("PUT", r"/flows/acme/b$", drop=True)
    recorder = Recorder(emulator)
    recorder.add("PUT", "acme/c", after=True)

    done = kestra(emulator, "apply", str(directory), "-y", "--format", "json", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    outcomes = {o["id"]: o for o in json.loads(done.stdout)["apply"]["outcomes"]}
    assert {(o["status"], o["result"], o["revision"]) for o in outcomes.values()} == {
        ("done", "updated", 2)
    }
    assert [t for m, t, _ in recorder.log if m == "PUT"].count("acme/c") == 2
    assert all(revision(emulator, "acme", n) == 2 for n in names)
    assert all(on_server(emulator)[("acme", n)] == flow("acme", n, "new") for n in names)


def test_updates_that_keep_failing_are_reported_and_a_rerun_converges(emulator, tmp_path):
    names = ["a", "b", "c"]
    seed(emulator, *(flow("acme", n, "old") for n in names))
    directory = write_flows(tmp_path, [flow("acme", n, "new") for n in names])
    recorder = Recorder(emulator)
    recorder.add("PUT", "acme/b", status=500)  # 500 is not retried (client/http.py)

    done = kestra(emulator, "apply", str(directory), "-y", cwd=tmp_path)

    assert done.returncode == 1
    assert "Apply: 2 done, 1 failed, 0 not attempted." in done.stdout
    assert re.search(r"FAILED +update acme/b: PUT \S+/flows/acme/b: 500", done.stdout)
    assert on_server(emulator)[("acme", "b")] == flow("acme", "b", "old")

    again = kestra(emulator, "apply", str(directory), "-y", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Plan: 0 to create, 1 to update, 0 to delete, 2 unchanged." in again.stdout
    assert "Apply: 1 done, 0 failed, 0 not attempted." in again.stdout
    assert on_server(emulator)[("acme", "b")] == flow("acme", "b", "new")


def test_a_500_on_one_create_among_many_fails_only_that_one_and_a_rerun_converges(
    emulator, tmp_path
):
    sources = [flow(f"ns{i % 3}", f"flow{i:02d}") for i in range(24)]
    directory = write_flows(tmp_path, sources)
    recorder = Recorder(emulator)
    recorder.add("POST", "ns1/flow07", status=500)

    done = kestra(emulator, "apply", str(directory), "-y", "--format", "json", cwd=tmp_path)

    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["summary"]["create"] == 24  # the plan's shape, plus the outcomes
    assert report["apply"]["summary"] == {"done": 23, "failed": 1, "not_attempted": 0}
    failed = [o for o in report["apply"]["outcomes"] if o["status"] == "failed"]
    assert [(f["namespace"], f["id"], f["revision"]) for f in failed] == [("ns1", "flow07", None)]
    assert "500" in failed[0]["error"]
    assert len(on_server(emulator)) == 23

    again = kestra(emulator, "apply", str(directory), "-y", "--format", "markdown", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Plan: 1 to create, 0 to update, 0 to delete, 23 unchanged." in again.stderr
    assert "**1 done, 0 failed, 0 not attempted.**" in again.stdout
    assert "| ✅ | flow | `ns1/flow07` | create | created (r1) |" in again.stdout
    assert len(on_server(emulator)) == 24


def test_a_create_whose_reply_is_lost_fails_with_a_hint_and_a_rerun_finds_it_done(
    emulator, tmp_path
):
    sources = [flow("acme", "a"), flow("acme", "b")]
    directory = write_flows(tmp_path, sources)
    recorder = Recorder(emulator)
    recorder.add("POST", "acme/a", after=True)  # stored, then the connection drops

    done = kestra(emulator, "apply", str(directory), "-y", cwd=tmp_path)

    assert done.returncode == 1
    assert "Apply: 1 done, 1 failed, 0 not attempted." in done.stdout
    line = next(x for x in done.stdout.splitlines() if "FAILED" in x)
    assert "closed the connection before a complete reply" in line
    assert "the change may have been applied, a re-run converges" in line
    assert [t for m, t, _ in recorder.log if m == "POST"].count("acme/a") == 1  # POST not retried
    assert on_server(emulator) == {("acme", "a"): sources[0], ("acme", "b"): sources[1]}

    again = kestra(emulator, "apply", str(directory), "-y", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Apply: nothing to do" in again.stdout
    assert revision(emulator, "acme", "a") == 1


def test_a_create_that_meets_a_concurrent_create_converges_through_upsert(emulator, tmp_path):
    """Between the plan and the POST someone creates the same flows: the 422 "already exists"
    becomes unchanged (same source) or an update (another source), never a failure."""
    sources = [flow("acme", "same"), flow("acme", "other")]
    directory = write_flows(tmp_path, sources)
    recorder = Recorder(emulator)
    with KestraClient(emulator.url) as client:
        recorder.add("POST", "acme/same", before=lambda: client.create_flow(sources[0]))
        recorder.add(
            "POST", "acme/other", before=lambda: client.create_flow(flow("acme", "other", "x"))
        )
        done = kestra(emulator, "apply", str(directory), "-y", "--format", "json", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    outcomes = {o["id"]: o for o in json.loads(done.stdout)["apply"]["outcomes"]}
    assert (outcomes["same"]["result"], outcomes["same"]["revision"]) == ("unchanged", 1)
    assert (outcomes["other"]["result"], outcomes["other"]["revision"]) == ("updated", 2)
    assert on_server(emulator) == {("acme", "same"): sources[0], ("acme", "other"): sources[1]}


def test_fail_fast_stops_after_the_first_failure(emulator, tmp_path):
    sources = [flow("acme", f"f{i}") for i in range(8)]
    directory = write_flows(tmp_path, sources)
    recorder = Recorder(emulator)
    recorder.add("POST", "acme/f0", status=500)

    done = kestra(
        emulator, "apply", str(directory), "-y", "--fail-fast", "--parallelism", "1", cwd=tmp_path
    )

    assert done.returncode == 1
    assert "Apply: 0 done, 1 failed, 7 not attempted." in done.stdout
    assert "stopped after the first failure (--fail-fast)" in done.stdout
    assert on_server(emulator) == {}
    assert "Nothing else was changed" in done.stdout


def test_a_failed_listing_never_deletes(emulator, tmp_path):
    seed(emulator, flow("acme", "keep"), flow("acme", "extra"))
    directory = write_flows(tmp_path, [flow("acme", "keep")])
    emulator.faults.add("GET", r"/flows/export/by-query$", status=500)

    done = kestra(emulator, "apply", str(directory), "-y", "--delete", cwd=tmp_path)

    assert done.returncode == 1
    assert emulator.stats.count("DELETE") == 0
    assert set(on_server(emulator)) == {("acme", "keep"), ("acme", "extra")}


@pytest.mark.parametrize("fmt", ["json", "markdown"])  # text: the first test
def test_nothing_to_do_in_every_format(emulator, tmp_path, fmt):
    seed(emulator, flow("acme", "a"))
    directory = write_flows(tmp_path, [flow("acme", "a")])
    done = kestra(emulator, "apply", str(directory), "-y", "--format", fmt, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    if fmt == "json":
        data = json.loads(done.stdout)
        assert data["summary"]["unchanged"] == 1 and data["apply"]["outcomes"] == []
    else:
        assert "nothing to do" in done.stdout.lower()


def test_namespace_flag_brings_a_namespace_without_flows_in_git_into_scope(emulator, tmp_path):
    """`--namespace NS` (repeatable) on apply: the click tuple used to be rejected as an invalid
    value by the settings loader, so no namespace could be given on the command line."""
    seed(emulator, flow("retired", "old1"), flow("retired", "old2"), flow("acme", "a"))
    directory = write_flows(tmp_path, [flow("acme", "a")])
    args = ("apply", str(directory), "-y", "--delete", "--namespace", "retired")

    kept = kestra(emulator, *args, cwd=tmp_path)  # deleting a whole namespace needs consent
    assert kept.returncode == 0, kept.stderr
    assert "not deleted: git has no flow in this namespace" in kept.stdout
    assert emulator.stats.count("DELETE") == 0

    done = kestra(emulator, *args, "--allow-empty-namespace", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Apply: 2 done, 0 failed, 0 not attempted." in done.stdout
    assert set(on_server(emulator)) == {("acme", "a")}


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_lets_the_requests_in_flight_finish_and_reports_the_rest(emulator, tmp_path):
    """The first Ctrl-C starts nothing new; the summary still says what was done (exit 130),
    and a re-run converges. (Before, Ctrl-C dropped the summary: nobody knew what was applied.)
    The creates after the first are held in the server until the signal has arrived, so the
    counts are exact: f00 done, f01 and f02 in flight (finished), the other 9 never started."""
    ids = [f"f{i:02d}" for i in range(12)]
    directory = write_flows(tmp_path, [flow("acme", fid) for fid in ids])
    release, held = hold_writes_after_the_first(emulator, "acme", ids)
    proc = start_cli(
        emulator, tmp_path, "apply", str(directory), "-y", "--parallelism", "2", "--format", "json"
    )
    try:
        for _ in range(100):  # the plan, then the first progress line
            line = proc.stderr.readline()
            if line.startswith("[1/12]") or not line:
                break
        held(2)  # f00 is done: f01 and f02, and only they, are in flight
        interrupt(proc, release)
        out, err = proc.communicate(timeout=60)
    finally:
        release.set()
        proc.kill()
    assert proc.returncode == 130, err
    report = json.loads(out)["apply"]
    assert report["interrupted"] is True
    assert report["summary"] == {"done": 3, "failed": 0, "not_attempted": 9}
    done = [o["id"] for o in report["outcomes"] if o["status"] == "done"]
    assert done == ["f00", "f01", "f02"]
    assert {o["error"] for o in report["outcomes"] if o["status"] != "done"} == {
        "not attempted: the apply was interrupted"
    }
    assert set(on_server(emulator)) == {("acme", fid) for fid in done}  # the report is exact

    again = kestra(emulator, "apply", str(directory), "-y", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Plan: 9 to create, 0 to update, 0 to delete, 3 unchanged." in again.stdout
    assert len(on_server(emulator)) == 12


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_a_second_ctrl_c_quits_at_once_without_waiting_for_the_requests_in_flight(
    emulator, tmp_path
):
    """README: "a second one quits at once". The two creates in flight are held in the server
    until the test ends, so the process can only exit if it stops waiting for them. (It used
    to join every worker after the second Ctrl-C: a hung server kept it until its timeout.)"""
    ids = [f"f{i:02d}" for i in range(6)]
    directory = write_flows(tmp_path, [flow("acme", fid) for fid in ids])
    release, held = hold_writes_after_the_first(emulator, "acme", ids)
    # --timeout 600: the client does not give up on the held requests either
    proc = start_cli(
        emulator, tmp_path, "apply", str(directory), "-y", "--parallelism", "2", "--timeout", "600"
    )
    try:
        held(2)  # f01 and f02 are in flight, and stay so until release
        ctrl_c_handled(proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)  # the held requests outlast this by far
    finally:
        release.set()
        proc.kill()
        proc.communicate()
    assert proc.returncode == 130, err
    assert err.rstrip().endswith("interrupted") and "Traceback" not in err


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_plan_with_errors_applies_nothing_and_still_reports_in_the_asked_format(
    emulator, tmp_path, fmt
):
    """--format json used to print nothing at all when the plan had errors (here: more deletes
    than --max-deletes), leaving a CI step that parses stdout with an empty document."""
    seed(emulator, *(flow("acme", f"x{i}") for i in range(3)))
    directory = write_flows(tmp_path, [flow("acme", "new")])
    args = ("apply", str(directory), "-y", "--delete", "--max-deletes", "1", "--format", fmt)
    emulator.stats.reset()

    done = kestra(emulator, *args, cwd=tmp_path)

    assert done.returncode == 1
    assert "more than the limit of 1" in (done.stderr if fmt == "json" else done.stdout)
    assert writes(emulator) == 0
    if fmt == "json":
        report = json.loads(done.stdout)
        assert report["errors"] and report["summary"]["delete"] == 3
        assert report["apply"]["summary"] == {"done": 0, "failed": 0, "not_attempted": 4}
        assert {o["error"] for o in report["apply"]["outcomes"]} == {
            "not attempted: the plan has errors"
        }
    else:
        assert "Apply: 0 done, 0 failed, 4 not attempted." in done.stdout


def test_a_create_that_times_out_is_not_resent_and_a_rerun_converges(emulator, tmp_path):
    """A POST without a reply within --timeout may still be applied: the client does not resend
    it (client/http.py IDEMPOTENT), the outcome says so, and the re-run finds it done. The slow
    create is held until the CLI has exited, so it outlasts --timeout whatever the machine's
    load; the timeout is wide enough for every other request on a loaded machine."""
    sources = [flow("acme", "fast"), flow("acme", "slow")]
    directory = write_flows(tmp_path, sources)
    recorder = Recorder(emulator)
    release = threading.Event()
    recorder.add("POST", "acme/slow", before=lambda: release.wait(120))

    try:
        done = kestra(emulator, "apply", str(directory), "-y", "--timeout", "2", cwd=tmp_path)
    finally:
        release.set()  # the server finishes the slow create after the client gave up on it

    assert done.returncode == 1
    assert "Apply: 1 done, 1 failed, 0 not attempted." in done.stdout
    assert re.search(
        r"FAILED +create acme/slow: POST \S+: no complete reply from \S+ within 2s \(--timeout\)",
        done.stdout,
    )
    assert "the change may have been applied, a re-run converges" in done.stdout
    for _ in range(1200):  # released: the server acts on it (a bound, not a timing claim)
        if ("POST", "acme/slow", 200) in recorder.log:
            break
        time.sleep(0.05)
    assert on_server(emulator) == {("acme", "fast"): sources[0], ("acme", "slow"): sources[1]}

    again = kestra(emulator, "apply", str(directory), "-y", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Apply: nothing to do" in again.stdout
    assert [t for m, t, _ in recorder.log if m == "POST"].count("acme/slow") == 1


def test_rerunning_a_saved_plan_after_a_partial_failure_converges(emulator, tmp_path):
    """The issue: "a re-run of the same command converges". For `apply plan.json` the flows the
    first run applied have new revisions, which the staleness check used to call drift, so the
    only way on was a new plan. A flow that already holds what the plan wanted (or a planned
    delete already gone) is now treated as applied, not as drift; any other change is still."""
    seed(emulator, flow("acme", "upd", "old"), flow("acme", "del"))
    planned = [flow("acme", "upd", "new"), flow("acme", "c1"), flow("acme", "c2")]
    directory = write_flows(tmp_path, planned)
    args = ("plan", str(directory), "--delete", "--out", "plan.json")
    assert kestra(emulator, *args, cwd=tmp_path).returncode == 0
    recorder = Recorder(emulator)
    recorder.add("POST", "acme/c2", status=500)

    first = kestra(emulator, "apply", "plan.json", cwd=tmp_path)
    assert first.returncode == 1
    # A failed create stops every delete (as Terraform does): `del` waits for the re-run.
    assert "Apply: 2 done, 1 failed, 1 not attempted." in first.stdout
    assert ("acme", "del") in on_server(emulator)

    again = kestra(emulator, "apply", "plan.json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Apply: 2 done, 0 failed, 0 not attempted." in again.stdout
    assert "Plan: 1 to create, 0 to update, 1 to delete, 2 unchanged." in again.stdout
    assert on_server(emulator) == {("acme", f.split()[1]): f for f in planned}

    with KestraClient(emulator.url) as client:  # a real change since the plan is still refused
        client.update_flow("acme", "upd", flow("acme", "upd", "someone else"))
    stale = kestra(emulator, "apply", "plan.json", cwd=tmp_path)
    assert stale.returncode == 1
    assert "acme/upd changed on the server since the plan (revision 1 -> 3)" in stale.stderr


def test_one_apply_writes_to_several_tenants(make_emulator, tmp_path):
    """Enterprise: `tenants:` maps each tenant to a directory; every write goes to its own
    tenant's API path."""
    emu = make_emulator(edition="ee")
    (tmp_path / "kestra-sync.yml").write_text("tenants:\n  alpha: alpha\n  beta: beta\n")
    for tenant in ("alpha", "beta"):
        path = tmp_path / tenant / "acme" / "a.yml"
        path.parent.mkdir(parents=True)
        path.write_text(flow("acme", "a", tenant), encoding="utf-8")

    done = kestra(emu, "apply", "-y", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Apply: 2 done, 0 failed, 0 not attempted." in done.stdout
    assert on_server(emu, "alpha") == {("acme", "a"): flow("acme", "a", "alpha")}
    assert on_server(emu, "beta") == {("acme", "a"): flow("acme", "a", "beta")}
    assert on_server(emu, "main") == {}


def test_a_delete_whose_reply_is_lost_is_retried_and_counted_done(emulator, tmp_path):
    """The server deleted the flow but the reply was lost: the client's retry meets 404, which
    answers a retried DELETE, so the change is done, not failed (client/api.py delete_flow)."""
    seed(emulator, flow("acme", "keep"), flow("acme", "gone"))
    directory = write_flows(tmp_path, [flow("acme", "keep")])
    recorder = Recorder(emulator)
    recorder.add("DELETE", "acme/gone", after=True)

    done = kestra(emulator, "apply", str(directory), "-y", "--delete", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Apply: 1 done, 0 failed, 0 not attempted." in done.stdout
    assert [(m, s) for m, t, s in recorder.log if t == "acme/gone"] == [
        ("DELETE", 204),
        ("DELETE", 404),
    ]
    assert set(on_server(emulator)) == {("acme", "keep")}


def test_apply_and_pull_with_basic_auth_and_a_wrong_password_writes_nothing(
    make_emulator, tmp_path
):
    emu = make_emulator(users={"admin@kestra.io": "Secret123"})
    directory = write_flows(tmp_path, [flow("acme", "a")])
    env = {"KESTRA_URL": emu.url, "KESTRA_USERNAME": "admin@kestra.io"}

    wrong = run_cli(
        "apply", str(directory), "-y", cwd=tmp_path, env={**env, "KESTRA_PASSWORD": "WrongPass9"}
    )
    assert wrong.returncode == 1
    assert "401 Unauthorized" in wrong.stderr and "WrongPass9" not in wrong.stderr
    # (The snapshot records the 401 as a failed listing, so AuthError's hint about
    # KESTRA_USERNAME/KESTRA_PASSWORD is not shown: reported to the plan/snapshot owner.)
    assert on_server(emu) == {}

    env["KESTRA_PASSWORD"] = "Secret123"
    done = run_cli("apply", str(directory), "-y", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    pulled = run_cli("pull", "adopted", "--namespace", "acme", cwd=tmp_path, env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "adopted" / "acme" / "a.yml").read_text() == flow("acme", "a")


def test_color_always_colours_the_apply_report_even_on_a_pipe_and_never_by_default(
    emulator, tmp_path
):
    write_flows(tmp_path, [flow("company.team", "painted")])
    coloured = kestra(emulator, "apply", "--auto-approve", "--color", "always", cwd=tmp_path)
    assert coloured.returncode == 0, coloured.stderr
    assert "\x1b[32m  + painted" in coloured.stdout  # the plan, now on stdout (issue 11 item 7)
    assert "\x1b[32m\x1b[1mApply: 1 done" in coloured.stdout
    plain = kestra(emulator, "apply", "--auto-approve", cwd=tmp_path)  # a pipe: no colour
    assert "\x1b[" not in plain.stdout + plain.stderr


def test_creates_refused_with_429_are_retried_later_and_the_apply_succeeds(emulator, tmp_path):
    """A saturated server answers 429 (or 503): apply backs off (kestra_sync/applying/throttle.py) and
    tries the refused creates again instead of failing them."""
    names = [f"f{i:02d}" for i in range(12)]
    directory = write_flows(tmp_path, [flow("acme", n) for n in names])
    emulator.faults.add("POST", r"/flows$", status=429, count=5, retry_after=1)

    done = kestra(emulator, "apply", str(directory), "-y", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply: 12 done, 0 failed, 0 not attempted." in done.stdout
    assert emulator.stats.count("POST") == 12 + 5
    assert set(on_server(emulator)) == {("acme", n) for n in names}
