"""`kestra-sync plan` end to end: the real CLI in a child process, over real HTTP, against the
in-process Kestra API emulator. Each test asserts what a reviewer sees (exit code, the key lines),
not incidental formatting. Safety cases (deletion, scope, failures) are in test_plan_safety.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.support.cli import ROOT
from tests.support.project import (
    SCHEMA,
    Project,
    edit_on_server,
    flow,
    line_with,
    seed,
    server_source,
)

ANSI = "\x1b["


@pytest.fixture
def project(tmp_path, request, make_emulator) -> Project:
    """A project against the emulator's default (latest) profile, or the Kestra version the
    test is parametrized with (``indirect``)."""
    version = getattr(request, "param", None)
    return Project(tmp_path, make_emulator(**({"version": version} if version else {})))


def mixed_changes(p: Project) -> None:
    """One of each: unchanged (same), update (changed task), comment-only update, create,
    and a flow only on the server (kept: deletion is off)."""
    seed(
        p.emu,
        flow("same"),
        flow("changed"),
        flow("commented"),
        flow("ui-only"),
    )
    p.write(flow("same"))
    p.write(flow("changed", message="hello"))
    p.write(flow("commented", head="# owner: data team\n"))
    p.write(flow("new"))


# --- what a reviewer reads --------------------------------------------------------------------


@pytest.mark.parametrize("project", ["1.3", "2.0"], indirect=True)
def test_text_plan_shows_each_kind_of_change_and_counts_unchanged(project):
    mixed_changes(project)
    done = project.plan("--detailed-exitcode")
    out = done.stdout
    assert done.returncode == 2, done.stderr
    version = project.emu.config.version
    assert f"note: rules of Kestra {version}, reported by the server: {version}.0" in done.stderr
    assert ANSI not in out  # not a terminal: no colour
    line_with(out, "namespace company.team")
    line_with(out, "+ new", "create", "flows/company.team/new.yml")
    line_with(out, "~ changed", "update", "revision 1")
    line_with(out, "task log changed (message)")
    line_with(out, "-    message: hi")
    line_with(out, "+    message: hello")
    line_with(out, "~ commented", "update")
    line_with(out, "formatting or comments only")
    line_with(out, "+# owner: data team")
    line_with(out, "? ui-only")
    line_with(out, "not managed by git")
    assert " same" not in out  # unchanged flows are counted, not listed
    line_with(out, "Plan: 1 to create, 2 to update, 0 to delete, 1 unchanged, 1 on the server")


def test_json_plan_is_versioned_matches_the_documented_schema_and_is_stable(project):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    mixed_changes(project)
    data = project.plan_json()
    again = project.plan_json()
    assert data["format_version"] == 2
    assert data["summary"] == {
        "create": 1,
        "update": 2,
        "delete": 0,
        "unchanged": 1,
        "unmanaged": 1,
    }
    by_id = {c["id"]: c for c in data["changes"]}
    assert {i: c["action"] for i, c in by_id.items()} == {
        "same": "unchanged",
        "changed": "update",
        "commented": "update",
        "new": "create",
        "ui-only": "unmanaged",
    }
    assert [c["id"] for c in data["changes"]] == sorted(by_id)  # one namespace: sorted by id
    assert by_id["changed"]["summary"] == ["task log changed (message)"]
    assert by_id["changed"]["server_revision"] == 1
    assert "+    message: hello" in by_id["changed"]["diff"]
    assert by_id["commented"]["formatting_only"] is True
    assert by_id["new"]["server_revision"] is None
    assert by_id["new"]["path"] == "flows/company.team/new.yml"
    assert by_id["ui-only"]["path"] is None and "not managed by git" in by_id["ui-only"]["note"]
    assert "source" not in by_id["new"]  # sources only in saved plans
    assert data["scopes"] == [
        {"tenant": "main", "namespace": "company.team", "include_children": False}
    ]
    assert data["server"] == project.emu.url and data["git"] is None
    assert data["options"]["tenants"] == {
        "main": {"namespaces": [], "allow_empty_namespace": False}
    }
    del data["created_at"], again["created_at"], data["checksum"], again["checksum"]
    assert data == again


def test_markdown_plan_for_a_pull_request(project):
    mixed_changes(project)
    done = project.plan("--format", "markdown")
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert out.startswith("### kestra-sync plan")
    line_with(out, "**Plan: 1 to create, 2 to update, 0 to delete, 1 unchanged")
    line_with(out, "| ➕ |", "`company.team/new`", "create")
    line_with(out, "`company.team/changed`", "task log changed (message)")
    line_with(out, "`company.team/commented`", "formatting or comments only")
    line_with(out, "`company.team/ui-only` | keep (r1)", "not managed by git")
    assert "company.team/same" not in out
    line_with(out, "<details><summary>diff <code>company.team/changed</code>")
    assert "```diff\n" in out and "\n+    message: hello\n" in out


def test_what_the_server_ignores_is_not_a_change(project):
    # docs/kestra-api.md: the server compares sources without their first `revision: N` line;
    # line endings and trailing whitespace carry no meaning either.
    seed(project.emu, flow("crlf"), "revision: 4\n" + flow("server-rev"), flow("local-rev"))
    project.write(flow("crlf")).write_bytes(flow("crlf").replace("\n", "  \r\n").encode())
    project.write(flow("server-rev"))
    project.write("revision: 9\n" + flow("local-rev"))
    done = project.plan("--detailed-exitcode", "--show-unchanged")
    assert done.returncode == 0, done.stdout
    line_with(done.stdout, "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged.")


WORKING_DIRECTORY = """id: build
namespace: company.team
variables:
  branch: main
  image: python:3.12
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: clone
        type: io.kestra.plugin.git.Clone
        url: https://example.com/repo.git
      - id: run
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
          - make
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
"""


def test_summary_names_the_changed_child_task_inside_a_flowable_task(project):
    seed(project.emu, WORKING_DIRECTORY)
    project.write(
        WORKING_DIRECTORY.replace("- make", "- make test")
        .replace("0 2", "0 3")
        .replace("branch: main", "branch: develop")
        .replace("tasks:\n  - id: wd", "labels:\n  team: data\ntasks:\n  - id: wd")
    )
    done = project.plan("--no-diff")
    assert done.returncode == 0, done.stderr
    line_with(done.stdout, "label team added")
    line_with(done.stdout, "task wd > task run changed (commands)")
    line_with(done.stdout, "trigger nightly changed (cron)")
    line_with(done.stdout, "variables changed (branch)")
    assert "task wd changed" not in done.stdout and "clone" not in done.stdout


def run_on_tty(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run the CLI with stdout on a pseudo-terminal, as in an interactive shell."""
    master, slave = os.openpty()
    base = {k: v for k, v in os.environ.items() if not k.startswith("KESTRA_") and k != "NO_COLOR"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kestra_sync", *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        stdout=slave,
        stderr=subprocess.DEVNULL,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_colour_on_a_terminal_unless_no_color_and_always_when_asked(project):
    mixed_changes(project)
    on_tty = run_on_tty(["plan"], project.root, project.env)
    assert ANSI in on_tty and "task log changed" in on_tty
    no_color = run_on_tty(["plan"], project.root, {**project.env, "NO_COLOR": "1"})
    assert ANSI not in no_color and "task log changed" in no_color
    # --color always: a CI log viewer that renders ANSI, stdout a pipe.
    forced = project.plan("--color", "always")
    assert forced.returncode == 0 and ANSI in forced.stdout


# --- saved plans, drift and exit codes -------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_saved_plan_records_revisions_and_commit_and_apply_refuses_it_after_drift(project):
    emu = project.emu
    seed(emu, flow("etl"))
    project.write(flow("etl", message="hello"))
    project.write(flow("new"))
    git(project.root, "init", "-q")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-qm", "flows")
    head = git(project.root, "rev-parse", "HEAD")

    done = project.plan("--out", "plan.json")
    assert done.returncode == 0, done.stderr
    assert "kestra-sync apply plan.json" in done.stderr
    saved = json.loads((project.root / "plan.json").read_text(encoding="utf-8"))
    jsonschema.validate(saved, SCHEMA)
    assert saved["git"]["commit"] == head
    by_id = {c["id"]: c for c in saved["changes"]}
    assert by_id["etl"]["server_revision"] == 1 and by_id["new"]["server_revision"] is None
    assert by_id["etl"]["source"] == flow("etl", message="hello")

    # Someone edits the flow in the Kestra UI after the review: the saved plan is stale.
    assert edit_on_server(emu, "company.team", "etl", "message: hi", "message: ui") == 2
    refused = project.run("apply", "plan.json")
    assert refused.returncode == 1
    error = line_with(refused.stderr, "error:")
    assert "company.team/etl" in error and "revision 1 -> 2" in error and "drift" in error
    assert "Traceback" not in refused.stderr
    assert "message: ui" in server_source(emu, "company.team", "etl")  # nothing applied
    assert emu.store.last("main", "company.team", "new") is None

    # A fresh plan shows the UI edit as the update to review, and applies.
    fresh = project.plan("--out", "plan.json", "--detailed-exitcode")
    assert fresh.returncode == 2
    line_with(fresh.stdout, "-    message: ui")
    applied = project.run("apply", "plan.json")
    assert applied.returncode == 0, applied.stderr
    assert server_source(emu, "company.team", "etl") == flow("etl", message="hello")
    assert server_source(emu, "company.team", "new") == flow("new")
    after = project.plan("--detailed-exitcode")
    assert after.returncode == 0, after.stdout
    line_with(after.stdout, "No changes")


# --- cost ------------------------------------------------------------------------------------


# 300 is more than the 100 flows the search page used to hold: Kestra does not cap the page
# size (FlowController.searchFlows: `@Min(1) int size` only), so one page reads the namespace.
@pytest.mark.parametrize("n", [3, 300])
def test_planning_a_namespace_costs_the_same_two_requests_for_3_or_300_flows(project, n):
    sources = [flow(f"flow-{i:02d}") for i in range(n)]
    seed(project.emu, *sources)
    for source in sources[1:]:
        project.write(source)
    project.write(flow("flow-00", message="changed"))
    done = project.plan("--detailed-exitcode")
    assert done.returncode == 2, done.stdout + done.stderr
    line_with(done.stdout, f"0 to create, 1 to update, 0 to delete, {n - 1} unchanged")
    stats = project.emu.stats.snapshot()
    # One search page and one export for the namespace; never a GET per flow. Plus one
    # GET /api/v1/configs per run (the server's Kestra version, whose rules validate follows)
    # and one listing of the tenant's namespaces (those that left git are named).
    assert stats["requests"] == {
        "GET /api/v1/configs": 1,
        "GET /api/v1/{tenant}/flows/search": 1,
        "GET /api/v1/{tenant}/flows/export/by-query": 1,
        "GET /api/v1/{tenant}/flows/distinct-namespaces": 1,
    }
