"""Commit files to a branch of the repository holding a directory, without a checkout.

`pull --branch` writes the server's drift into git as a commit on its own branch. It never
touches the working tree, the index or the checked-out branch: the new files are stored as
blobs, a tree is built from the current commit's tree with those blobs put in (pure object
writes, no index file, not even a temporary one), and the branch is pointed at a commit of
that tree whose parent is the current commit. So the user's uncommitted work cannot be lost;
what the drift is compared against must still be what git holds, which is why a directory
with uncommitted changes is refused (``refuse_uncommitted``).

A re-run converges: the branch is rebuilt on the current commit each time, and when it
already holds the same tree on the same parent nothing is committed.

gitpython is imported here only: the other commands never pay for its import.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError

REGULAR_FILE = 0o100644
# In the body of every commit this command writes: a branch whose own commits all carry it is
# this command's to rebuild; one with any other commit holds someone's work.
WRITTEN_BY = "Written by `kestra-sync pull --branch`"


@dataclass
class BranchResult:
    status: str  # "committed", "unchanged" (the branch already holds it) or "no-drift"
    branch: str
    commit: str | None  # the branch's commit (None: no drift, branch left as it was)
    base: str  # the commit it is built on (HEAD)


def open_repository(directory: Path) -> Any:
    """The git repository holding ``directory``, with at least one commit."""
    try:
        import git
    except ImportError:  # gitpython refuses to load without a git executable
        raise InputError(
            "pull --branch needs git, which was not found", hint="install git, then run it again"
        ) from None

    try:
        repo = git.Repo(directory, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InputError(
            f"{directory} is not in a git repository: pull --branch commits to one",
            hint="run it in a clone of the repository that holds the flows",
        ) from None
    if repo.bare or repo.working_tree_dir is None:
        raise InputError(f"{directory}: a bare repository has no files to compare with")
    try:
        repo.head.commit  # noqa: B018 - raises without a commit
    except ValueError:
        raise InputError(
            f"the repository of {directory} has no commit yet: nothing to build a branch on",
            hint="commit the flows first",
        ) from None
    return repo


def repo_path(repo: Any, path: Path | str) -> str | None:
    """``path`` relative to the repository's root (``a/b.yml``), links in its folders resolved
    but not the file itself; None when it lies outside the repository."""
    full = os.path.abspath(path)
    folder = os.path.realpath(os.path.dirname(full))
    root = os.path.realpath(str(repo.working_tree_dir))
    relative = os.path.relpath(os.path.join(folder, os.path.basename(full)), root)
    if relative == os.curdir or relative.startswith(os.pardir):
        return None
    return relative.replace(os.sep, "/")


def check_branch_name(repo: Any, branch: str) -> None:
    """Refuse a name git would refuse, and the branch checked out here or in a worktree (its
    files would change under the user)."""
    import git

    try:
        # git expands `@{-1}` (the branch checked out before) and accepts `refs/heads/x`,
        # which would then be written as another ref than the one named: only a plain name.
        plain = repo.git.check_ref_format("--branch", branch).strip() == branch
    except git.GitCommandError:
        plain = False
    if not plain or branch == "@" or branch.startswith("refs/"):
        raise InputError(
            f"--branch {branch!r} is not a valid git branch name",
            hint="use a name such as kestra-sync/drift",
        )
    listing = _git(repo, "worktree", "list", "--porcelain").splitlines()
    if f"branch refs/heads/{branch}" in listing:
        raise InputError(
            f"branch {branch} is checked out: pull --branch writes to a branch that is not",
            hint="name another branch, or check out a different one first",
        )


def refuse_uncommitted(repo: Any, paths: list[Path]) -> None:
    """The drift is what the server holds that the current commit does not: the directory
    compared must hold exactly that commit's files (no modified, staged or untracked file)."""
    root = os.path.realpath(str(repo.working_tree_dir))
    found = [
        "." if os.path.realpath(path) == root else repo_path(repo, path)  # flows at the root
        for path in paths
        if path.exists()
    ]
    inside = [p for p in found if p is not None]
    if not inside:
        return
    status = _git(repo, "status", "--porcelain", "--untracked-files=normal", "--", *inside)
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    if changed:
        shown = ", ".join(changed[:3]) + (
            f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        )
        raise InputError(
            f"uncommitted changes in {len(changed)} file(s) ({shown}): the drift is compared "
            "with the last commit, so pull --branch needs them committed; nothing was written",
            hint="commit (or discard) them, then run it again",
        )


