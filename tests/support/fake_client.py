"""A fake client for apply's unit tests: records calls, fails on request, no HTTP."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from kestra_sync.errors import NotFoundError
from kestra_sync.models import FlowRef, RemoteFlow
from kestra_sync.planning.plan import Change


@dataclass
class Upserted:
    action: str
    flow: RemoteFlow
    previous_revision: int | None = None


class FakeClient:
    """Records calls; ``fail`` maps flow id -> exception to raise for it."""

    tenant = "main"

    def __init__(self, fail=None, existing=None, sources=None):
        self.fail = fail or {}
        self.existing = dict(existing or {})  # id -> revision
        self.sources = dict(sources or {})  # id -> source, where a test needs one
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def with_tenant(self, tenant):
        return self

    def search_flows(self, namespace, include_children=False):
        with self.lock:
            self.calls.append(("list", namespace))
            return [RemoteFlow(namespace, i, r) for i, r in self.existing.items()]

    def namespace_flows(self, namespace, include_children=False, known=None):
        with self.lock:
            self.calls.append(("read", namespace))
            return [
                RemoteFlow(namespace, i, r, source=self.sources.get(i, ""))
                for i, r in self.existing.items()
            ]

    def writes(self):
        return [c for c in self.calls if c[0] not in ("list", "read")]

    def _call(self, op, flow_id):
        with self.lock:
            self.calls.append((op, flow_id))
        if flow_id in self.fail:
            raise self.fail[flow_id]

    def upsert(self, source, namespace, flow_id):
        self._call("upsert", flow_id)
        revision = self.existing.get(flow_id, 0) + 1
        self.existing[flow_id] = revision
        return Upserted(
            "created" if revision == 1 else "updated", RemoteFlow(namespace, flow_id, revision)
        )

    def update_flow(self, namespace, flow_id, source):
        self._call("update", flow_id)
        if flow_id not in self.existing:
            raise NotFoundError("gone", status=404, method="PUT", path="/x")
        self.existing[flow_id] += 1
        return RemoteFlow(namespace, flow_id, self.existing[flow_id])

    def delete_flow(self, namespace, flow_id):
        self._call("delete", flow_id)
        if self.existing.pop(flow_id, None) is None:
            raise NotFoundError("gone", status=404, method="DELETE", path="/x")


def change(action, flow_id, source="", revision=None):
    return Change(action, FlowRef("main", "ns", flow_id), source=source, server_revision=revision)


def caller_of(target):
    return f"id: caller\nnamespace: ns\ntasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: ns\n    flowId: {target}\n"
