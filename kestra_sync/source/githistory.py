"""Which files git records as moved between the deployed commit and HEAD, so that a plan can
recognise a renamed flow or namespace (planning/renames.py).

Git's own rename detection (`git diff -M`: a file removed and one added whose contents are at
least half the same) decides what moved; this module only asks it. gitpython is imported here,
and only when a deployed commit is known and differs from HEAD: its import alone costs about
0.1 s of CPU, which every plan would otherwise pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FLOW_SUFFIXES = (".yml", ".yaml")
# Git's default similarity for -M: a file at least half the same counts as moved.
SIMILARITY = "50%"
SHALLOW_HINT = (
    "this is a shallow clone, and GitHub Actions' checkout fetches one commit by default: "
    "set `fetch-depth: 0` on actions/checkout"
)


class HistoryUnavailable(Exception):  # noqa: N818 - reads as what happened
    """Git cannot say what moved: not a repository, or the deployed commit is not here."""


@dataclass(frozen=True)
class MovedFile:
    old_path: str  # relative to the repository's root, as it was at the deployed commit
    new_path: Path  # absolute, in the working tree
    old_source: str  # the file's text at the deployed commit


def moved_files(directory: Path, since: str) -> list[MovedFile]:
    """The YAML files under ``directory`` that git records as renamed (or moved) from commit
    ``since`` to HEAD. Raises HistoryUnavailable, with a sentence saying why, when git cannot
    tell: no repository, or ``since`` is not in it (a shallow clone, a force-push)."""
    import git  # lazily: see the module docstring

    try:
        repo = git.Repo(directory, search_parent_directories=True)
    except (git.GitError, OSError):
        raise HistoryUnavailable(f"{directory} is not in a git repository") from None
    with repo:
        root = Path(repo.working_tree_dir or directory).resolve()
        old, head = _commits(repo, since)
        try:
            inside = directory.resolve().relative_to(root).as_posix()
        except ValueError:
            raise HistoryUnavailable(f"{directory} is outside its git repository") from None
        paths = [] if inside == "." else [inside]
        try:
            diffs = old.diff(head, paths=paths, find_renames=SIMILARITY)
        except git.GitError as err:
            raise HistoryUnavailable(f"git diff failed: {_first_line(err)}") from None
        return [
            MovedFile(d.a_path, root / d.b_path, _text(d.a_blob))
            for d in diffs
            if d.renamed_file
            and d.a_path
            and d.b_path
            and d.b_path.endswith(FLOW_SUFFIXES)
            and d.a_blob is not None
        ]


def _commits(repo, since: str):
    """The deployed commit and HEAD, or why the deployed one cannot be read here."""
    import git

    try:
        repo.git.cat_file("-e", f"{since}^{{commit}}")  # present, and a commit
        return repo.commit(since), repo.head.commit
    except git.GitCommandError as err:
        if "safe.directory" in str(err.stderr):  # owned by another user: git says how to trust it
            raise HistoryUnavailable(f"git refuses the repository: {_first_line(err)}") from None
    except (git.GitError, ValueError):
        pass
    shallow = _is_shallow(repo)
    raise HistoryUnavailable(
        f"the deployed commit {since[:12]} is not in this clone"
        + (f" ({SHALLOW_HINT})" if shallow else " (fetch more history, or was it force-pushed?)")
    )


def _is_shallow(repo) -> bool:
    import git

    try:
        return repo.git.rev_parse("--is-shallow-repository").strip() == "true"
    except git.GitError:
        return False


def _text(blob) -> str:
    return blob.data_stream.read().decode("utf-8", errors="replace")


def _first_line(err: Exception) -> str:
    text = str(getattr(err, "stderr", "") or err).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0].removeprefix("stderr: ").strip("'") if lines else type(err).__name__
