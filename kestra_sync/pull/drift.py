"""Drift back into git: from a plan, what the server holds differently from git, for what git
manages, as the files git would hold if it took the server's version.

Only an *update* is drift written back: a flow, namespace file, dashboard or KV pair git holds that the
server holds with other content (an edit made in the UI). What git holds and the server does
not (deleted in the UI, or never applied) is not written as a deletion, and what only the
server holds is not adopted (``pull --namespace`` does that): both are counted, so a report
can say so. A KV pair is reported but not written: kv.yml is written by hand (comments,
`sensitive:` keys, overlays), and a rewrite would lose that.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from ..kinds import facts_of
from ..models import FLOW, FlowRef
from ..planning.plan import CREATE, DELETE, UNMANAGED, UPDATE, Plan


@dataclass
class DriftItem:
    ref: FlowRef
    path: str  # the local file git holds it in
    content: bytes | None  # the server's bytes for that file; None: not written (``note``)
    diff: str  # git's version -> the server's, unified
    note: str = ""


@dataclass
class Drift:
    items: list[DriftItem] = field(default_factory=list)
    missing: int = 0  # in git, not on the server: not drift written back
    server_only: int = 0  # on the server only, in scope: not adopted

    @property
    def written(self) -> list[DriftItem]:
        return [item for item in self.items if item.content is not None]


def drift_of(plan: Plan) -> Drift:
    drift = Drift()
    for change in sorted(plan.changes, key=lambda c: (c.ref.kind, c.ref)):
        if change.action == CREATE:
            drift.missing += 1
        elif change.action in (DELETE, UNMANAGED):
            drift.server_only += 1
        elif change.action == UPDATE and change.path:
            drift.items.append(_item(change))
    return drift


def _item(change) -> DriftItem:
    path = str(change.path)
    if change.kind == FLOW:
        server = change.server_source or ""
        return DriftItem(
            change.ref, path, server.encode("utf-8"), unified(change.source, server, path)
        )
    # The other kinds say whether git's file holds the item alone (a namespace file, a
    # dashboard: written back byte for byte) or not (a KV pair in kv.yml: reported only).
    kind = facts_of(change.kind)
    server = None if kind is None else kind.file_bytes(change.server_payload)
    if kind is None or server is None:
        noun = kind.noun if kind is not None else change.kind
        note = (
            f"the {noun} changed on the server: {Path(path).name} is not rewritten, edit it by hand"
        )
        return DriftItem(change.ref, path, None, "", note=note)
    local = kind.file_bytes(change.payload) or b""
    return DriftItem(change.ref, path, server, file_diff(local, server, path))


def unified(old: str | None, new: str, path: str) -> str:
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path} (git)",
        tofile=f"b/{path} (server)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def file_diff(old: bytes, new: bytes, path: str) -> str:
    try:
        return unified(old.decode("utf-8"), new.decode("utf-8"), path)
    except UnicodeDecodeError:
        return f"binary file {path}: {len(old):,} bytes in git, {len(new):,} on the server\n"
