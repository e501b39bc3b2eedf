"""End to end: `kestra-sync pull --branch NAME` commits the server's edits (the drift) to a
branch of a real git repository, through the real CLI against the emulator, and leaves the
working tree, the index and the checked-out branch as they were."""

from __future__ import annotations

import json

from tests.support.cli import run_cli
from tests.support.gitrepo import IDENTITY, branch_commit, git, make_repo, show
from tests.support.project import client, edit_on_server, flow

BRANCH = "kestra-sync/drift"
A = "flows/company/team/a.yml"
SCRIPT = "flows/company/team/_files/etl/load.py"
KV = "flows/company/team/kv.yml"


def repo_and_server(tmp_path, emulator):
    """A repository with two flows, a namespace file and a kv.yml, deployed as they are."""
    root = make_repo(
        tmp_path / "repo",
        {
            A: flow("a"),
            "flows/company/team/b.yml": flow("b"),
            SCRIPT: "print('git')\n",
            KV: "values:\n  region: eu\n",
        },
    )
    applied = kestra(emulator, root, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    return root


def kestra(emulator, root, *args):
    return run_cli(*args, cwd=root, env={"KESTRA_URL": emulator.url, **IDENTITY})


def test_the_servers_edits_are_committed_to_a_branch_and_the_working_tree_is_untouched(
    emulator, tmp_path
):
    root = repo_and_server(tmp_path, emulator)
    head = git(root, "rev-parse", "HEAD")
    edit_on_server(emulator, "company.team", "a", "message: hi", "message: fixed at 2am")
    with client(emulator) as c:
        c.put_namespace_file("company.team", "/etl/load.py", b"print('server')\n")
        c.put_kv("company.team", "region", "us")

    done = kestra(emulator, root, "pull", "--branch", BRANCH)
    assert done.returncode == 0, done.stderr
    commit = branch_commit(root, BRANCH)
    assert commit is not None and f"({commit[:12]})" in done.stdout
    assert f"drift      {A}  (company.team/a)" in done.stdout
    assert show(root, BRANCH, A).decode() == flow("a", message="fixed at 2am")
    assert show(root, BRANCH, SCRIPT) == b"print('server')\n"
    assert f"not written {KV}" in done.stderr and "edit it by hand" in done.stderr
    assert show(root, BRANCH, KV) == b"values:\n  region: eu\n"  # KV is reported, not written
    assert git(root, "rev-parse", f"{BRANCH}^") == head  # one commit on top of HEAD
    assert git(root, "diff", "--name-only", "HEAD", BRANCH).splitlines() == [SCRIPT, A]
    # The user's checkout: same branch, same commit, same files, nothing staged.
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "status", "--porcelain") == ""
    assert (root / A).read_text() == flow("a")


def test_a_rerun_converges_and_a_new_edit_updates_the_same_branch(emulator, tmp_path):
    root = repo_and_server(tmp_path, emulator)
    head = git(root, "rev-parse", "HEAD")
    edit_on_server(emulator, "company.team", "a", "message: hi", "message: one")
    assert kestra(emulator, root, "pull", "--branch", BRANCH).returncode == 0
    first = branch_commit(root, BRANCH)

    again = kestra(emulator, root, "pull", "--branch", BRANCH)
    assert again.returncode == 0, again.stderr
    assert "already holds this drift" in again.stdout and "nothing committed" in again.stdout
    assert branch_commit(root, BRANCH) == first

    edit_on_server(emulator, "company.team", "b", "message: hi", "message: two")
    third = kestra(emulator, root, "pull", "--branch", BRANCH, "--commit-message", "UI edits")
    assert third.returncode == 0, third.stderr
    assert branch_commit(root, BRANCH) != first
    assert git(root, "rev-parse", f"{BRANCH}^") == head  # rebuilt on HEAD, not stacked
    assert git(root, "log", "-1", "--format=%s", BRANCH) == "UI edits"
    assert b"message: two" in show(root, BRANCH, "flows/company/team/b.yml")
    assert b"message: one" in show(root, BRANCH, A)


def test_no_drift_commits_nothing(emulator, tmp_path):
    root = repo_and_server(tmp_path, emulator)
    done = kestra(emulator, root, "pull", "--branch", BRANCH, "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["status"], document["items"], document["commit"]) == ("no-drift", [], None)
    assert "No drift to commit" in done.stderr
    assert branch_commit(root, BRANCH) is None


def test_uncommitted_changes_in_the_flow_directory_are_refused_before_anything(emulator, tmp_path):
    root = repo_and_server(tmp_path, emulator)
    edit_on_server(emulator, "company.team", "a", "message: hi", "message: server")
    (root / A).write_text(flow("a", message="work in progress"))
    done = kestra(emulator, root, "pull", "--branch", BRANCH)
    assert done.returncode == 1
    assert "uncommitted changes in 1 file(s) (flows/company/team/a.yml)" in done.stderr
    assert "Traceback" not in done.stderr
    assert branch_commit(root, BRANCH) is None
    assert (root / A).read_text() == flow("a", message="work in progress")


def test_json_lists_each_drifted_file_with_its_diff(emulator, tmp_path):
    root = repo_and_server(tmp_path, emulator)
    edit_on_server(emulator, "company.team", "a", "message: hi", "message: json")
    done = kestra(emulator, root, "pull", "--branch", BRANCH, "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "committed"
    assert document["commit"] == branch_commit(root, BRANCH)
    (item,) = document["items"]
    assert (item["kind"], item["namespace"], item["id"], item["path"]) == (
        "flow",
        "company.team",
        "a",
        A,
    )
    assert "-    message: hi\n+    message: json\n" in item["diff"]


def test_outside_a_git_repository_it_says_so(emulator, tmp_path):
    (tmp_path / "flows/company").mkdir(parents=True)
    (tmp_path / "flows/company/a.yml").write_text(flow("a", ns="company"))
    done = kestra(emulator, tmp_path, "pull", "--branch", BRANCH)
    assert done.returncode == 1
    assert "is not in a git repository" in done.stderr and "Traceback" not in done.stderr


def test_the_environment_named_is_the_one_compared_and_deletes_never_matter(
    make_emulator, tmp_path
):
    staging, prod = make_emulator(), make_emulator()
    config = (
        "directory: flows\ndelete: true\nmax_deletes: 0\ndefault_env: staging\nenvironments:\n"
        f"  staging:\n    url: {staging.url}\n  prod:\n    url: {prod.url}\n"
    )
    root = make_repo(tmp_path / "repo", {A: flow("a"), "kestra-sync.yml": config})
    for env in ("staging", "prod"):
        applied = run_cli("apply", "--auto-approve", "--env", env, cwd=root, env=IDENTITY)
        assert applied.returncode == 0, applied.stderr
    edit_on_server(prod, "company.team", "a", "message: hi", "message: prod only")
    with client(prod) as c:  # made in the UI: would be a delete over the cap of 0
        c.create_flow(flow("ui-only"))

    staged = run_cli("pull", "--branch", BRANCH, cwd=root, env=IDENTITY)
    assert staged.returncode == 0 and "No drift to commit" in staged.stdout, staged.stderr
    done = run_cli("pull", "--branch", BRANCH, "--env", "prod", cwd=root, env=IDENTITY)
    assert done.returncode == 0, done.stderr
    assert show(root, BRANCH, A).decode() == flow("a", message="prod only")
    assert "1 on the server only (pull --namespace adopts them)" in done.stderr
    assert git(root, "ls-tree", "-r", "--name-only", BRANCH).splitlines() == [
        A,
        "kestra-sync.yml",
    ]
