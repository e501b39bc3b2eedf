"""pull/gitbranch.py on real repositories: a commit to another branch built from git objects
only, so the user's index and working tree (staged work included) stay exactly as they were."""

from __future__ import annotations

import os
import sys

import pytest

from kestra_sync.errors import InputError
from kestra_sync.pull import gitbranch
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


@pytest.fixture(autouse=True)
def close_repositories(monkeypatch):
    """Each repository a test opens is closed after it: gitpython keeps `git cat-file`
    processes open, which warnings-as-errors reports at exit (the CLI's process just ends)."""
    opened = []

    def tracked(directory):
        opened.append(gitbranch.open_repository(directory))
        return opened[-1]

    monkeypatch.setattr(sys.modules[__name__], "open_repository", tracked)
    yield
    for repo in opened:
        repo.close()


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


def test_a_name_git_would_expand_or_read_as_a_full_ref_is_refused(tmp_path):
    # `@{-1}` is "the branch checked out before" to git (check-ref-format --branch expands
    # it), and `refs/heads/x` would be written as refs/heads/x, not refs/heads/refs/heads/x:
    # neither names the branch the user sees in the report.
    root = make_repo(tmp_path / "r", {"flows/a.yml": "id: a\n"})
    git(root, "checkout", "-q", "-b", "before")
    git(root, "checkout", "-q", "main")
    repo = open_repository(root)
    for name in ("@{-1}", "refs/heads/x", "@"):
        with pytest.raises(InputError, match="not a valid git branch name"):
            check_branch_name(repo, name)
    check_branch_name(repo, "kestra-sync/drift")  # a plain name is fine


def test_a_branch_holding_someone_elses_commits_is_not_replaced(tmp_path):
    root = make_repo(tmp_path / "r", {"flows/a.yml": "id: a\n"})
    git(root, "checkout", "-q", "-b", "feature")
    (root / "notes.md").write_text("my work\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "someone's work")
    theirs = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "main")
    repo = open_repository(root)

    with pytest.raises(InputError, match=r"branch feature holds 1 commit.*someone's work") as err:
        commit_files(repo, "feature", {"flows/a.yml": b"id: a\nx: 1\n"}, "edits")
    assert "nothing was committed" in err.value.message
    assert git(root, "rev-parse", "feature") == theirs

    # A branch this command wrote is rebuilt freely (a re-run on a newer HEAD).
    mine = commit_files(repo, "drift", {"flows/a.yml": b"id: a\nx: 1\n"}, written_message("e"))
    (root / "b.txt").write_text("b\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "main moves on")
    again = commit_files(repo, "drift", {"flows/a.yml": b"id: a\nx: 2\n"}, written_message("e"))
    assert again.status == "committed" and again.commit != mine.commit
    # A merge of HEAD's own commits into it (GitHub's "Update branch") brings in no work.
    (root / "c.txt").write_text("c\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "main moves again")
    git(root, "checkout", "-q", "drift")
    git(root, "merge", "-q", "--no-edit", "--no-ff", "main")
    git(root, "checkout", "-q", "main")
    assert len(git(root, "rev-parse", "drift^@").split()) == 2  # a merge commit
    updated = commit_files(repo, "drift", {"flows/a.yml": b"id: a\nx: 4\n"}, written_message("e"))
    assert updated.status == "committed"
    # ...and once merged into HEAD, nothing of it is lost either.
    git(root, "merge", "-q", "--no-edit", "feature")
    replaced = commit_files(repo, "feature", {"flows/a.yml": b"id: a\nx: 3\n"}, "edits")
    assert replaced.status == "committed"


def written_message(subject: str) -> str:
    from kestra_sync.pull.gitbranch import WRITTEN_BY

    return f"{subject}\n\n{WRITTEN_BY}: the server's version\n"


def test_a_ref_git_has_locked_is_a_one_line_error_and_the_branch_is_left_alone(tmp_path):
    # Another git process (or one that crashed) holds the branch's lock file.
    root = make_repo(tmp_path / "r", {"flows/a.yml": "id: a\n"})
    git(root, "branch", "drift")
    before = git(root, "rev-parse", "drift")
    (root / ".git/refs/heads/drift.lock").write_text("")
    repo = open_repository(root)
    with pytest.raises(InputError, match=r"could not write branch drift: .*drift\.lock") as err:
        commit_files(repo, "drift", {"flows/a.yml": b"id: b\n"}, written_message("e"))
    assert "\n" not in err.value.message and "lock" in (err.value.hint or "")
    assert git(root, "rev-parse", "drift") == before


def test_uncommitted_changes_are_refused_when_the_flows_are_the_repository_root(tmp_path):
    root = make_repo(tmp_path / "r", {"company/team/a.yml": "id: a\n"})
    repo = open_repository(root)
    refuse_uncommitted(repo, [root])  # clean
    (root / "company/team/a.yml").write_text("id: a\nedited: true\n")
    with pytest.raises(
        InputError, match=r"uncommitted changes in 1 file\(s\) \(company/team/a.yml\)"
    ):
        refuse_uncommitted(repo, [root])
