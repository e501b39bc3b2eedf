"""A real git repository in a temp dir, driven by git's command line (as a user would)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(root: Path, *args: str) -> str:
    env = {**os.environ, **IDENTITY, "HOME": str(root)}
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def init(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def move(root: Path, old: str, new: str, replace: tuple[str, str] | None = None) -> None:
    """`git mv old new`, then edit the moved file(s) (a flow's id or namespace line)."""
    (root / new).parent.mkdir(parents=True, exist_ok=True)
    git(root, "mv", old, new)
    if replace is None:
        return
    target = root / new
    files = [target] if target.is_file() else sorted(target.rglob("*.yml"))
    for path in files:
        path.write_text(path.read_text(encoding="utf-8").replace(*replace), encoding="utf-8")
