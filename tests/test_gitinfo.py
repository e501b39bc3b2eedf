"""gitinfo: the commit, branch and dirtiness a saved plan records, read from real repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kestra_sync.source.gitinfo import git_info


def git(cwd: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    done = subprocess.run(
        ["git", *env_args, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "trunk")
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "a.yml").write_text("id: a\n")
    (tmp_path / "other.txt").write_text("x\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def test_a_clean_checkout_names_its_commit_and_branch(tmp_path):
    root = repo(tmp_path)
    assert git_info(root / "flows") == {
        "commit": git(root, "rev-parse", "HEAD"),
        "branch": "trunk",
        "dirty": False,
    }


def test_dirty_means_a_change_under_the_flow_directory_only(tmp_path):
    root = repo(tmp_path)
    (root / "other.txt").write_text("changed elsewhere\n")
    assert git_info(root / "flows")["dirty"] is False
    (root / "flows" / "new.yml").write_text("id: new\n")  # untracked
    assert git_info(root / "flows")["dirty"] is True
    (root / "flows" / "new.yml").unlink()
    (root / "flows" / "a.yml").write_text("id: a2\n")  # modified
    assert git_info(root / "flows")["dirty"] is True
    git(root, "add", "flows/a.yml")  # staged
    assert git_info(root / "flows")["dirty"] is True


def test_ignored_files_do_not_make_it_dirty(tmp_path):
    root = repo(tmp_path)
    (root / ".gitignore").write_text("*.bak\n")
    git(root, "add", ".gitignore")
    git(root, "commit", "-q", "-m", "ignore")
    (root / "flows" / "a.yml.bak").write_text("old\n")
    assert git_info(root / "flows")["dirty"] is False


def test_a_detached_head_has_no_branch(tmp_path):
    root = repo(tmp_path)
    git(root, "checkout", "-q", "--detach")
    info = git_info(root / "flows")
    assert info["branch"] is None and info["commit"] == git(root, "rev-parse", "HEAD")


def test_outside_git_or_before_the_first_commit_there_is_nothing_to_record(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git_info(plain) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert git_info(empty) is None


def test_without_a_git_executable_there_is_nothing_to_record(tmp_path, monkeypatch):
    root = repo(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))
    assert git_info(root / "flows") is None
