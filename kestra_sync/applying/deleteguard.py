"""The delete guard: which planned deletes must not run, decided once every write of an apply
has its outcome, for every kind (README "What kestra-sync guarantees"):

- nothing is deleted after a failed or skipped write (the server is between two states: the
  old callers of a flow being deleted may still be live). Terraform stops there too;
- the server is read again right before deleting: a flow, namespace file or KV pair that
  changed since the plan is not deleted, nor one that a flow now on the server still uses (a
  Subflow that calls it, a ``read()``, a ``kv()``..., planning/uses.py), whoever wrote that
  flow meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import KestraSyncError
from ..models import FLOW, FlowRef
from ..planning.guards import keep_used
from ..planning.plan import CREATE, DELETE, UNCHANGED, UPDATE, Change, Plan, Scope, keep_referenced
from ..planning.references import referenced_flows
from .scheduler import DONE

CHANGED_SINCE_PLAN = "not attempted: changed on the server since the plan"


def delete_guard(
    plan: Plan,
    outcomes: Mapping[FlowRef, Any],
    deletes: list[FlowRef],
    client,
    parallelism: int,
    depths: dict[FlowRef, int] | None = None,
) -> dict[FlowRef, str]:
    """Which deletes must not run, and why; called once every write has its outcome.
    ``depths`` is filled with the order of the flow deletes (callers first, delete_depths)."""
    writes = [o for o in outcomes.values() if o.change.action in (CREATE, UPDATE)]
    unwritten = [o for o in writes if o.status != DONE]
    if unwritten:
        names = sorted(str(o.change.ref) for o in unwritten)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        why = (
            f"not attempted: nothing is deleted after a failed or skipped write ({shown}); "
            "a re-run converges"
        )
        return {ref: why for ref in deletes}
    changes = [outcomes[r].change for r in deletes]
    return _blocked_deletes(plan, changes, client, parallelism, {} if depths is None else depths)


def _scopes(plan: Plan, deletes: list[Change]) -> list[Scope]:
    """The flows to read again: the plan's scopes, and the namespace (with its children, which
    read a parent's KV pairs by inheritance) of each file or KV pair to delete."""
    scopes = list(plan.scopes) or list(
        {Scope(c.ref.tenant, c.ref.namespace) for c in deletes if c.kind == FLOW}
    )
    for change in deletes:
        # A scope that covers the namespace but not its children (git has flows there) does
        # not show the child namespaces' flows, which read its KV pairs too.
        # A tenant's resource (a dashboard, no namespace) is used by no flow: nothing to read.
        if (
            change.kind != FLOW
            and change.ref.namespace
            and not any(
                s.tenant == change.ref.tenant
                and s.include_children
                and s.covers(change.ref.namespace)
                for s in scopes
            )
        ):
            scopes.append(Scope(change.ref.tenant, change.ref.namespace, include_children=True))
    return sorted(set(scopes), key=lambda s: (s.tenant, s.namespace, s.include_children))


