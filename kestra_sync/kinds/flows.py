"""Flows as a kind: how a flow change reaches the server (``Writer``), as for namespace files
and KV pairs, so that apply sends every kind through one scheduler. Flows are scanned and
validated by ``rules.validate.check_project`` and compared by ``planning.plan.build_plan``
(revisions, Subflow references, ownership), which a digest comparison cannot do.

Convergence: a create goes through the client's upsert (a 422 "already exists" becomes an
update), an update whose flow vanished since the plan becomes a create, and a delete of a flow
that is already gone counts as done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NotFoundError
from ..models import FLOW
from .base import Comparisons, KindBase, KindClient, Written

if TYPE_CHECKING:
    from ..planning.plan import Change


class Flows(KindBase):
    name = FLOW
    noun = "flow"
    undeclared_note = "not managed by git (deletion is off: --delete would remove it)"
    target_prefix = ""  # a flow's target is NAMESPACE/ID
    target_example = "company.team/orders-etl"
    write_phase = 1  # after the namespace files and KV pairs it may read

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
