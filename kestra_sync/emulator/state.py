"""The flow store: per-tenant revisions, the server's revision rules, optional JSON persistence.

Revision rules follow ``AbstractJdbcFlowRepository`` (docs/kestra-api.md): one row per revision;
a save whose source equals the last one after removing the first ``revision: N`` line (and same
deleted/disabled flags) returns the existing revision; otherwise revision = 1 + the highest
revision ever stored, deleted ones included; delete writes a new revision with ``deleted: true``.
All public methods take the store lock, so concurrent HTTP threads see consistent state.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import rules

REVISION_LINE = re.compile(
    r"^revision: \d+\n?", re.MULTILINE
)  # FlowInterface.YAML_REVISION_MATCHER
STATE_VERSION = 1


def source_without_revision(source: str) -> str:
    """``FlowInterface.sourceWithoutRevision``: drop the first ``revision: N`` line only."""
    return REVISION_LINE.sub("", source, count=1)


def write_json_atomically(path: Path, payload: Any) -> None:
    """A state file is replaced whole or not at all: a temp file in the same directory, then a
    rename (a crash never leaves half a file for the next start to read)."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=".emulator-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def now_iso() -> str:
    """An ``Instant`` as Jackson writes it (ISO-8601, UTC, microseconds)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Revision:
    """One stored row: the source verbatim plus the server-side fields."""

    namespace: str
    id: str
    revision: int
    source: str
    deleted: bool = False
    disabled: bool = False
    updated: str | None = None


class Store:
    """All flows of all tenants, in memory; optionally mirrored to a JSON file after each write."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.lock = threading.RLock()
        self.path = Path(path) if path else None
        # tenant -> (namespace, id) -> revisions in ascending order
        self.tenants: dict[str, dict[tuple[str, str], list[Revision]]] = {}
        if self.path and self.path.exists():
            self.load()

    # ---------------------------------------------------------------- persistence

    def load(self) -> None:
        assert self.path is not None
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        with self.lock:
            self.tenants = {}
            for tenant, flows in raw.get("tenants", {}).items():
                table = self.tenants.setdefault(tenant, {})
                for row in flows:
                    rev = Revision(**row)
                    table.setdefault((rev.namespace, rev.id), []).append(rev)
            for table in self.tenants.values():
                for revs in table.values():
                    revs.sort(key=lambda r: r.revision)

    def save(self) -> None:
        """Write the state file atomically (temp file in the same directory, then rename)."""
        if not self.path:
            return
        with self.lock:
            payload = {
                "version": STATE_VERSION,
                "tenants": {
                    tenant: [asdict(r) for revs in table.values() for r in revs]
                    for tenant, table in self.tenants.items()
                },
            }
            write_json_atomically(self.path, payload)

    def reset(self) -> None:
        with self.lock:
            self.tenants = {}
            self.save()

    # ---------------------------------------------------------------- reads

    def _table(self, tenant: str) -> dict[tuple[str, str], list[Revision]]:
        return self.tenants.setdefault(tenant, {})

    def revisions(self, tenant: str, namespace: str, flow_id: str) -> list[Revision]:
        with self.lock:
            return list(self._table(tenant).get((namespace, flow_id), []))

    def last(
        self, tenant: str, namespace: str, flow_id: str, allow_deleted: bool = False
    ) -> Revision | None:
        """``findById``: the last revision, None when missing or (unless allowed) deleted."""
        revs = self.revisions(tenant, namespace, flow_id)
        if not revs:
            return None
        last = revs[-1]
        if last.deleted and not allow_deleted:
            return None
        return last

    def get(self, tenant: str, namespace: str, flow_id: str, revision: int) -> Revision | None:
        """An explicit revision, deleted ones included (``defaultFilter(tenantId, true)``)."""
        for rev in self.revisions(tenant, namespace, flow_id):
            if rev.revision == revision:
                return rev
        return None

    def live(self, tenant: str) -> list[Revision]:
        """The last revision of every non-deleted flow of a tenant, by namespace then id."""
        with self.lock:
            out = [
                revs[-1] for revs in self._table(tenant).values() if revs and not revs[-1].deleted
            ]
        return sorted(out, key=lambda r: (r.namespace, r.id))

    def live_in(self, tenant: str, namespace: str, children: bool = False) -> list[Revision]:
        """``live`` restricted to one namespace (and its children): what a namespace filter
        keeps, without sorting every flow of the tenant for each request."""
        prefix = namespace + "."
        with self.lock:
            out = [
                revs[-1]
                for (ns, _), revs in self._table(tenant).items()
                if (ns == namespace or (children and ns.startswith(prefix)))
                and revs
                and not revs[-1].deleted
            ]
        return sorted(out, key=lambda r: (r.namespace, r.id))

    def count(self) -> int:
        with self.lock:
            return sum(len(self.live(t)) for t in self.tenants)

    # ---------------------------------------------------------------- writes

    def create(self, tenant: str, flow: rules.ParsedFlow) -> tuple[Revision, bool]:
        """``repository.create``: 422 when a non-deleted flow has this id, then ``save``."""
        with self.lock:
            if self.last(tenant, flow.namespace or "", flow.id or "") is not None:
                raise rules.already_exists()
            return self._save(tenant, flow)

    def update(
        self, tenant: str, namespace: str, flow_id: str, flow: rules.ParsedFlow
    ) -> tuple[Revision, bool]:
        """``FlowController.updateFlow`` after parsing: 404 / id-namespace mismatch / save."""
        with self.lock:
            if self.last(tenant, namespace, flow_id) is None:
                raise rules.not_found()
            mismatch = rules.update_mismatch(flow, namespace, flow_id)
            if mismatch is not None:
                raise mismatch
            return self._save(tenant, flow)

    def _save(self, tenant: str, flow: rules.ParsedFlow) -> tuple[Revision, bool]:
        """``AbstractJdbcFlowRepository.save``. Returns (revision row, changed)."""
        key = (flow.namespace or "", flow.id or "")
        revs = self._table(tenant).setdefault(key, [])
        existing = revs[-1] if revs and not revs[-1].deleted else None
        if (
            existing is not None
            and not existing.deleted
            and existing.disabled == flow.disabled
            and source_without_revision(existing.source) == source_without_revision(flow.source)
        ):
            return existing, False
        number = revs[-1].revision + 1 if revs else 1
        row = Revision(
            namespace=key[0],
            id=key[1],
            revision=number,
            source=flow.source,
            disabled=flow.disabled,
            updated=now_iso(),
        )
        # Keep the parse the write was validated with, for the replies (shapes.parsed_of); the
        # superseded row drops its own so memory follows the number of flows, not revisions.
        row.__dict__["parsed"] = flow
        if revs:
            revs[-1].__dict__.pop("parsed", None)
        revs.append(row)
        self.save()
        return row, True

    def delete(self, tenant: str, namespace: str, flow_id: str) -> Revision:
        """``FlowService.delete``: a new revision with deleted=true (404 if missing/deleted).

        ``toDeleted()`` is persisted through ``toFlow()``, which drops ``updated``, so the deletion
        row carries no ``updated`` timestamp."""
        with self.lock:
            last = self.last(tenant, namespace, flow_id)
            if last is None:
                raise rules.not_found()
            row = Revision(
                namespace=namespace,
                id=flow_id,
                revision=last.revision + 1,
                source=last.source,
                deleted=True,
                disabled=last.disabled,
                updated=None,
            )
            if "parsed" in last.__dict__:
                row.__dict__["parsed"] = last.__dict__.pop("parsed")
            self._table(tenant)[(namespace, flow_id)].append(row)
            self.save()
            return row

    def put_raw(self, tenant: str, rows: list[dict[str, Any]]) -> None:
        """Seed rows directly (tests): dicts with the ``Revision`` fields."""
        with self.lock:
            for row in rows:
                rev = Revision(**row)
                self._table(tenant).setdefault((rev.namespace, rev.id), []).append(rev)
            self.save()
