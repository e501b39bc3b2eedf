"""`pull` for every registered kind but flows, through the pull step of the seam
(``kinds.pulling``): each kind reads what the server holds in the pulled scope and says which
files that becomes; this module writes them, the same way for every kind.

Everything is read, and every kind's refusals gathered, before anything is written: a read
that fails, or one server entry that cannot be written as it is (a name that leads outside
the directory, a KV value kv.yml cannot hold), leaves the directory as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..kinds import KINDS
from ..kinds.base import TENANT_LEVEL, KindClient, KindUnsupported, RemoteItem, facts
from ..kinds.pulling import Pulled, PullFile, PullGroup, PullScope, PullTarget
from ..source.confine import inside
from .flows import DIFFERS, SAME, local_state, write_exact_or_stop

Say = Callable[..., None]  # echo_line: (text, err=False)


def read_kinds(client: KindClient, scope: PullScope) -> list[tuple[str, list[RemoteItem]]]:
    """(kind name, its items) for each registered kind (``pull_read``), in the registry's
    order. A kind the server has no API for is left out, its message said once (several
    kinds may share one); a tenant-level kind is read only when ``scope`` asks for it."""
    out, said = [], set()
    for name, kind in KINDS.items():
        if facts(kind).level == TENANT_LEVEL and not scope.with_tenant:
            continue
        try:
            out.append((name, facts(kind).pull_read(client, scope)))
        except KindUnsupported as err:
            if err.message and err.message not in said:
                said.add(err.message)
                scope.say(err.message)
    return out


def files_of(read: list[tuple[str, list[RemoteItem]]], target: PullTarget) -> list[Pulled]:
    """What each kind's items become in git (``pull_files``), in the registry's order."""
    return [facts(KINDS[name]).pull_files(items, target) for name, items in read]


def refusals(pulled: list[Pulled], directory: Path) -> list[str]:
    """Every kind's refusals; each file a link on the way leads out of the directory, for
    every kind alike (an app's `_apps` linked out was kept only once the rest was written);
    and each file two items would both write (``acme``'s namespace file `kv.yml` and the KV
    pairs of ``acme._files``, nested into acme's `_files`): the second write would replace
    the first, and the next plan deploy it as the other kind."""
    outside = [  # a kind that refused something already said so, in its words
        f"{file.path}  ({file.what}): a symbolic link on the way leads outside "
        f"{file.confine or directory}"
        for each in pulled
        if not each.refused
        for group in each.groups
        for file in group.files
        if not inside(file.path, file.confine or directory)
    ]
    return [line for each in pulled for line in each.refused] + outside + _claimed_twice(pulled)


def _claimed_twice(pulled: list[Pulled]) -> list[str]:
    """Two items that would be written to one file, or to two whose names differ only in case
    (`_apps/Report.yml`, `_apps/report.yml`): on macOS and Windows, and in every clone there,
    one would overwrite the other, and a later `plan --delete` would remove it."""
    first: dict[str, PullFile] = {}
    out = []
    for each in pulled:
        for group in each.groups:
            for file in group.files:
                key = os.path.normpath(file.path).casefold()
                other = first.get(key)
                if other is None:
                    first[key] = file
                elif os.path.normpath(other.path) == os.path.normpath(file.path):
                    out.append(
                        f"{file.path}: both {other.what} and {file.what} would be written "
                        "there; rename one on the server"
                    )
                else:
                    out.append(
                        f"{file.path} and {other.path} differ only in case: on macOS and "
                        "Windows one would overwrite the other; rename one on the server"
                    )
    return out


@dataclass
class _Outcome:
    written: list[PullFile] = field(default_factory=list)
    unchanged: list[PullFile] = field(default_factory=list)
    conflicts: list[PullFile] = field(default_factory=list)
    refused: list[PullFile] = field(default_factory=list)


def write_pulled(
    pulled: list[Pulled], directory: Path, overwrite: bool, shown: list[Path], say: Say
) -> int:
    """Write every kind's files; ``shown`` gets each path written. -> how many were kept."""
    return sum(
        _write_group(group, directory, overwrite, shown, say)
        for each in pulled
        for group in each.groups
    )


def _write_group(
    group: PullGroup, directory: Path, overwrite: bool, shown: list[Path], say: Say
) -> int:
    for line in group.lines:
        say(line, err=True)
    done, written = _Outcome(), list[Path]()  # written: the paths, for a write that fails half-way
    for file in group.files:
        if not inside(file.path, file.confine or directory):
            done.refused.append(file)
            continue
        state = local_state(file.path, file.same or file.data.__eq__)
        if state == SAME:
            done.unchanged.append(file)
        elif state == DIFFERS and not overwrite:
            done.conflicts.append(file)
        else:
            write_exact_or_stop(file.path, file.data, written)
            done.written.append(file)
    shown += written
    _report(done, directory, say)
    kept = len(done.conflicts) + len(done.refused) + group.kept
    if group.summary is not None:
        say(group.summary(len(done.written), len(done.unchanged), kept), err=True)
    return kept


def _report(done: _Outcome, directory: Path, say: Say) -> None:
    for status, files in (("wrote", done.written), ("unchanged", done.unchanged)):
        for file in files:
            say(f"{status:<10} {file.path}  ({file.what}{file.detail})")
            for note in file.notes:
                say(note, err=True)
    for file in done.conflicts:
        say(f"conflict   {file.path}  ({file.what}): differs from the server; kept", err=True)
    for file in done.refused:
        say(
            f"refused    {file.path}  ({file.what}): a symbolic link on the way leads outside "
            f"{file.confine or directory}; kept",
            err=True,
        )
