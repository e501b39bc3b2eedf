"""Compare git with the server for the kinds other than flows (namespace files, KV pairs).
Pure: no I/O; each kind's ``describe`` is pure too.

The rules are the flows' (plan.py), by content digest instead of source:
- only namespaces git declares something of the kind for are read and compared;
- a namespace whose listing failed changes in nothing (and the plan fails);
- deletion needs --delete, a namespace the kind allows deletes in (KV: ``managed: true``),
  and git to hold at least one item of the kind there unless --allow-empty-namespace;
- the --max-deletes cap counts the deletes of every kind together (plan.check_delete_cap,
  applied once by the pipeline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..kinds import facts_of
from ..kinds.base import Kind, KindListing, LocalItem, LocalScan, RemoteItem, facts
from .plan import CREATE, DELETE, UNCHANGED, UNMANAGED, UPDATE, Change, Plan
from .targeting import is_targeted

KEPT_PREFIX = "kept: "  # a server item kept because the scan never reads it (saved in plans)


def where_of(tenant: str, namespace: str) -> str:
    """ "namespace N" (and its tenant unless main), or "tenant T" for a tenant's resources."""
    if not namespace:  # a tenant's resources (dashboards)
        return f"tenant {tenant}"
    return "namespace " + namespace + ("" if tenant == "main" else f" (tenant {tenant})")


def compare_kind(
    kind: Kind,
    scan: LocalScan,
    listings: list[KindListing],
    *,
    delete: bool = False,
    allow_empty_namespace: bool | set[str] = False,
) -> tuple[list[Change], list[str]]:
    """``allow_empty_namespace``: a bool, or the set of tenants it is allowed for."""
    changes: list[Change] = []
    errors: list[str] = []
    by_ns = {(lst.tenant, lst.namespace): lst for lst in listings if lst.kind == kind.name}
    local_by_ns: dict[tuple[str, str], dict] = {}
    for item in scan.items:
        local_by_ns.setdefault((item.ref.tenant, item.ref.namespace), {})[item.ref] = item
    for tenant, namespace in sorted(scan.namespaces):
        listing = by_ns.get((tenant, namespace))
        if listing is None:
            continue
        local = local_by_ns.get((tenant, namespace), {})
        # A server with no API for the kind holds none: an error only where git has some.
        why = listing.error or (listing.unsupported if local else None)
        if why:
            errors.append(
                f"could not read the {facts(kind).plural} of {where_of(tenant, namespace)}: "
                f"{why}; none of them will be created, updated or deleted"
            )
            continue
        remote = {item.ref: item for item in listing.items}
        for ref, item in sorted(local.items()):
            compared = _compare_item(kind, item, remote.get(ref))
            if compared is not None:
                changes.append(compared)
        deletable = scan.deletable is None or (tenant, namespace) in scan.deletable
        emptying = not local and not (
            allow_empty_namespace
            if isinstance(allow_empty_namespace, bool)
            else tenant in allow_empty_namespace
        )
        never_read = scan.never_read.get((tenant, namespace))
        changes += [
            _undeclared(kind, ref, server, deletable, delete, emptying, never_read)
            for ref, server in sorted(remote.items())
            if ref not in local
        ]
    return changes, errors


def _compare_item(kind: Kind, item: LocalItem, server: RemoteItem | None) -> Change | None:
    """An item git declares: a create, an update (described) or unchanged, by digest."""
    if item.digest is None:
        # Declared by name only (a sensitive KV key with no value in git): the server's value
        # is left as it is, neither written, shown nor deleted, and not even its digest is
        # recorded (a saved plan does not depend on it).
        return None if server is None else Change(UNCHANGED, item.ref, path=item.path)
    change = Change(
        CREATE if server is None else UNCHANGED,
        item.ref,
        path=item.path,
        payload=item.payload,
        digest=item.digest,
        server_digest=server.digest if server else None,
    )
    if server is not None and server.digest != item.digest:
        change.action = UPDATE
        change.server_payload = server.payload
    if change.action != UNCHANGED:
        described = kind.describe(item, server)
        change.summary, change.diff = described.summary, described.diff
    return change


def _undeclared(
    kind: Kind,
    ref,
    server: RemoteItem,
    deletable: bool,
    delete: bool,
    emptying: bool,
    never_read: Callable[[str], str | None] | None,
) -> Change:
    """An item only the server has: deleted, or kept with the reason (the scan never reads
    git's copy, deletion is not allowed there or not on, the namespace would be emptied)."""
    change = Change(UNMANAGED, ref, server_digest=server.digest)
    why_kept = never_read(ref.id) if never_read else None
    if why_kept:
        change.note = KEPT_PREFIX + why_kept
    elif not deletable:
        change.note = kind.undeclared_note
    elif not delete:
        change.note = "not in git (deletion is off: --delete would remove it)"
    elif emptying:
        change.note = (
            f"not deleted: git has no {kind.noun} in this "
            f"{'namespace' if ref.namespace else 'tenant'} (--allow-empty-namespace allows it)"
        )
    else:
        change.action = DELETE
        change.summary = kind.describe(None, server).summary
    return change


def _plural(name: str) -> str:
    found = facts_of(name)
    return found.plural if found is not None else f"{name} items"


def resource_drift(plan: Plan, listings: list[KindListing]) -> list[str]:
    """What moved on the server since a saved plan, for the kinds other than flows."""
    drift = [
        f"could not read the {_plural(lst.kind)} of {where_of(lst.tenant, lst.namespace)}: "
        f"{lst.error}"
        for lst in listings
        if lst.error
    ]
    now = {item.ref: item for lst in listings if not lst.error for item in lst.items}
    planned = {c.ref for c in plan.changes if c.kind != "flow"}
    for change in sorted((c for c in plan.changes if c.kind != "flow"), key=lambda c: c.ref):
        if change.action == UNCHANGED and change.digest is None:
            continue  # left to the server (a sensitive KV key): whatever it holds now is fine
        current = now.get(change.ref)
        if change.server_digest is None and current is not None:
            drift.append(f"{change.ref} now exists on the server")
        elif change.server_digest is not None and current is None:
            drift.append(f"{change.ref} was deleted on the server since the plan")
        elif current is not None and current.digest != change.server_digest:
            drift.append(f"{change.ref} changed on the server since the plan")
    read = {(lst.kind, lst.tenant, lst.namespace) for lst in listings}
    for ref in sorted(set(now) - planned):
        # A partial plan says nothing about the files and KV pairs it did not target.
        if (ref.kind, ref.tenant, ref.namespace) in read and is_targeted(ref, plan.targets):
            drift.append(f"{ref} appeared on the server since the plan")
    return drift


def without_applied(plan: Plan, listings: list[KindListing]) -> Plan:
    """Changes the server already reflects become unchanged (a re-run of a saved plan after a
    partial failure converges instead of being called stale)."""
    if any(lst.error for lst in listings):
        return plan
    now = {item.ref: item for lst in listings for item in lst.items}
    changes = []
    for change in plan.changes:
        if change.kind != "flow":
            current = now.get(change.ref)
            if change.action == DELETE and current is None:
                continue
            if (
                change.action in (CREATE, UPDATE)
                and current is not None
                and current.digest == change.digest
            ):
                change = replace(
                    change, action=UNCHANGED, server_digest=current.digest, diff="", summary=[]
                )
        changes.append(change)
    return replace(plan, changes=changes)
