"""Write the server's flows into a directory so a team can adopt kestra-sync on a server that
already has flows. Files get the server's source byte for byte, so a `plan` right after a
`pull` shows no changes.

A file that already holds the flow (wherever it sits) is updated in place; a file whose content
differs is only overwritten with ``overwrite=True``, so a pull never silently discards local
work.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import write_atomic
from ..errors import InputError
from ..models import FlowRef, LocalFlow, RemoteFlow, server_name_problem, shorten
from ..planning.sameness import sources_equal
from ..rules.validate import expected_layout_path
from ..source.confine import inside, regular_bytes
from ..source.flowscan import is_flow_candidate


@dataclass
class PullResult:
    written: list[tuple[FlowRef, Path]] = field(default_factory=list)
    unchanged: list[tuple[FlowRef, Path]] = field(default_factory=list)
    conflicts: list[tuple[FlowRef, Path]] = field(default_factory=list)  # differ, not overwritten
    # The layout path holds another flow (a file not named after its flow): never overwritten,
    # even with ``overwrite``, since it is that other flow's definition. (ref, path, other ref)
    occupied: list[tuple[FlowRef, Path, FlowRef]] = field(default_factory=list)
    # The flow is defined in several local files: which one to update is the user's call.
    duplicates: list[tuple[FlowRef, list[Path]]] = field(default_factory=list)
    # The layout path is one the scan reads as another kind (`kv.yml`, `namespace.yml`, a
    # namespace `acme._files` nested into acme's `_files`): written there, the flow would
    # leave git's side and the next `plan --delete` would delete it. Not written.
    misplaced: list[tuple[FlowRef, Path]] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return len(self.conflicts) + len(self.occupied) + len(self.duplicates) + len(self.misplaced)


def layout_path(directory: Path, namespace: str, flow_id: str, layout: str) -> Path:
    """Where a flow belongs: nested = <dir>/<ns as folders>/<id>.yml, dotted = <dir>/<ns>/<id>.yml.
    The same rule validate's layout check enforces, so a pulled file always passes it."""
    return directory / f"{expected_layout_path(namespace, flow_id, layout)}.yml"


def check_server_names(remote: list[RemoteFlow]) -> None:
    """Refuse the whole pull, before anything is written, when the server sent a namespace or
    id that Kestra itself would refuse: they become file paths (``../../.github/x`` would
    write outside the directory), and a server that sends one is not to be trusted."""
    for flow in remote:
        problem = server_name_problem(flow.namespace, flow.id)
        if problem:
            where = "" if "namespace" in problem else f" in namespace {shorten(flow.namespace)}"
            raise InputError(
                f"the server sent {problem}{where}: refused, nothing was written",
                hint="rename that flow on the server (Kestra requires ids like my-flow_1 and "
                "lower-case namespaces like company.team), or check that the URL is your Kestra",
            )


# What stands at a path pull is about to write (``local_state``).
ABSENT, SAME, DIFFERS = "absent", "same", "differs"


def local_state(path: Path, same: Callable[[bytes], bool]) -> str:
    """The one rule for every file pull writes (flows, namespace files, kv.yml): ABSENT when
    nothing is there, not even a broken link; SAME when a regular file's bytes are what
    ``same`` accepts; DIFFERS otherwise, which the caller keeps unless --overwrite. Anything
    that is not a regular file (a FIFO, a socket, a device, a directory, a broken link) DIFFERS
    and is never read: a FIFO is opened with O_NONBLOCK, so it cannot block the pull."""
    if not os.path.lexists(path):
        return ABSENT
    current = regular_bytes(path)
    return SAME if current is not None and same(current) else DIFFERS


def _decodes_to(source: str) -> Callable[[bytes], bool]:
    def same(raw: bytes) -> bool:
        try:
            return sources_equal(raw.decode("utf-8"), source)
        except UnicodeDecodeError:
            return False

    return same


class PullWriteError(InputError):
    """A file could not be written (permissions, a full disk). ``written`` lists what this
    step wrote before it, so the command can say exactly what the pull left behind."""

    def __init__(self, path: Path, err: OSError, written: list[Path]):
        super().__init__(
            f"{path}: cannot write ({err.strerror or err}): the pull stopped there",
            hint="fix the cause (permissions, disk space), then pull again: the files already "
            "written are kept and show as unchanged",
        )
        self.written = written


def write_exact_or_stop(path: Path, data: bytes, written: list[Path]) -> None:
    """Write ``data`` atomically (parents created); a failure is a PullWriteError carrying
    ``written``, the paths written so far."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as err:
        blocker = _not_a_folder(path.parent)
        if blocker is not None:  # "File exists" alone does not say which file is in the way
            err = OSError(err.errno, f"{blocker} is a file where a folder must go")
        raise PullWriteError(path, err, list(written)) from None
    written.append(path)


def _not_a_folder(folder: Path) -> Path | None:
    """The first of ``folder`` and its parents that stands there but is no folder."""
    for each in reversed([folder, *folder.parents]):
        if os.path.lexists(each) and not each.is_dir():
            return each
    return None


def write_flows(
    remote: list[RemoteFlow],
    directory: Path,
    *,
    layout: str = "nested",
    existing: list[LocalFlow] | None = None,
    overwrite: bool = False,
) -> PullResult:
    by_ref = {f.ref: f for f in existing or [] if f.ref is not None}
    files_of: dict[FlowRef, list[Path]] = {}
    for f in existing or []:
        if f.ref is not None:
            files_of.setdefault(f.ref, []).append(Path(f.path))
    holder = {Path(f.path).resolve(): f.ref for f in existing or [] if f.ref is not None}
    check_server_names(remote)
    result = PullResult()
    todo: list[tuple[FlowRef, Path, str]] = []  # decided first: a refusal writes nothing
    seen: set[FlowRef] = set()
    for flow in sorted(remote, key=lambda f: f.ref):
        if flow.deleted or flow.ref in seen:  # a second copy would "conflict" with the first
            continue
        seen.add(flow.ref)
        if flow.source is None:
            raise InputError(f"{flow.ref}: the server listing carried no source to write")
        if len(files_of.get(flow.ref, ())) > 1:
            result.duplicates.append((flow.ref, files_of[flow.ref]))
            continue
        local = by_ref.get(flow.ref)
        path = (
            Path(local.path) if local else layout_path(directory, flow.namespace, flow.id, layout)
        )
        if local is None and not is_flow_candidate(path.relative_to(directory)):
            result.misplaced.append((flow.ref, path))
            continue
        if local is not None and local.source == flow.source:
            result.unchanged.append((flow.ref, path))
            continue
        if not inside(path, directory):
            raise InputError(
                f"{path}: refusing to write {flow.ref} outside {directory} (a symbolic link on "
                f"the way leads to {os.path.realpath(path)})",
                hint="remove or fix that link, then pull again",
            )
        other = holder.get(path.resolve())
        if other is not None and other != flow.ref:
            result.occupied.append((flow.ref, path, other))
            continue
        # Same text but for line endings and the like: rewritten without --overwrite, to the
        # server's exact bytes.
        if not overwrite and local_state(path, _decodes_to(flow.source)) == DIFFERS:
            result.conflicts.append((flow.ref, path))
            continue
        todo.append((flow.ref, path, flow.source))
    done: list[Path] = []
    for ref, path, source in todo:
        write_exact_or_stop(path, source.encode("utf-8"), done)
        result.written.append((ref, path))
    return result
