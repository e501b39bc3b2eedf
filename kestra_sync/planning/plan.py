"""Local flows + a server snapshot -> a Plan. Pure: no I/O, no clock, no network.

The rules a reviewer relies on live here:
- Scope: a plan only touches namespaces that git has flows in, plus the configured managed
  namespaces (optionally with their children). Nothing outside scope is read or changed.
- Equality is the server's own (Kestra stores the source verbatim and ignores only its first
  ``revision: N`` line), relaxed only for line endings and trailing whitespace where they
  provably leave the parsed flow as it is (sameness.py).
- Deletion is opt-in, never from a listing that failed, never in a namespace that has no flow in
  git unless explicitly allowed, and never more than ``max_deletes`` at once.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import kinds
from ..models import (  # the plan's item and its actions are plain data (models.py)
    ACTIONS,
    CHANGING,
    CREATE,
    DELETE,
    FLOW,
    UNCHANGED,
    UNMANAGED,
    UPDATE,
    Change,
    FlowRef,
    LocalFlow,
    RemoteFlow,
)
from .sameness import diff_text, normalize_source, sources_equal
from .targeting import is_targeted


@dataclass(frozen=True)
class Scope:
    """One namespace to read from the server, optionally with its child namespaces."""

    tenant: str
    namespace: str
    include_children: bool = False

    def covers(self, namespace: str) -> bool:
        if namespace == self.namespace:
            return True
        return self.include_children and namespace.startswith(self.namespace + ".")


@dataclass
class NamespaceListing:
    """What the server holds in one scope, or why it could not be read."""

    scope: Scope
    flows: list[RemoteFlow] = field(default_factory=list)
    error: str | None = None  # set when the listing failed or was partial: no deletes then


@dataclass
class Snapshot:
    listings: list[NamespaceListing] = field(default_factory=list)

    def failed(self) -> list[NamespaceListing]:
        return [listing for listing in self.listings if listing.error]


@dataclass
class Plan:
    changes: list[Change]
    errors: list[str] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)
    # (kind, tenant, namespace, deletable) read for the kinds other than flows
    # (kestra_sync.kinds); deletable: server items git does not declare may be deleted there.
    kind_scopes: list[tuple[str, str, str, bool]] = field(default_factory=list)
    # `--target NAMESPACE/ID` or `NAMESPACE/*`: a partial plan holds only those flows (empty:
    # everything in scope). See targeting.py.
    targets: list[str] = field(default_factory=list)
    # tenant -> namespaces under the repository's roots with flows on the server that the plan
    # did not read (a namespace whose folder left git is one of them; it is named, never
    # touched), and the command that would remove them (pipeline.py).
    other_namespaces: dict[str, list[str]] = field(default_factory=dict)
    retire_commands: dict[str, str] = field(default_factory=dict)
    # Flows git moved to another id or namespace since the deployed commit (renames.Rename).
    renames: list[Any] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTIONS, 0)
        for change in self.changes:
            counts[change.action] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return any(c.action in CHANGING for c in self.changes)

    def by_tenant_namespace(self) -> dict[str, dict[str, list[Change]]]:
        grouped: dict[str, dict[str, list[Change]]] = {}
        # In a namespace: its flows, then its files, then its KV pairs.
        for change in sorted(
            self.changes,
            key=lambda c: (c.ref.tenant, c.ref.namespace, c.kind != "flow", c.kind, c.ref.id),
        ):
            grouped.setdefault(change.ref.tenant, {}).setdefault(change.ref.namespace, []).append(
                change
            )
        return grouped


def scopes_for(
    local: Iterable[LocalFlow],
    managed: dict[str, list[str]] | None = None,
    *,
    include_children: bool = False,
) -> list[Scope]:
    """Namespaces to read: those of the local flows plus the managed ones, per tenant.

    A namespace already covered by a parent scope that includes children is not listed twice.
    """
    wanted: set[tuple[str, str]] = {
        (f.tenant, f.namespace) for f in local if f.namespace is not None
    }
    for tenant, namespaces in (managed or {}).items():
        wanted.update((tenant, ns) for ns in namespaces)
    scopes = [Scope(t, ns, include_children) for t, ns in sorted(wanted)]
    if include_children:
        scopes = [
            s
            for s in scopes
            if not any(
                o is not s and o.tenant == s.tenant and o.covers(s.namespace) for o in scopes
            )
        ]
    return scopes


def unified_diff(server: str, local: str, server_label: str, local_label: str) -> str:
    """A diff without the differences a plan ignores; when those are all there is (trailing
    whitespace inside a block scalar), a diff of the texts as they are, with ``⏎`` marking
    where each changed line ends so that the whitespace can be seen."""
    text = _diff(normalize_source(server), normalize_source(local), server_label, local_label)
    if text:
        return text
    return _diff(
        _mark_ends(diff_text(server)), _mark_ends(diff_text(local)), server_label, local_label
    )


def _mark_ends(text: str) -> str:
    return "\n".join(line + "⏎" if line != line.rstrip() else line for line in text.split("\n"))


def _diff(server: str, local: str, server_label: str, local_label: str) -> str:
    lines = difflib.unified_diff(
        server.splitlines(keepends=False),
        local.splitlines(keepends=False),
        fromfile=server_label,
        tofile=local_label,
        lineterm="",
        n=3,
    )
    return "\n".join(lines)


def build_plan(
    local: list[LocalFlow],
    snapshot: Snapshot,
    *,
    delete: bool = False,
    allow_empty_namespace: bool | set[str] = False,
    max_deletes: int | None = 10,
    summarize=None,
    references=None,
    owns=None,
) -> Plan:
    """Compare git (``local``, already validated: every flow has a namespace and an id) with
    the server (``snapshot``).

    ``summarize(server_source, local_source) -> (lines, formatting_only)`` describes an update
    in words; ``references(source, tenant, namespace) -> set[FlowRef]`` names the flows a
    source calls or listens to. Both are passed in so that this module stays free of YAML and
    deepdiff. ``allow_empty_namespace`` is a bool, or a set of the tenants it is allowed for
    (a `tenants:` map scopes it per tenant). ``owns(remote) -> reason or None``
    (ownership.py) limits deletion to the flows git owns.
    """
    plan = Plan(changes=[], scopes=[listing.scope for listing in snapshot.listings])
    local_by_ref = {f.ref: f for f in local if f.ref is not None}
    failed_scopes = [listing.scope for listing in snapshot.failed()]
    for listing in snapshot.failed():
        plan.errors.append(
            f"could not read namespace {listing.scope.namespace}"
            + ("" if listing.scope.tenant == "main" else f" (tenant {listing.scope.tenant})")
            + f": {listing.error}; nothing in it will be created, updated or deleted"
        )
    server_by_ref = _server_flows(snapshot)
    for ref, flow in sorted(local_by_ref.items()):
        if not any(s.tenant == ref.tenant and s.covers(ref.namespace) for s in failed_scopes):
            plan.changes.append(_compare_flow(ref, flow, server_by_ref.get(ref), summarize))
    namespaces_in_git = {(f.tenant, f.namespace) for f in local_by_ref.values()}
    for ref, remote in sorted(server_by_ref.items()):
        if ref not in local_by_ref:
            in_git = (ref.tenant, ref.namespace) in namespaces_in_git
            emptying = not in_git and not _allowed(allow_empty_namespace, ref.tenant)
            plan.changes.append(_server_only(ref, remote, delete, emptying, owns))
    if references is not None:
        keep_referenced(plan.changes, references)
    check_delete_cap(plan, max_deletes)
    return plan


def _server_flows(snapshot: Snapshot) -> dict[FlowRef, RemoteFlow]:
    """The live flows of every listing that could be read."""
    server_by_ref: dict[FlowRef, RemoteFlow] = {}
    for listing in snapshot.listings:
        if listing.error:
            continue
        for remote in listing.flows:
            if not remote.deleted:
                server_by_ref[remote.ref] = remote
    return server_by_ref


def _compare_flow(ref: FlowRef, flow: LocalFlow, found: RemoteFlow | None, summarize) -> Change:
    """A flow git has: a create, an update (with its diff and summary) or unchanged."""
    path = str(flow.path)
    if found is None:
        return Change(CREATE, ref, path=path, source=flow.source)
    change = Change(
        UNCHANGED,
        ref,
        path=path,
        source=flow.source,
        server_source=found.source,
        server_revision=found.revision,
    )
    if found.source is None or not sources_equal(flow.source, found.source):
        change.action = UPDATE
        if found.source is not None:
            change.diff = unified_diff(
                found.source, flow.source, f"server {ref} (revision {found.revision})", path
            )
            if summarize is not None:
                change.summary, change.formatting_only = summarize(found.source, flow.source)
    return change


def _server_only(ref: FlowRef, remote: RemoteFlow, delete: bool, emptying: bool, owns) -> Change:
    """A flow only the server has: deleted, or kept with the reason (deletion off, the
    namespace would be emptied, not owned)."""
    change = Change(UNMANAGED, ref, server_source=remote.source, server_revision=remote.revision)
    if not delete:
        change.note = "not managed by git (deletion is off: --delete would remove it)"
    elif emptying:
        change.note = (
            "not deleted: git has no flow in this namespace (--allow-empty-namespace allows it)"
        )
    elif owns is not None and (why := owns(remote)):
        change.note = why
    else:
        change.action = DELETE
        if owns is not None:
            change.note = "deleted: it carries the ownership label, git put it there"
    return change


def check_delete_cap(plan: Plan, max_deletes: int | None) -> None:
    """``--max-deletes``: the deletes of every kind together; a plan over it applies nothing."""
    if max_deletes is None:
        return
    moved = {r.old for r in plan.renames}  # a rename's delete: git shows where it went
    deletes = [c for c in plan.changes if c.action == DELETE and c.ref not in moved]
    if len(deletes) <= max_deletes:
        return
    where = "flow directory" if all(c.kind == FLOW for c in deletes) else "directory"
    plan.errors.append(
        f"the plan would delete {_counted(deletes)}, more than the limit of {max_deletes}; "
        f"check that the {where} is complete, then raise --max-deletes if intended"
    )


def _counted(deletes: list[Change]) -> str:
    """ "3 flows", or "1 flow and 2 namespace files together": each kind's count, in the
    order of the kinds."""
    counts = Counter(c.kind for c in deletes)
    parts = []
    for name, count in sorted(counts.items(), key=lambda kv: _kind_order(kv[0])):
        facts = kinds.facts_of(name)
        if facts is None:  # a kind this version does not know (an old saved plan)
            parts.append(f"{count} {name}")
        else:
            parts.append(f"{count} {facts.noun if count == 1 else facts.plural}")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1] + " together"


def _kind_order(name: str) -> int:
    names = [k.name for k in kinds.every_kind()]
    return names.index(name) if name in names else len(names)


def _allowed(setting: bool | set[str] | frozenset[str], tenant: str) -> bool:
    return tenant in setting if isinstance(setting, (set, frozenset)) else bool(setting)


def keep_referenced(changes: list[Change], references) -> None:
    """Turn a planned delete into a kept flow when a flow that stays calls or listens to it:
    deleting it would break that flow (a Subflow task whose target is gone fails at run time).
    What stays is every flow of the plan except the deleted ones, with the source it will have
    after the apply (git's for creates and updates, the server's otherwise). A kept flow keeps
    what it references too, so the rule runs until nothing changes."""
    if not any(c.action == DELETE for c in changes):
        return
    refs: dict[FlowRef, set[FlowRef]] = {}
    for change in changes:
        source = change.source if change.source is not None else change.server_source
        # Parse only what can hold a reference: most flows call no other flow. (A backslash:
        # a double-quoted key could spell flowId with an escape.)
        if source and ("flowId" in source or "\\" in source):
            refs[change.ref] = references(source, change.ref.tenant, change.ref.namespace)
    while True:
        targets = {c.ref for c in changes if c.action == DELETE}
        callers: dict[FlowRef, list[FlowRef]] = {}
        for ref, called in refs.items():
            if ref not in targets:
                for target in called & targets:
                    callers.setdefault(target, []).append(ref)
        if not callers:
            return
        for change in changes:
            if change.ref in callers:
                names = sorted(callers[change.ref])
                change.action = UNMANAGED
                change.note = (
                    f"not deleted: {', '.join(map(str, names))} still "
                    f"reference{'s' if len(names) == 1 else ''} it "
                    f"(deleting it would break {'that flow' if len(names) == 1 else 'them'})"
                )


def find_drift(plan: Plan, snapshot: Snapshot) -> list[str]:
    """What changed on the server since a saved plan was made (empty = the plan is current).

    A saved plan records the revision of every flow it read; applying it when any of them has
    moved would apply a diff nobody reviewed (Terraform's "Saved plan is stale").
    """
    drift = [
        f"could not read namespace {lst.scope.namespace}: {lst.error}" for lst in snapshot.failed()
    ]
    now = {
        f.ref: f for lst in snapshot.listings if not lst.error for f in lst.flows if not f.deleted
    }
    planned = {c.ref for c in plan.changes}
    for change in sorted(plan.changes, key=lambda c: c.ref):
        current = now.get(change.ref)
        if change.server_revision is None:
            if current is not None:
                drift.append(f"{change.ref} now exists on the server (revision {current.revision})")
        elif current is None:
            drift.append(f"{change.ref} was deleted on the server since the plan")
        elif current.revision != change.server_revision:
            drift.append(
                f"{change.ref} changed on the server since the plan "
                f"(revision {change.server_revision} -> {current.revision})"
            )
    for ref in sorted(set(now) - planned):
        if not is_targeted(ref, plan.targets):
            continue  # a partial plan says nothing about the flows it did not target
        drift.append(f"{ref} appeared on the server since the plan (revision {now[ref].revision})")
    return drift
