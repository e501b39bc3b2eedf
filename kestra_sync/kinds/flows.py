"""Flows as a kind, through the seam of ``base`` as the others:

- ``scan``: the flow directories scanned and validated offline (``rules.validate``'s project
  check), every other kind's scan with them, so that their problems are judged together;
- ``read``: one namespace's live flows and their revisions (the cheap paged search: apply
  lists a namespace again with it before its first write there). A plan reads the sources
  too, per scope and with child namespaces (``planning.snapshot``);
- ``compare``: by source and revision (``planning.plan.build_plan``: revisions, Subflow
  references, ownership), which a digest comparison cannot do;
- ``write``/``delete``: below, through apply's one scheduler.

Convergence: a create goes through the client's upsert (a 422 "already exists" becomes an
update), an update whose flow vanished since the plan becomes a create, and a delete of a flow
that is already gone counts as done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..models import FLOW, LocalFlow
from .base import Comparisons, KindBase, KindClient, LocalItem, LocalScan, RemoteItem, Written

if TYPE_CHECKING:
    from ..models import Change
    from ..rules.validate import ProjectCheck


@dataclass
class FlowScan(LocalScan):
    """Git's flows (``items``: payload the source, no digest: flows are compared by source),
    and the project check they come from (every diagnostic, the other kinds' scans)."""

    check: ProjectCheck | None = None

    @property
    def flows(self) -> list[LocalFlow]:
        return self.check.flows if self.check is not None else []


class Flows(KindBase):
    name = FLOW
    noun = "flow"
    undeclared_note = "not managed by git (deletion is off: --delete would remove it)"
    target_prefix = ""  # a flow's target is NAMESPACE/ID
    target_example = "company.team/orders-etl"
    write_phase = 1  # after the namespace files and KV pairs it may read

    def scan(self, settings: Any, *, version: str | None = None) -> FlowScan:
        """Scan and validate for ``version`` (None: every supported one)."""
        from ..rules.validate import check_project
        from . import KINDS

        check = check_project(settings, version=version, kinds=list(KINDS.values()))
        return FlowScan(
            [LocalItem(f.ref, str(f.path), f.source, None) for f in check.flows if f.ref],
            check.diagnostics,
            {(f.tenant, f.namespace) for f in check.flows if f.namespace is not None},
            check=check,
        )

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        """The namespace's live flows (no source; each revision stands for its content:
        Kestra makes a new one for a different source, knowledge.same_source)."""
        found = []
        for flow in client.search_flows(namespace):
            if not flow.deleted:
                flow.tenant = tenant
                found.append(RemoteItem(flow.ref, flow, str(flow.revision)))
        return found

    def compare(self, comparisons: Comparisons) -> None:
        """By source and revision, not by digest: Kestra keeps a revision when the source is
        the same, a flow's references to other flows and its ownership label are guards."""
        comparisons.by_source()

    def write(self, client: KindClient, change: Change) -> Written:
        ref, source = change.ref, change.source or ""
        if change.action == "create":
            result = client.upsert(source, ref.namespace, ref.id)
            return Written(result.action, result.flow.revision)
        try:
            flow = client.update_flow(ref.namespace, ref.id, source)
        except NotFoundError:  # deleted since the plan: create it again
            result = client.upsert(source, ref.namespace, ref.id)
            return Written(result.action, result.flow.revision)
        # Kestra keeps the revision when the source is the same (knowledge.same_source).
        same = change.server_revision is not None and flow.revision == change.server_revision
        return Written("unchanged" if same else "updated", flow.revision)

    def delete(self, client: KindClient, change: Change) -> Written:
        try:
            client.delete_flow(change.ref.namespace, change.ref.id)
        except NotFoundError:
            return Written("already deleted")
        return Written("deleted")
