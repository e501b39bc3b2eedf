"""Find the flow files of a directory, and say everything that kept the search from being
complete (see ``walk_flow_files``)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from ..models import ERROR, WARNING, Diagnostic
from .ignorefile import IgnoreRules, LayeredRules

FLOW_SUFFIXES = (".yml", ".yaml")
# YAML that is not a flow: a namespace's files (kestra_sync.kinds.nsfiles) and its KV pairs
# (kinds.kv). Neither is ever scanned as a flow.
FILES_DIR = "_files"
KV_FILE_NAMES = ("kv.yml", "kv.yaml")
TESTS_DIR = "_tests"  # a namespace's flow test suites (kinds/testsuites.py), never flows
# The tenant's dashboards (kinds/dashboards.py): one folder at the top of the flow directory
# (kestra-sync.yml `dashboards_dir`), never scanned as flows. Its name starts with `_`, which no
# Kestra namespace does, so it can never be a namespace's folder.
DASHBOARDS_DIR = "_dashboards"
# Per-environment overlays (kestra_sync/source/environments.py): `kv.prod.yml` beside kv.yml and
# `_files.prod/` beside _files. Not flows either; one whose environment is not configured is an
# error there, so a flow named like one is never skipped in silence.
_KV_OVERLAY = re.compile(r"kv\.([A-Za-z0-9_-]+)\.ya?ml")
_FILES_OVERLAY = re.compile(r"_files\.([A-Za-z0-9_-]+)")


def kv_overlay_env(name: str) -> str | None:
    """The environment a `kv.<env>.yml` file name is for, or None."""
    found = _KV_OVERLAY.fullmatch(name)
    return found.group(1) if found else None


def files_overlay_env(name: str) -> str | None:
    """The environment a `_files.<env>` folder name is for, or None."""
    found = _FILES_OVERLAY.fullmatch(name)
    return found.group(1) if found else None


def is_files_dir(name: str) -> bool:
    """A namespace's files: `_files`, or an environment's `_files.<env>`."""
    return name == FILES_DIR or files_overlay_env(name) is not None


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else as given."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _is_flow_file(name: str) -> bool:
    return (
        name.endswith(FLOW_SUFFIXES) and name not in KV_FILE_NAMES and kv_overlay_env(name) is None
    )


def enters_flow_dir(name: str) -> bool:
    """The folders the flow scan enters (and the KV scan, kinds/kv.py): not hidden, not `_files`
    (nor an environment's `_files.<env>`), not `_tests` (test suites)."""
    return not name.startswith(".") and not is_files_dir(name) and name != TESTS_DIR


def walk_flow_files(
    directory: Path, ignore: IgnoreRules | LayeredRules | None = None
) -> tuple[list[Path], list[Diagnostic]]:
    """All ``*.yml``/``*.yaml`` under ``directory`` (sorted), and what kept the scan from being
    complete.

    A scan feeds ``apply --delete``: a flow the scan did not see is a flow that gets deleted. So
    everything that could hide a flow is an ERROR naming it (plan and apply refuse to run):
    a directory or link that cannot be read, a broken link, a link that leaves the flow
    directory, a name that is not UTF-8. Links inside the flow directory are followed; a
    directory reached twice (a loop, or two links to one place) is read once, with a warning.
    Non-regular files named ``*.yml`` (a FIFO, a socket, a device) are never opened: reading
    a FIFO blocks for ever, and none of them can be a file in git. Hidden directories
    (``.git``) and what the ignore rules exclude (paths relative to ``directory``) are skipped.
    """
    return walk_files(directory, ignore, wanted=_is_flow_file, enter=enters_flow_dir)


def walk_files(
    directory: Path,
    ignore: IgnoreRules | LayeredRules | None = None,
    *,
    wanted,
    enter,
    boundary: Path | None = None,
    collect_dir=None,
) -> tuple[list[Path], list[Diagnostic]]:
    """The files under ``directory`` whose name is ``wanted``, descending into directories whose
    name ``enter`` accepts, with the guarantees of ``walk_flow_files``: what could hide a file
    is an error naming it. A link must stay inside ``boundary`` (default: ``directory``).
    Namespace files (kinds/nsfiles.py) are read through it too: a file the scan did not see is
    a file ``apply --delete`` deletes on the server. A directory whose name ``collect_dir``
    accepts is returned among the files instead of being entered (how nsfiles finds the
    ``_files`` directories: by the same rule for links as the flows beside them)."""
    ignore = ignore or IgnoreRules()
    root_real = os.path.realpath(boundary if boundary is not None else directory)
    found: list[Path] = []
    diags: list[Diagnostic] = []
    seen: dict[object, Path] = {}
    stack: list[tuple[Path, str]] = [(Path(directory), "")]
    while stack:
        dir_path, rel = stack.pop()
        entries = _entries_once(dir_path, seen, diags)
        if entries is None:
            continue
        subdirs = []
        for entry in entries:
            is_wanted_name = wanted(entry.name)
            try:
                is_link = entry.is_symlink()
                plain_file = entry.is_file(follow_symlinks=False)
            except OSError:
                is_link = plain_file = False
            if plain_file and not is_wanted_name:
                continue  # README.md and the like (every flow, for nsfiles): no stat, no Path
            path = dir_path / entry.name
            rel_name = rel + entry.name
            if ignore.ignored(rel_name, is_dir=True) and ignore.ignored(rel_name):
                continue  # a pattern that matches both forms (`*.tmp`, `drafts`)
            try:
                mode = os.stat(path).st_mode  # follows links; ELOOP/ENOENT for broken ones
            except OSError as err:
                if entry.name.startswith(".") and not is_wanted_name:
                    continue  # a hidden name: skipped whatever it is
                if ignore.ignored(rel_name, is_dir=True) or ignore.ignored(rel_name):
                    continue
                diags.append(_broken_link(path, err) if is_link else _unreadable(path, "file", err))
                continue
            is_dir = stat.S_ISDIR(mode)
            if is_dir and (not enter(entry.name) or ignore.ignored(rel_name, is_dir=True)):
                continue
            if not is_dir and (not is_wanted_name or ignore.ignored(rel_name)):
                continue
            if undecodable(entry.name):
                diags.append(bad_name(path))
                continue
            if is_link and not _within(os.path.realpath(path), root_real):
                diags.append(_outside_link(path, boundary if boundary is not None else directory))
                continue
            if is_dir and collect_dir is not None and collect_dir(entry.name):
                found.append(path)
            elif is_dir:
                subdirs.append((path, rel + entry.name + "/"))
            elif stat.S_ISREG(mode):
                found.append(path)
            else:
                diags.append(not_regular(display_path(path), mode))
        stack.extend(reversed(subdirs))
    return sorted(found), diags


def _entries_once(
    dir_path: Path, seen: dict[object, Path], diags: list[Diagnostic]
) -> list[os.DirEntry[str]] | None:
    """A directory's entries sorted by name; None (and a diagnostic) when it cannot be read or
    was already scanned under another name (a link loop, two links to one directory)."""
    try:
        st = os.stat(dir_path)
        key: object = (st.st_dev, st.st_ino) if st.st_ino else os.path.realpath(dir_path)
        if key in seen:
            diags.append(_already_scanned(dir_path, seen[key]))
            return None
        seen[key] = dir_path
        with os.scandir(dir_path) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as err:
        diags.append(_unreadable(dir_path, "directory", err))
        return None


def _within(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # another drive on Windows
        return False


def undecodable(name: str) -> bool:
    """A name that is not valid UTF-8 on disk (Python keeps its bytes as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def shown_path(path: Path | str) -> str:
    """A path safe to print and to put in JSON: bytes that are not UTF-8 become ``\\xNN``."""
    text = display_path(Path(path))
    return os.fsencode(text).decode("utf-8", "backslashreplace") if undecodable(text) else text


def shown_paths(paths: list[Path]) -> list[str]:
    """``shown_path`` of each of ``paths`` (a scan's files), reading the working directory once:
    ``os.path.relpath`` costs 10 us a file, as much as reading it."""
    if os.name == "nt":  # drives and case: relpath's rules
        return [shown_path(p) for p in paths]
    cwd = os.getcwd()
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    out = []
    for path in paths:
        text = str(path)
        full = os.path.normpath(os.path.join(cwd, text))  # os.path.abspath
        # relpath's answer when the file is below the working directory; otherwise it starts
        # with "..", and display_path shows the path as given.
        rel = "." if full == cwd else full[len(prefix) :] if full.startswith(prefix) else ".."
        shown = text if rel.startswith("..") else rel
        out.append(
            os.fsencode(shown).decode("utf-8", "backslashreplace") if undecodable(shown) else shown
        )
    return out


def bad_name(path: Path) -> Diagnostic:
    return Diagnostic(
        shown_path(path),
        "the name is not valid UTF-8, so its flows cannot be read or sent (Kestra and git "
        "tooling expect UTF-8 names): rename it",
        ERROR,
        code="bad-file-name",
    )


def _unreadable(path: Path, what: str, err: OSError) -> Diagnostic:
    return Diagnostic(
        shown_path(path),
        f"cannot read this {what} ({err.strerror}), so the flows in it are unknown and nothing "
        "can be planned or deleted safely: fix its permissions, or add it to .kestraignore",
        ERROR,
        code="unreadable",
    )


def _broken_link(path: Path, err: OSError) -> Diagnostic:
    target = os.readlink(path) if os.path.islink(path) else "?"
    return Diagnostic(
        shown_path(path),
        f"broken symbolic link to {target} ({err.strerror}): it may have held flows, so the "
        "scan is incomplete; fix or remove the link, or add it to .kestraignore",
        ERROR,
        code="broken-link",
    )


def _outside_link(path: Path, directory: Path) -> Diagnostic:
    return Diagnostic(
        shown_path(path),
        f"symbolic link to {shown_path(os.path.realpath(path))}, outside the flow directory "
        f"{shown_path(directory)}: kestra-sync only deploys what the flow directory holds; "
        "move the files inside it, or add the link to .kestraignore",
        ERROR,
        code="link-outside",
    )


def _already_scanned(path: Path, first: Path) -> Diagnostic:
    return Diagnostic(
        shown_path(path),
        f"this directory was already read as {shown_path(first)} (a symbolic link loop or a "
        "second link to it): its flows are read once",
        WARNING,
        code="already-scanned",
    )


def special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def not_regular(shown: str, mode: int) -> Diagnostic:
    return Diagnostic(
        shown,
        f"skipped: this is {special_kind(mode)}, not a regular file (it was not opened; a flow "
        "is a file)",
        WARNING,
        code="not-a-file",
    )