def _blocked_deletes(
    plan: Plan, deletes: list[Change], client, parallelism: int, depths: dict[FlowRef, int]
) -> dict[FlowRef, str]:
    """Read the server again right before deleting; return the deletes that must not run and
    why."""
    from ..planning.snapshot import read_snapshot

    try:
        snapshot = read_snapshot(client, _scopes(plan, deletes), parallelism=parallelism)
        blocked = _changed_resources(plan, deletes, client, parallelism)
    except KestraSyncError as err:
        why = f"not attempted: could not read the server again before deleting: {err.message}"
        return {c.ref: why for c in deletes}
    for listing in snapshot.failed():
        for change in deletes:
            if change.ref.tenant == listing.scope.tenant and listing.scope.covers(
                change.ref.namespace
            ):
                blocked[change.ref] = (
                    f"not attempted: could not read namespace {listing.scope.namespace} again "
                    f"before deleting: {listing.error}"
                )
    now = {f.ref: f for lst in snapshot.listings if not lst.error for f in lst.flows}
    planned = {c.ref: c for c in deletes if c.ref not in blocked}
    for ref, change in planned.items():
        current = now.get(ref)
        if ref.kind == FLOW and current is not None and current.revision != change.server_revision:
            blocked[ref] = (
                f"{CHANGED_SINCE_PLAN} (revision {change.server_revision} -> {current.revision})"
            )
    # What stays on the server after the deletes, with its source now: does it use a target?
    staying = [
        Change(
            DELETE if f.ref in planned and f.ref not in blocked else UNCHANGED,
            f.ref,
            server_source=f.source,
        )
        for f in now.values()
        if not f.deleted
    ]
    staying += [
        Change(DELETE, c.ref) for c in planned.values() if c.kind != FLOW and c.ref not in blocked
    ]
    keep_referenced(staying, referenced_flows)
    keep_used(staying)
    depths.update(delete_depths([c for c in staying if c.action == DELETE and c.kind == FLOW]))
    for change in staying:
        if change.ref in planned and change.action != DELETE and change.ref not in blocked:
            blocked[change.ref] = "not attempted: " + change.note
    return blocked


def _changed_resources(
    plan: Plan, deletes: list[Change], client, parallelism: int
) -> dict[FlowRef, str]:
    """Files and KV pairs to delete whose content moved since the plan, or whose namespace
    cannot be listed again (a listing that raises stops every delete)."""
    from ..kinds import read_listings
    from ..planning.resourceplan import where_of

    wanted = {(c.kind, c.ref.tenant, c.ref.namespace) for c in deletes if c.kind != FLOW}
    if not wanted:
        return {}
    scopes = [s for s in plan.kind_scopes if tuple(s[:3]) in wanted]
    scopes += [(*w, True) for w in sorted(wanted - {tuple(s[:3]) for s in scopes})]
    listings = read_listings(client, scopes, parallelism=parallelism)
    failed = {(lst.kind, lst.tenant, lst.namespace): lst.error for lst in listings if lst.error}
    now = {item.ref: item for lst in listings if not lst.error for item in lst.items}
    blocked: dict[FlowRef, str] = {}
    for change in deletes:
        if change.kind == FLOW:
            continue
        error = failed.get((change.kind, change.ref.tenant, change.ref.namespace))
        current = now.get(change.ref)
        if error:
            where = where_of(change.ref.tenant, change.ref.namespace)
            blocked[change.ref] = (
                f"not attempted: could not list {where} again before deleting: {error}"
            )
        elif current is not None and current.digest != change.server_digest:
            blocked[change.ref] = f"{CHANGED_SINCE_PLAN} (its content changed)"
    return blocked


def delete_depths(deleted: list[Change]) -> dict[FlowRef, int]:
    """For flows deleted together, the order their deletes go in: a flow after every deleted
    flow that calls it (its depth in the caller graph), so that when a caller's delete fails
    the flows it calls are not deleted (the scheduler runs no later stage after a failure).
    A cycle is cut where it closes."""
    refs = {c.ref for c in deleted}
    callers: dict[FlowRef, set[FlowRef]] = {}
    for change in deleted:
        if change.server_source is None:
            continue
        for called in referenced_flows(
            change.server_source, change.ref.tenant, change.ref.namespace
        ):
            if called in refs and called != change.ref:
                callers.setdefault(called, set()).add(change.ref)
    depths: dict[FlowRef, int] = {}
    for start in sorted(callers):
        stack, path = [(start, iter(sorted(callers[start])))], {start}
        while stack:  # depth-first, iterative: a long chain of callers never overflows
            node, pending = stack[-1]
            nxt = next((r for r in pending if r not in path and r not in depths), None)
            if nxt is not None:
                path.add(nxt)
                stack.append((nxt, iter(sorted(callers.get(nxt, ())))))
                continue
            stack.pop()
            path.discard(node)
            depths[node] = 1 + max(
                (depths.get(r, -1) for r in callers.get(node, ()) if r in depths), default=-1
            )
    return depths
