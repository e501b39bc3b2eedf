"""Which git commit a plan was made from, recorded in saved plans (gitpython)."""

from __future__ import annotations

from pathlib import Path


def git_info(path: Path) -> dict | None:
    """``{"commit", "branch", "dirty"}`` for the repository holding ``path``; None outside git
    (a plan can be made from a plain directory) or when git itself is missing."""
    try:
        import git
    except ImportError:  # gitpython raises ImportError when no git executable is found
        return None
    try:
        repo = git.Repo(path, search_parent_directories=True)
        commit = repo.head.commit.hexsha
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError, git.GitError):
        return None  # not a repository, or one with no commit yet
    try:
        branch = repo.active_branch.name
    except TypeError:  # detached HEAD, as in most CI checkouts
        branch = None
    try:
        relative = str(Path(path).resolve().relative_to(Path(repo.working_tree_dir).resolve()))
        dirty = repo.is_dirty(untracked_files=True, path=relative or None)
    except (ValueError, git.GitError):
        dirty = repo.is_dirty(untracked_files=True)
    return {"commit": commit, "branch": branch, "dirty": dirty}
