"""Which git commit a plan was made from, recorded in saved plans.

Asked of git's own command line (three short calls, about 5 ms) rather than through gitpython,
whose import alone costs about 0.1 s of CPU on every plan and apply: as much as reading a few
hundred unchanged flows.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_TIMEOUT = 30  # seconds: `git status` on a huge checkout is slow, never endless


def git_info(path: Path) -> dict | None:
    """``{"commit", "branch", "dirty"}`` for the repository holding ``path``; None outside git
    (a plan can be made from a plain directory), in a repository with no commit yet, or when
    git itself is missing. ``dirty``: something under ``path`` is modified, staged or
    untracked (ignored files do not count); None when git could not tell."""
    where = Path(path)
    cwd = where if where.is_dir() else where.parent
    spec = "." if where.is_dir() else where.name

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None  # no git, no such directory, or too slow
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if not commit:
        return None  # not a repository (or not a safe one), or no commit yet
    branch = git("symbolic-ref", "--quiet", "--short", "HEAD") or None  # None: detached
    status = git("status", "--porcelain", "--untracked-files=normal", "--", spec)
    return {"commit": commit, "branch": branch, "dirty": None if status is None else bool(status)}