def _git(repo: Any, command: str, *args: str) -> str:
    """A git command's output; its failure (e.g. git's "dubious ownership" refusal of a
    checkout owned by another user) as a one-line error with git's own last line."""
    import git

    try:
        return getattr(repo.git, command.replace("-", "_"))(*args)
    except git.GitCommandError as err:
        said = (str(err.stderr or "").strip().splitlines() or ["no message"])[-1]
        said = said.strip().removeprefix("stderr:").strip().strip("'")  # gitpython's quoting
        raise InputError(
            f"git {command} failed in {repo.working_tree_dir}: {said}",
            hint="fix what git says, then run it again",
        ) from None


def commit_files(repo: Any, branch: str, files: dict[str, bytes], message: str) -> BranchResult:
    """Point ``branch`` at a commit of HEAD's tree with ``files`` (root-relative path ->
    bytes) put in, parent HEAD; nothing when the branch already holds that tree on HEAD."""
    import git

    base = repo.head.commit
    try:
        tree = _tree_with(repo, base.tree, files)
    except OSError as err:  # the object store cannot be written (a full disk, permissions)
        raise InputError(
            f"could not store the server's files in git: {err}; no branch was written"
        ) from None
    if tree.binsha == base.tree.binsha:
        return BranchResult("no-drift", branch, None, base.hexsha)
    head = git.Head(repo, f"refs/heads/{branch}")
    if head.is_valid():
        current = head.commit
        if current.tree.binsha == tree.binsha and [p.binsha for p in current.parents] == [
            base.binsha
        ]:
            return BranchResult("unchanged", branch, current.hexsha, base.hexsha)
        _refuse_others_work(repo, branch, current, base)
    try:
        commit = git.Commit.create_from_tree(repo, tree, message, parent_commits=[base], head=False)
        repo.create_head(branch, commit, force=True)
    except (OSError, git.GitError) as err:  # a lock another git holds, a full disk
        raise InputError(
            f"could not write branch {branch}: {err}; the branch is as it was",
            hint="if no other git command is running, remove the .lock file named, then run "
            "it again",
        ) from None
    return BranchResult("committed", branch, commit.hexsha, base.hexsha)


def _refuse_others_work(repo: Any, branch: str, current: Any, base: Any) -> None:
    """The branch is rebuilt on HEAD each run, which drops its commits HEAD does not hold:
    fine for the ones this command wrote, not for anyone else's (a reviewer's fix pushed to
    the drift pull request, or a branch that happened to have this name)."""
    others = [
        c
        for c in repo.iter_commits(f"{base.hexsha}..{current.hexsha}", max_count=100)
        if WRITTEN_BY not in str(c.message) and not _brings_in_only(repo, c, base)
    ]
    if others:
        from ..report.escape import line

        first = line((str(others[-1].message).strip().splitlines() or [""])[0])
        raise InputError(
            f"branch {branch} holds {len(others)} commit(s) not written by pull --branch "
            f"({others[-1].hexsha[:12]} '{first}'): rebuilding it would drop them; "
            "nothing was committed",
            hint="merge or delete that branch, or name another one with --branch",
        )


def _brings_in_only(repo: Any, commit: Any, base: Any) -> bool:
    """A merge of commits HEAD already holds into the branch (GitHub's "Update branch"):
    rebuilding on HEAD keeps what it brought. Unknown parents (a shallow clone) count as work."""
    import git

    if len(commit.parents) < 2:
        return False
    try:
        return all(repo.is_ancestor(p, base) for p in commit.parents[1:])
    except (git.GitCommandError, ValueError):
        return False


def _tree_with(repo: Any, tree: Any, files: dict[str, bytes]) -> Any:
    """``tree`` with ``files`` stored as blobs in place of (or beside) its entries, each
    keeping the mode it had (an executable script stays executable)."""
    import git
    from git.index.fun import write_tree_from_cache
    from git.index.typ import BaseIndexEntry
    from gitdb.base import IStream  # type: ignore[import-untyped]

    entries = {
        item.path: BaseIndexEntry((item.mode, item.binsha, 0, item.path))
        for item in tree.traverse()
        if item.type != "tree"
    }
    for path, data in files.items():
        stored = repo.odb.store(IStream(git.Blob.type, len(data), io.BytesIO(data)))
        mode = entries[path].mode if path in entries else REGULAR_FILE
        entries[path] = BaseIndexEntry((mode, stored.binsha, 0, path))
    ordered = [entries[p] for p in sorted(entries, key=lambda p: p.encode("utf-8"))]
    binsha, _ = write_tree_from_cache(ordered, repo.odb, slice(0, len(ordered)))  # type: ignore[arg-type]
    return git.Tree(repo, binsha)


def mode_of(repo: Any, path: str) -> int | None:
    """The mode of ``path`` in HEAD's tree (None: git does not track it)."""
    try:
        return int(repo.head.commit.tree[path].mode)
    except KeyError:
        return None
