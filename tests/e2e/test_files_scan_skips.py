"""What the `_files` scan skips is said, and never deleted on the server for being skipped
(issue 20, item 2): git's own names (`.gitignore`, `.github/…`) and the paths `.kestraignore`
excludes. The real CLI, over real HTTP, against the emulator."""

from __future__ import annotations

import pytest

from tests.e2e.test_resources import (
    NS,
    files_dir,
    nested_flow,
    put_file,
    server_files,
    write_kv,
)
from tests.support.project import Project, client, flow, line_with


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    return p


SERVER = {
    "/etl/load.py": b"print(1)\n",
    "/.gitignore": b"*\n",
    "/.github/conf.yml": b"a: 1\n",
    "/drafts/wip.py": b"draft\n",
    "/old.py": b"gone from git\n",
}


def seed_files(p) -> None:
    with client(p.emu) as c:
        c.create_flow(flow("etl"))
        for path, content in SERVER.items():
            c.put_namespace_file(NS, path, content)


def test_apply_delete_keeps_the_servers_files_the_scan_skips_and_says_so(project):
    seed_files(project)
    nested_flow(project, flow("etl"))
    put_file(project, "etl/load.py", b"print(1)\n")
    put_file(project, ".gitignore", b"__pycache__/\n")
    put_file(project, ".github/conf.yml", b"a: 2\n")
    (project.root / "flows" / ".kestraignore").write_text("drafts/\n")

    checked = project.run("validate")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    line_with(checked.stdout + checked.stderr, "_files", "not deployed: .github, .gitignore")

    planned = project.plan("--delete")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    line_with(planned.stderr, "not deployed: .github, .gitignore")
    for kept in ("/.gitignore", "/.github/conf.yml", "/drafts/wip.py"):
        line_with(planned.stdout, f"? file {kept}", "keep")
    git_note = "kept: the scan never reads it (names starting with .git"
    assert planned.stdout.count(git_note) == 2, planned.stdout
    line_with(planned.stdout, "kept: the scan never reads it (.kestraignore excludes its path)")
    line_with(planned.stdout, "- file /old.py", "delete")

    # A saved plan keeps them too (its own check re-plans from its content, not from git).
    saved = project.plan("--delete", "--out", "plan.json")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    done = project.run("apply", "plan.json", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    left = dict(SERVER)
    del left["/old.py"]
    assert server_files(project) == left


def test_a_plan_right_after_a_pull_shows_no_change_for_files_and_kv(project, tmp_path):
    seed_files(project)
    with client(project.emu) as c:
        c.put_kv(NS, "region", "eu")
    pulled = project.run("pull", "--namespace", NS)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert not (files_dir(project) / ".gitignore").exists()  # it would change what git keeps
    assert not (files_dir(project) / ".github").exists()
    assert (files_dir(project) / "drafts/wip.py").read_bytes() == b"draft\n"
    line_with(pulled.stderr, "skipped", "/.gitignore", "the server's copy stays")

    same = project.plan("--delete", "--detailed-exitcode")
    assert same.returncode == 0, same.stdout + same.stderr
    write_kv(project, "managed: true\nvalues:\n  region: eu\n")
    done = project.run("apply", "--auto-approve", "--delete")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_files(project) == SERVER
