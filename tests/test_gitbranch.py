"""pull/gitbranch.py on real repositories: a commit to another branch built from git objects
only, so the user's index and working tree (staged work included) stay exactly as they were."""

from __future__ import annotations

import os

import pytest

from kestra_sync.errors import InputError
from kestra_sync.pull.gitbranch import (
    check_branch_name,
    commit_files,
    open_repository,
    refuse_uncommitted,
    repo_path,
)
from tests.support.gitrepo import IDENTITY, git, make_repo, show


@pytest.fixture(autouse=True)
def identity(monkeypatch):
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)


def test_staged_and_unstaged_work_outside_the_flows_survives_and_modes_are_kept(tmp_path):
    root = make_repo(tmp_path / "r", {"flows/run.sh": "echo git\n", "notes.md": "a\n"})
    (root / "flows/run.sh").chmod(0o755)
    git(root, "commit", "-q", "-am", "executable")
    (root / "notes.md").write_text("staged\n")
    git(root, "add", "notes.md")
    (root / "notes.md").write_text("staged\nand not\n")
    before = git(root, "status", "--porcelain"), (root / ".git/index").read_bytes()
    git_dir = sorted(os.listdir(root / ".git"))

    repo = open_repository(root / "flows")
    result = commit_files(repo, "drift", {"flows/run.sh": b"echo server\n"}, "edits")
    assert result.status == "committed"
    assert show(root, "drift", "flows/run.sh") == b"echo server\n"
    assert git(root, "ls-tree", "drift", "flows/run.sh").startswith("100755 blob")
    assert (git(root, "status", "--porcelain"), (root / ".git/index").read_bytes()) == before
    assert (root / "notes.md").read_text() == "staged\nand not\n"
    assert sorted(os.listdir(root / ".git")) == git_dir  # no temporary index left behind
    again = commit_files(repo, "drift", {"flows/run.sh": b"echo server\n"}, "edits")
    assert (again.status, again.commit) == ("unchanged", result.commit)


def test_same_content_as_the_commit_is_no_drift_and_no_branch(tmp_path):
    root = make_repo(tmp_path / "r", {"flows/a.yml": "id: a\n"})
    repo = open_repository(root)
    result = commit_files(repo, "drift", {"flows/a.yml": b"id: a\n"}, "edits")
    assert (result.status, result.commit) == ("no-drift", None)
    assert git(root, "branch", "--list", "drift") == ""


def test_uncommitted_and_untracked_files_in_the_directory_are_refused(tmp_path):
    root = make_repo(tmp_path / "r", {"flows/a.yml": "id: a\n", "other.txt": "x\n"})
    repo = open_repository(root)
    (root / "other.txt").write_text("changed elsewhere\n")
    refuse_uncommitted(repo, [root / "flows"])  # outside the flows: not in the way
    (root / "flows/new.yml").write_text("id: new\n")
    with pytest.raises(InputError, match=r"uncommitted changes in 1 file\(s\) \(flows/new.yml\)"):
        refuse_uncommitted(repo, [root / "flows"])


def test_a_checked_out_or_malformed_branch_is_refused(tmp_path):
    root = make_repo(tmp_path / "r", {"flows/a.yml": "id: a\n"})
    repo = open_repository(root)
    with pytest.raises(InputError, match="is checked out"):
        check_branch_name(repo, "main")
    with pytest.raises(InputError, match="not a valid git branch name"):
        check_branch_name(repo, "bad..name")


def test_paths_outside_the_repository_have_no_repository_path(tmp_path):
    root = make_repo(tmp_path / "r", {"flows/a.yml": "id: a\n"})
    repo = open_repository(root)
    assert repo_path(repo, root / "flows" / "a.yml") == "flows/a.yml"
    assert repo_path(repo, tmp_path / "elsewhere.yml") is None


def test_a_git_failure_is_one_line_with_git_s_own_words(tmp_path):
    root = make_repo(tmp_path / "r", {"flows/a.yml": "id: a\n"})
    repo = open_repository(root)
    (root / ".git/index").write_bytes(b"garbage")
    with pytest.raises(InputError, match=r"^git status failed in .*: fatal: .*index") as err:
        refuse_uncommitted(repo, [root / "flows"])
    assert "\n" not in err.value.message and "stderr" not in err.value.message
