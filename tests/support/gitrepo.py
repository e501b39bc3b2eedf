"""Real git repositories for tests: a clone with flows committed, and a bare repository as
its `origin` (what GitHub would be), made with git's own command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(cwd: Path, *args: str, check: bool = True) -> str:
    env = {**os.environ, **IDENTITY, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip() if check else str(done.returncode)


def make_repo(root: Path, files: dict[str, str | bytes], *, origin: Path | None = None) -> Path:
    """A repository at ``root`` on branch main with ``files`` committed (and pushed to a new
    bare ``origin`` when given)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "flows")
    if origin is not None:
        git(origin.parent, "init", "-q", "--bare", "-b", "main", origin.name)
        git(root, "remote", "add", "origin", str(origin))
        git(root, "push", "-q", "origin", "main")
    return root


def show(root: Path, revision: str, path: str) -> bytes:
    """The bytes of ``path`` at ``revision``."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=root, env=env, capture_output=True, check=True
    ).stdout


def branch_commit(root: Path, branch: str) -> str | None:
    """The commit ``branch`` points at, or None when it does not exist."""
    out = git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    return None if out != "0" else git(root, "rev-parse", f"refs/heads/{branch}")


def init(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")


def commit_all(root: Path, message: str) -> str:
    """Commit everything under ``root``; the new commit."""
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
