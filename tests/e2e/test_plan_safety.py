"""`kestra-sync plan` end to end, the rules a reviewer relies on: what is in scope, when a flow is
deleted, and what a failure looks like (one clear line, exit 1, nothing proposed from a listing
that failed). Real CLI, real HTTP, the in-process emulator."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kestra_sync.emulator import Emulator
from tests.support.cli import ROOT
from tests.support.project import Project, flow, line_with, seed


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    return Project(tmp_path, emulator)


def test_flow_removed_from_git_is_kept_and_shown_unless_delete(project):
    seed(project.emu, flow("keep"), flow("gone-1"), flow("gone-2"))
    project.write(flow("keep"))

    kept = project.plan("--detailed-exitcode")
    assert kept.returncode == 0, kept.stdout  # nothing would change
    line_with(kept.stdout, "? gone-1")
    line_with(kept.stdout, "? gone-2")
    assert "not managed by git" in kept.stdout and "--delete" in kept.stdout
    line_with(kept.stdout, "0 to delete, 1 unchanged, 2 on the server but not in git")
    # Nothing to apply, but the server does not match git: never say it does.
    line_with(kept.stdout, "No changes to apply; 2 flows on the server are not in git and kept.")
    assert "matches git" not in kept.stdout

    deleting = project.plan("--delete", "--detailed-exitcode")
    assert deleting.returncode == 2, deleting.stdout
    line_with(deleting.stdout, "- gone-1", "delete", "revision 1")
    line_with(deleting.stdout, "- gone-2", "delete")
    line_with(deleting.stdout, "Plan: 0 to create, 0 to update, 2 to delete, 1 unchanged.")

    # More deletes than allowed: an error (exit 1 even with --detailed-exitcode), not a plan
    # to apply; with JSON on stdout the reason is on stderr too, for the job log.
    capped = project.plan(
        "--delete",
        "--max-deletes",
        "1",
        "--detailed-exitcode",
        "--format",
        "json",
        "--out",
        "p.json",
    )
    assert capped.returncode == 1
    assert json.loads(capped.stdout)["errors"] == [line_with(capped.stderr, "error:")[7:]]
    line_with(capped.stderr, "error:", "delete 2 flows", "limit of 1")
    line_with(capped.stderr, "Saved the plan to p.json, but it has errors: apply will refuse it.")
    refused = project.run("apply", "p.json")
    assert refused.returncode == 1 and "limit of 1" in refused.stderr
    assert project.emu.store.last("main", "company.team", "gone-1") is not None


def test_managed_namespaces_by_flag_and_config_and_the_empty_namespace_guard(project):
    seed(project.emu, flow("a"), flow("old-1", ns="company.old"), flow("old-2", ns="company.old"))
    project.write(flow("a"))

    # Out of scope: a namespace git has no flow in is neither read nor changed, only named
    # (issue 11 item 3: a namespace whose folder left git must not be silent).
    plain = project.plan("--delete")
    assert plain.returncode == 0 and "\nnamespace company.old" not in plain.stdout
    assert "old-1" not in plain.stdout
    line_with(plain.stdout, "Not in git:", "company.old")

    # Managed by flag: shown, but never deleted from a namespace git has nothing in...
    guarded = project.plan("--namespace", "company.old", "--delete", "--detailed-exitcode")
    assert guarded.returncode == 0, guarded.stdout
    line_with(guarded.stdout, "namespace company.old")
    line_with(guarded.stdout, "? old-1")
    assert "git has no flow in this namespace" in guarded.stdout
    assert "--allow-empty-namespace" in guarded.stdout
    line_with(guarded.stdout, "0 to delete")

    # ... unless explicitly allowed; here all from kestra-sync.yml.
    project.config("namespaces: [company.old]\ndelete: true\nallow_empty_namespace: true\n")
    allowed = project.plan("--detailed-exitcode")
    assert allowed.returncode == 2, allowed.stdout
    line_with(allowed.stdout, "- old-1", "delete")
    line_with(allowed.stdout, "- old-2", "delete")
    line_with(allowed.stdout, "2 to delete")


def test_an_empty_flow_directory_compares_nothing_and_says_so(project):
    seed(project.emu, flow("a"))
    done = project.plan("--delete", "--detailed-exitcode")
    assert done.returncode == 0, done.stdout + done.stderr
    line_with(done.stdout, "Plan: 0 to create, 0 to update, 0 to delete, 0 unchanged.")
    line_with(done.stdout, "nothing was compared")
    assert "matches git" not in done.stdout
    # No namespace in scope: nothing is read. Git names no namespace, so no root of the
    # server's namespaces is this repository's: none is listed or named as left behind.
    assert project.emu.stats.snapshot()["requests"] == {}
    assert "Not in git" not in done.stdout


def test_include_children_reads_child_namespaces_once_and_not_siblings(project):
    seed(
        project.emu,
        flow("a"),
        flow("child", ns="company.team.sub"),
        flow("sibling", ns="company.teamx"),
    )
    project.write(flow("a"))
    project.write(flow("m", ns="company.team.marketing"))

    plain = project.plan_json("--delete")
    assert [s["namespace"] for s in plain["scopes"]] == ["company.team", "company.team.marketing"]
    assert {c["id"] for c in plain["changes"]} == {"a", "m"}

    children = project.plan_json("--delete", "--include-children")
    # company.team.marketing is covered by company.team.*: one scope, read once.
    assert children["scopes"] == [
        {"tenant": "main", "namespace": "company.team", "include_children": True}
    ]
    actions = {c["id"]: c["action"] for c in children["changes"]}
    assert actions == {"a": "unchanged", "m": "create", "child": "unmanaged"}
    child = next(c for c in children["changes"] if c["id"] == "child")
    assert "git has no flow in this namespace" in child["note"]
    assert project.emu.stats.count("GET", "/api/v1/{tenant}/flows/search") == 3  # 2 + 1


def test_two_tenants_group_by_tenant_then_namespace(tmp_path, make_emulator):
    emu = make_emulator(edition="ee")
    p = Project(tmp_path, emu)
    p.config(
        "tenants:\n  main: flows/main\n  staging: flows/staging\nnamespaces: [company.extra]\n"
    )
    seed(emu, flow("a"), tenant="main")
    seed(emu, flow("a"), flow("old", ns="company.extra"), tenant="staging")
    p.write(flow("a"), "flows/main")
    p.write(flow("a", message="staging"), "flows/staging")
    p.write(flow("b"), "flows/staging")

    done = p.plan("--detailed-exitcode")
    out = done.stdout
    assert done.returncode == 2, out + done.stderr
    lines = out.splitlines()
    staging = lines.index("tenant staging")
    assert "tenant main" not in lines  # only unchanged flows there: no empty heading
    assert lines.index(next(x for x in lines if "~ a" in x)) > staging
    line_with(out, "+ b", "flows/staging/company.team/b.yml")
    # The managed namespace is read in every configured tenant, not only the default one.
    line_with(out, "? old")
    line_with(out, "Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged, 1 on the server")

    data = p.plan_json()
    assert sorted((s["tenant"], s["namespace"]) for s in data["scopes"]) == [
        ("main", "company.extra"),
        ("main", "company.team"),
        ("staging", "company.extra"),
        ("staging", "company.team"),
    ]
    md = p.plan("--format", "markdown").stdout.splitlines()
    staging, row = md.index("#### Tenant `staging`"), md.index(line_with("\n".join(md), "/a`"))
    assert staging < row and "`company.team/a` | update (r1)" in md[row]
    assert "#### Tenant `main`" not in md  # nothing to show there: a is unchanged


def test_a_partial_listing_never_drives_a_delete(project):
    seed(project.emu, flow("a"), flow("b", ns="company.other"), flow("gone", ns="company.other"))
    project.write(flow("a"))
    project.write(flow("b", ns="company.other"))
    # The first search (company.other, read first with --parallelism 1) promises 2 flows on a
    # page that holds none, as a listing cut short would.
    project.emu.faults.add(
        "GET", r"/flows/search$", status=200, count=1, body={"results": [], "total": 2}
    )
    done = project.plan("--delete", "--parallelism", "1", "--detailed-exitcode")
    assert done.returncode == 1, done.stdout + done.stderr
    line_with(done.stdout, "error:", "company.other", "incomplete")
    assert "gone" not in done.stdout and "company.other/" not in done.stdout
    line_with(done.stdout, "Plan: 0 to create, 0 to update, 0 to delete, 1 unchanged.")


def test_invalid_local_flow_stops_before_any_request(project):
    project.write(flow("good"))
    bad = project.write("id: bad\nnamespace: company.team\ntasks: []\n")
    done = project.plan()
    assert done.returncode == 1
    assert done.stdout == ""
    line_with(done.stderr, "error:", f"{bad.relative_to(project.root)}:3", "tasks")
    assert "nothing was sent to the server" in done.stderr
    assert project.emu.stats.snapshot()["total"] == 0


# --- failures: the client retries refused connections and 503s for about 3 s, so the two slow
# runs start in the background when this module starts and are checked by the last tests.

PASSWORD = "Wrong-Secret-Pass-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """run_cli, started in the background (same environment rules)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KESTRA_", "GITHUB_")) and k != "NO_COLOR"
    }
    return subprocess.Popen(
        [sys.executable, "-m", "kestra_sync", *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module", autouse=True)
def slow_runs(tmp_path_factory):
    runs: dict = {}
    with Emulator(auth=False) as emu:
        # Listing failure: two namespaces, each with a flow git does not have (--delete).
        p = Project(tmp_path_factory.mktemp("listing"), emu)
        seed(emu, flow("x", ns="company.a"), flow("y", ns="company.b"))
        p.write(flow("a1", ns="company.a"))
        p.write(flow("b1", ns="company.b"))
        # The first search (company.a: with --parallelism 1 scopes are read in order) answers
        # 503 on every attempt, retries included.
        emu.faults.add("GET", r"/flows/search$", status=503, count=4)
        args = ("plan", "--delete", "--parallelism", "1", "--detailed-exitcode")
        runs["listing"] = (start_cli(*args, cwd=p.root, env=p.env), p)

        # Unreachable server: nothing listens on the port. Five namespaces read one at a time:
        # the first refused connection (about 3 s of retries) must stop the others.
        p = Project(tmp_path_factory.mktemp("unreachable"), emu)
        for i in range(5):
            p.write(flow("a", ns=f"company.ns{i}"))
        env = {
            "KESTRA_URL": f"http://127.0.0.1:{free_port()}",
            "KESTRA_USERNAME": "admin@kestra.io",
            "KESTRA_PASSWORD": PASSWORD,
        }
        proc = start_cli("plan", "--parallelism", "1", cwd=p.root, env=env)
        runs["unreachable"] = (proc, p)
        try:
            yield runs
        finally:
            for proc, _ in (runs["listing"], runs["unreachable"]):
                if proc.poll() is None:
                    proc.kill()
                proc.communicate()


def finish(run: tuple[subprocess.Popen, Project]) -> tuple[int, str, str, Project]:
    proc, p = run
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err, p


def test_wrong_password_is_one_line_without_the_secret(tmp_path, make_emulator):
    emu = make_emulator(users={"admin@kestra.io": "Right-Pass-1"})
    env = {"KESTRA_USERNAME": "admin@kestra.io", "KESTRA_PASSWORD": PASSWORD}
    p = Project(tmp_path, emu, env=env)
    p.write(flow("a"))
    p.write(flow("b", ns="company.other"))  # two namespaces: still one line
    done = p.plan()
    assert_one_error_line(done.returncode, done.stdout, done.stderr, "401", "KESTRA_PASSWORD")


def test_a_tenant_the_oss_server_does_not_have_is_one_line_with_a_hint(tmp_path, emulator):
    p = Project(tmp_path, emulator)
    p.config("tenants:\n  main: flows/main\n  staging: flows/staging\n")
    p.write(flow("a"), "flows/main")
    p.write(flow("a"), "flows/staging")
    p.write(flow("b", ns="company.other"), "flows/staging")
    done = p.plan()
    assert_one_error_line(done.returncode, done.stdout, done.stderr, "Tenant must be 'main'")
    line_with(done.stderr, "hint:", "Enterprise")


def test_unreachable_server_is_one_line_without_the_secret(slow_runs):
    code, out, err, _ = finish(slow_runs["unreachable"])
    assert_one_error_line(code, out, err, "cannot reach", "connection refused")
    # That the next namespaces are not tried again is asserted by call count, not by time:
    # tests/test_snapshot.py.


def assert_one_error_line(code: int, stdout: str, stderr: str, *words: str) -> None:
    text = stdout + stderr
    assert code == 1, text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, text
    for word in words:
        assert word in text
    assert "Traceback" not in text and PASSWORD not in text
    assert "Plan:" not in stdout  # no plan was made from a server that could not be read


def test_a_namespace_that_cannot_be_listed_blocks_only_itself(slow_runs):
    code, out, err, _ = finish(slow_runs["listing"])
    assert code == 1, out + err
    error = line_with(out, "error:", "company.a")
    assert "503" in error
    assert "company.a/" not in out and "- x" not in out and "+ a1" not in out
    # The other namespace is still planned, its delete included.
    line_with(out, "namespace company.b")
    line_with(out, "- y", "delete")
    line_with(out, "+ b1", "create")
