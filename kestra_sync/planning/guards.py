"""The guards a plan applies once, over every kind, after git and the server are compared:
what a flow that stays still uses is not deleted (``keep_used``); the one delete cap is
``plan.check_delete_cap``, applied by the pipeline. The per-kind rules (deletion opt-in, the empty-namespace rule, a
failed listing) live where each kind is compared; references between flows in plan.py."""

from __future__ import annotations

from collections.abc import Iterable

from ..models import FLOW, FlowRef, LocalFlow
from .plan import DELETE, UNMANAGED, Change
from .uses import Uses, may_use, uses_of


def keep_used(changes: list[Change], local: Iterable[LocalFlow] = ()) -> None:
    """Turn a planned delete of a namespace file or KV pair into a kept one when a flow that
    stays uses it (uses.py says how a flow names one): deleting it would break that flow at
    run time. What stays is every flow of the plan that is not deleted, with the source it
    will have after the apply. ``local``: the scanned flows, whose parses are reused."""
    targets = [c for c in changes if c.action == DELETE and c.kind != FLOW]
    if not targets:
        return
    parsed = {f.ref: f for f in local if f.ref is not None}
    staying = [c for c in changes if c.kind == FLOW and c.action != DELETE]
    found: dict[FlowRef, Uses] = {}
    for target in targets:
        users = []
        for flow in staying:
            source = flow.source if flow.source is not None else flow.server_source
            if (
                flow.ref.tenant != target.ref.tenant
                or not source
                or not may_use(source, target.ref)
            ):
                continue
            if flow.ref not in found:
                scanned = parsed.get(flow.ref)
                data = scanned.data if scanned is not None and scanned.source == source else None
                found[flow.ref] = uses_of(source, flow.ref.namespace, data)
            how = found[flow.ref].names(target.ref)
            if how:
                users.append(f"{flow.ref} ({how})")
        if users:
            target.action = UNMANAGED
            target.note = (
                f"not deleted: {', '.join(sorted(users))} still "
                f"use{'s' if len(users) == 1 else ''} it (deleting it would break "
                f"{'that flow' if len(users) == 1 else 'them'})"
            )
