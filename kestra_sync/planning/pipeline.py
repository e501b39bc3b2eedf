"""The library entry points behind `plan`, `apply` and `pull`, usable from Python:

    settings = load_settings({"url": "http://localhost:8080"})
    client = KestraClient.from_settings(settings)
    result = make_plan(settings, client)
    outcome = apply_plan(result.plan, client, local=result.local)

Each step is one call into a module that does one job: scan + validate (flows, validate),
read the server (snapshot), compare (plan), write (apply).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import KestraSyncError, PlanError
from ..kinds.base import KindListing, LocalScan
from ..models import DEFAULT_PARALLELISM, Diagnostic, LocalFlow
from ..settings.config import Settings
from .options import PlanOptions, plan_options, read_options
from .plan import (
    CREATE,
    UNCHANGED,
    UNMANAGED,
    UPDATE,
    Plan,
    Snapshot,
    check_delete_cap,
    find_drift,
    scopes_for,
)
from .resourceplan import KEPT_PREFIX
from .snapshot import read_snapshot


class InvalidFlowsError(KestraSyncError):
    """Local flows failed offline validation: nothing was sent to the server."""

    def __init__(self, diagnostics: list[Diagnostic], version: str | None = None):
        errors = [d for d in diagnostics if d.is_error]
        first = errors[0]
        where = f"{first.path}:{first.line}" if first.line else first.path
        command = "kestra-sync validate" + (f" --kestra-version {version}" if version else "")
        super().__init__(
            f"{len(errors)} error(s) in local files, first: {where}: {first.message}",
            hint=f"run `{command}` for every problem; "
            + ("no flow was sent to the server" if version else "nothing was sent to the server"),
        )
        self.diagnostics = diagnostics


@dataclass
class PlanResult:
    plan: Plan
    meta: dict[str, Any] = field(default_factory=dict)
    local: list[LocalFlow] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    target: Any = None  # target.KestraTarget: which Kestra version's rules were followed


def load_local_flows(
    settings: Settings, client=None
) -> tuple[list[LocalFlow], list[Diagnostic], Any]:
    """Scan every configured directory and validate offline; raise if any flow is invalid.
    Returns the flows, the diagnostics (warnings) and the ``target.KestraTarget``."""
    flows, warnings, target, _ = load_local(settings, client)
    return flows, warnings, target


def load_local(
    settings: Settings, client=None
) -> tuple[list[LocalFlow], list[Diagnostic], Any, dict[str, LocalScan]]:
    """Git's side, scanned once: the flows (validated offline) and every other kind's scan.

    The rules follow the pinned Kestra version, else the server's (``client``), else every
    supported version. Flows are checked before the server is asked anything: a flow that the
    pinned version (or every version) refuses stops the run with no request sent. A namespace
    file or kv.yml that cannot be read or is refused stops it too: a plan must never delete
    what a scan could not see."""
    from ..kinds import FLOWS
    from ..rules import kestraversion as versions
    from ..rules.validate import rejudge

    target = versions.pinned(settings)
    check = FLOWS.scan(settings, version=target.version).check
    assert check is not None
    if not check.ok:
        raise InvalidFlowsError(check.diagnostics)
    # Nothing the version decides (no flow, no dashboard or path judged by it): no need to ask.
    if client is not None and (check.flows or check.resource_versioned):
        target = versions.resolve(settings, client)
        if target.version is not None and target.origin.startswith("reported"):
            check = rejudge(check, target.version)
            if not check.ok:
                raise InvalidFlowsError(check.diagnostics, target.version)
    return check.flows, check.diagnostics, target, check.resources


def plan_meta(settings: Settings, client, target: Any = None) -> dict[str, Any]:
    from ..settings.environments import describe as environment_meta
    from ..source.gitinfo import git_info

    first_dir = next(iter(settings.directories().values()))
    return {
        "created_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "server": client.display_url,
        "git": git_info(Path(first_dir)),
        "kestra_version": target.to_dict() if target is not None else None,
        "environment": environment_meta(settings),
        "options": plan_options(settings),
    }


def make_plan(
    settings: Settings,
    client,
    local: list[LocalFlow] | None = None,
    scans: dict[str, LocalScan] | None = None,
    *,
    targets: list[str] | None = None,
    files: list[Path] | None = None,
    name_leftovers: bool = True,
) -> PlanResult:
    """Ask the server its version (one request; a pinned version wins), scan and validate for
    that version (unless ``local`` is given), read the server per namespace, and compare, for
    every kind. ``scans``: the namespace files and KV pairs to plan, already as the
    environment deploys them (`diff` passes another server's content); default: git's, from
    the one scan validation made. With ``targets`` (``--target``) or ``files`` (flow files
    named on the command line), the same plan reduced to what they name (targeting.py).
    ``name_leftovers``: list the server's namespaces that left git (False for `diff`, which
    compares what git manages between two servers)."""
    from ..kinds import every_kind
    from ..kinds import problems as kind_problems
    from ..source.environments import for_environment
    from .renames import caller_warnings, find_renames, protect_state_keys
    from .semantic import summarize
    from .targeting import parse_targets, refuse_widening, targets_from_files

    partial = bool(targets or files)
    if partial:
        refuse_widening(settings)
    warnings: list[Diagnostic] = []
    target = None
    from_git = local is None  # `diff` passes another server's flows: no history to read
    if local is None:
        local, warnings, target, scanned = load_local(settings, client)
    else:
        scanned = None
    env_problems: list[Diagnostic] = []
    if scans is None:
        scans = scanned if scanned is not None else _scan_kinds(settings)
        # The selected environment's overlays and namespace mapping, before anything is planned.
        local, scans, env_problems = for_environment(settings, local, scans, every_kind())
    problems = kind_problems(scans) + env_problems
    if any(d.is_error for d in problems):
        raise InvalidFlowsError(problems)
    if partial:
        named = parse_targets(list(targets or ())) + targets_from_files(
            list(files or ()), local, settings
        )
        targets = sorted(set(named))
    meta = plan_meta(settings, client, target)
    options = read_options(meta["options"])
    if options.delete:
        scans = with_retired_namespaces(scans, local, options.managed)
    scans = protect_state_keys(scans, settings)  # renames.py: apply's own KV record stays
    # renames.py: the flows git moved since the deployed commit (not for `diff`'s flows)
    options.renames, moved = (
        find_renames(settings, client, local, meta["git"]) if from_git else ([], [])
    )
    plan = plan_everything(
        local, scans, options, client, settings.parallelism, summarize, targets=targets or []
    )
    warnings = warnings + moved + caller_warnings(plan, local)
    if name_leftovers:
        warnings = warnings + _name_other_namespaces(plan, client, settings, local, scans)
    return PlanResult(plan, meta, local, warnings, target)


def _scan_kinds(settings: Settings) -> dict[str, LocalScan]:
    from ..kinds import problems, scan_all

    scans = scan_all(settings)
    found = problems(scans)
    if any(d.is_error for d in found):
        raise InvalidFlowsError(found)
    return scans


def plan_everything(
    local: list[LocalFlow],
    scans: dict[str, LocalScan],
    options: PlanOptions,
    client,
    parallelism: int,
    summarize=None,
    *,
    snapshot: Snapshot | None = None,
    listings: list[KindListing] | None = None,
    targets: list[str] | None = None,
) -> Plan:
    """The one way a plan is computed, for `plan`, a partial plan and again for `apply
    plan.json`: the server read for every kind, then each kind's compare step (flows with
    their references and the ownership rule, the others by digest), then the guards that look
    across kinds, then the targets, then the one delete cap. ``snapshot``/``listings``: the
    server as already read (a saved plan's check)."""
    from ..kinds import every_kind
    from .compare import PlanComparisons
    from .guards import keep_used
    from .renames import mark_renames, rename_scopes
    from .targeting import keep_targeted

    if snapshot is None:
        scopes = scopes_for(local, options.managed, include_children=options.include_children)
        scopes += rename_scopes(options.renames, scopes)  # a renamed namespace's old flows
        snapshot = read_snapshot(client, scopes, parallelism=parallelism, local=local)
    plan = Plan(changes=[])
    listings = _read_kinds(plan, scans, client, parallelism, listings)
    comparisons = PlanComparisons(
        plan,
        options,
        local=local,
        snapshot=snapshot,
        scans=scans,
        listings=listings,
        summarize=summarize,
    )
    for kind in every_kind():
        kind.compare(comparisons)
    mark_renames(plan, options.renames, snapshot, options)  # "rename a → b" (renames.py)
    failed = bool(snapshot.failed()) or any(lst.error for lst in listings)
    keep_used(plan.changes, local)
    failed |= _keep_used_by_children(plan, client, parallelism)  # after keep_used: fewer reads
    if targets:
        keep_targeted(plan, targets, failed)
    check_delete_cap(plan, options.max_deletes)
    return plan


def _read_kinds(
    plan: Plan,
    scans: dict[str, LocalScan],
    client,
    parallelism: int,
    listings: list[KindListing] | None,
) -> list[KindListing]:
    """Read the server for the kinds compared by digest, where git declares something of
    them: one request per namespace for files (the export); one listing plus one GET per key
    for KV."""
    from ..kinds import read_listings

    plan.kind_scopes = sorted(
        (name, tenant, namespace, scan.deletable is None or (tenant, namespace) in scan.deletable)
        for name, scan in scans.items()
        for tenant, namespace in scan.namespaces
    )
    # Not added to the flows' scope: a kv.yml or _files alone must not put the server's flows
    # of a namespace in reach of --delete (it takes --namespace, as for any namespace).
    if listings is None:
        listings = read_listings(client, plan.kind_scopes, parallelism=parallelism)
    return listings


def _keep_used_by_children(plan: Plan, client, parallelism: int) -> bool:
    """The plan reads the flows of the namespaces git has flows in; a file or KV pair to
    delete may be used by a flow it did not read: one of a namespace that git holds only
    files or KV for (a flow made in the UI), or, for a KV pair, of a child namespace (Kestra's
    ``kv()`` looks in the flow's namespace, then each parent). Read those flows (one listing
    per such namespace, only to look) and keep what they use, as the apply's delete guard
    does. True when a listing failed: its deletes are then kept."""
    from ..kinds import facts_of
    from .guards import keep_used
    from .plan import DELETE, Change, Scope

    def seen(change: Change) -> bool:
        kind = facts_of(change.kind)
        inherited = kind is not None and kind.inherited_by_children
        return any(
            s.tenant == change.ref.tenant
            and s.covers(change.ref.namespace)
            and (s.include_children or not inherited)
            for s in plan.scopes
        )

    # A tenant's resources (dashboards, no namespace) are used by no flow: not looked at.
    deletes = [
        c for c in plan.changes if c.action == DELETE and c.kind != "flow" and c.ref.namespace
    ]
    scopes = sorted(
        {
            Scope(c.ref.tenant, c.ref.namespace, include_children=True)
            for c in deletes
            if not seen(c)
        },
        key=lambda s: (s.tenant, s.namespace),
    )
    if not scopes:
        return False
    snapshot = read_snapshot(client, scopes, parallelism=parallelism)
    for listing in snapshot.failed():
        for change in deletes:
            if change.ref.tenant == listing.scope.tenant and listing.scope.covers(
                change.ref.namespace
            ):
                change.action = UNMANAGED
                change.note = (
                    f"not deleted: the flows of {listing.scope.namespace} and its children, "
                    f"which may use it, could not be read: {listing.error}"
                )
    known = {c.ref for c in plan.changes if c.kind == "flow"}
    others = [
        Change(UNCHANGED, f.ref, server_source=f.source)
        for lst in snapshot.listings
        if not lst.error
        for f in lst.flows
        if not f.deleted and f.ref not in known
    ]
    keep_used(plan.changes + others)
    return bool(snapshot.failed())


def with_retired_namespaces(
    scans: dict[str, LocalScan], local: list[LocalFlow], managed: dict[str, list[str]]
) -> dict[str, LocalScan]:
    """A managed namespace (`--namespace`, `namespaces:`) of which git holds nothing at all (no
    flow, no `_files`, no kv.yml) is being retired: its namespace files and KV pairs are read
    and, like its flows, deleted under the same guards (--delete, --allow-empty-namespace, the
    one cap, what a flow that stays still uses). KV pairs too, although elsewhere only a
    kv.yml with `managed: true` lets undeclared keys go: git no longer has the namespace, so
    nothing in git can declare which keys are kept. A namespace git still holds anything for
    keeps its own rules. Copies: the scans given are not changed."""
    from dataclasses import replace

    held = {(f.tenant, f.namespace) for f in local} | {
        where for scan in scans.values() for where in scan.namespaces
    }
    retired = {(t, ns) for t, names in managed.items() for ns in names} - held
    if not retired:
        return scans
    return {
        name: replace(
            scan,
            namespaces=scan.namespaces | retired,
            deletable=None if scan.deletable is None else scan.deletable | retired,
        )
        for name, scan in scans.items()
    }


def _name_other_namespaces(
    plan: Plan,
    client,
    settings: Settings,
    local: list[LocalFlow],
    scans: dict[str, LocalScan],
) -> list[Diagnostic]:
    """Name the namespaces under the repository's roots that hold flows on the server but
    that the plan did not read (one request per tenant), with the command that would remove
    them, with or without --delete: a namespace renamed or removed in git keeps running on the
    server otherwise unmentioned. Not being able to list them (an EE token without the right)
    does not stop the plan: it is said on stderr, once."""
    from ..models import WARNING
    from .leftovers import repository_roots, retire_command
    from .snapshot import namespaces_outside

    tenants = list(settings.directories())
    roots = repository_roots(local, scans, settings.managed_namespaces())
    try:
        found = namespaces_outside(client, plan.scopes, tenants, roots)
    except KestraSyncError as err:
        return [
            Diagnostic(
                client.display_url,
                f"could not list the server's namespaces ({err.message}); a namespace removed "
                "from git or renamed would not be named in this plan",
                severity=WARNING,
            )
        ]
    # A namespace git holds only files or KV pairs for is git's, whatever flows it has.
    held = {(t, ns) for _, t, ns, _ in plan.kind_scopes}
    found = {t: [ns for ns in names if (t, ns) not in held] for t, names in found.items()}
    plan.other_namespaces = _not_other_environments(found, settings)
    plan.retire_commands = {
        tenant: retire_command(
            names, tenant, environment=settings.environment, many_tenants=len(tenants) > 1
        )
        for tenant, names in plan.other_namespaces.items()
    }
    return []


def _not_other_environments(found: dict[str, list[str]], settings: Settings) -> dict:
    """Environments sharing one server (namespace_map): another environment's namespaces are
    not this one's leftovers, and are not offered for retiring (its command would delete
    them)."""
    prefixes = settings.other_environments_namespaces
    own = list(settings.namespace_map.values())

    def elsewhere(namespace: str) -> bool:
        def under(prefix: str) -> bool:
            return namespace == prefix or namespace.startswith(prefix + ".")

        return any(under(p) for p in prefixes) and not any(under(p) for p in own)

    kept = {t: [n for n in names if not elsewhere(n)] for t, names in found.items()}
    return {t: names for t, names in kept.items() if names}


def check_saved_plan(
    plan: Plan, client, meta: dict[str, Any], *, parallelism: int = DEFAULT_PARALLELISM
) -> Plan:
    """Refuse to apply a saved plan that has errors, was made against another server, that
    the server has moved away from, or that does not follow from its own recorded options;
    return the plan to apply.

    Every guard `plan` applies (scopes, deletion opt-in, the empty-namespace rule, max deletes,
    references to deleted flows and to files and KV pairs) is applied again, for every kind,
    by the same code (``plan_everything``): the content of the plan and its recorded options
    are planned afresh against the server as it is now, and each change must come out the
    same. A plan file edited by hand is refused earlier, by its checksum; this catches one
    whose checksum was recomputed, and a server that moved in a way drift does not name.

    A change the server already reflects (the flow holds the planned source, a file or KV
    pair its planned content, or a planned delete is gone) is not drift: an earlier run of
    this plan applied it (or someone made the same change). It becomes unchanged, so re-running
    the same `apply plan.json` after a partial failure converges instead of calling the plan
    stale."""
    _refuse_foreign(plan, client, meta)
    options = read_options(meta["options"])
    options.renames = plan.renames  # as the plan recognised them (renames.py)
    local = _saved_flows(plan)
    _check_saved_scopes(plan, local, options)
    snapshot = read_snapshot(client, plan.scopes, parallelism=parallelism)
    listings = _read_saved_listings(plan, client, parallelism)
    plan = _without_applied_changes(plan, snapshot)
    plan = _without_applied_items(plan, listings)
    _refuse_drift(plan, snapshot, listings)
    again = plan_everything(
        local,
        _saved_scans(plan),
        options,
        client,
        parallelism,
        snapshot=snapshot,
        listings=listings,
        targets=plan.targets,
    )
    _refuse_different(plan, again)
    return plan


_REMAKE = "make a new plan with `kestra-sync plan --out` and review it"


def _refuse_foreign(plan: Plan, client, meta: dict[str, Any]) -> None:
    if meta["server"] != client.display_url:
        raise PlanError(
            f"the saved plan was made against {meta['server']}, not {client.display_url}",
            hint="apply it with --server pointing at the server it was made for",
        )
    if plan.errors:
        raise PlanError(
            "the saved plan has errors and cannot be applied: " + "; ".join(plan.errors),
            hint="fix the cause and make a new plan",
        )


def _saved_flows(plan: Plan) -> list[LocalFlow]:
    """The flows git held when the plan was made, as the plan file carries them."""
    return [
        LocalFlow(Path(c.path or ""), c.source or "", None, c.ref.namespace, c.ref.id, c.ref.tenant)
        for c in plan.changes
        if c.action in (CREATE, UPDATE, UNCHANGED) and c.kind == "flow"
    ]


def _saved_scans(plan: Plan) -> dict[str, LocalScan]:
    """The namespace files and KV pairs git held, and where they were compared, per kind."""
    from ..kinds import KINDS
    from ..kinds.base import LocalItem

    scans = {}
    for name in KINDS:
        scopes = [s for s in plan.kind_scopes if s[0] == name]
        scans[name] = LocalScan(
            [
                LocalItem(c.ref, c.path or "", c.payload, c.digest)  # None: left to the server
                for c in plan.changes
                if c.kind == name and c.action in (CREATE, UPDATE, UNCHANGED)
            ],
            namespaces={(t, ns) for _, t, ns, _ in scopes},
            deletable={(t, ns) for _, t, ns, deletable in scopes if deletable},
            never_read=_kept_by_the_scan(plan, name),
        )
    return scans


def _check_saved_scopes(plan: Plan, local: list[LocalFlow], options: PlanOptions) -> None:
    tenants = {c.ref.tenant for c in plan.changes} | {s.tenant for s in plan.scopes}
    if not tenants <= set(options.managed):
        raise PlanError(
            "the saved plan changes tenant "
            + ", ".join(sorted(tenants - set(options.managed)))
            + ", which it was not made for",
            hint=_REMAKE,
        )
    from .renames import rename_scopes

    expected = set(scopes_for(local, options.managed, include_children=options.include_children))
    expected |= set(rename_scopes(plan.renames, sorted(expected, key=lambda s: s.namespace)))
    # A partial plan read every namespace of git (its guards look at the whole tree) but
    # carries only the targeted flows: its scopes hold at least theirs.
    if set(plan.scopes) != expected and not (plan.targets and expected <= set(plan.scopes)):
        raise PlanError(
            "the saved plan's namespaces in scope do not follow from its flows and options",
            hint=_REMAKE,
        )


def _read_saved_listings(plan: Plan, client, parallelism: int) -> list[KindListing]:
    from ..kinds import read_listings

    return read_listings(client, plan.kind_scopes, parallelism=parallelism)


def _without_applied_items(plan: Plan, listings: list[KindListing]) -> Plan:
    from .resourceplan import without_applied

    return without_applied(plan, listings) if plan.kind_scopes else plan


def _refuse_drift(plan: Plan, snapshot: Snapshot, listings: list[KindListing]) -> None:
    from .resourceplan import resource_drift

    drift = find_drift(plan, snapshot) + resource_drift(plan, listings)
    if drift:
        shown = "; ".join(drift[:5]) + (f"; and {len(drift) - 5} more" if len(drift) > 5 else "")
        raise PlanError(
            f"the saved plan is stale: drift on the server since it was made: {shown}",
            hint="the server changed since the plan was made; run `kestra-sync plan` again "
            "and review the new plan",
        )


def _refuse_different(plan: Plan, again: Plan) -> None:
    if again.errors:
        raise PlanError(
            "the saved plan cannot be applied now: " + "; ".join(again.errors), hint=_REMAKE
        )
    now = {c.ref: c for c in again.changes}
    for change in plan.changes:
        fresh = now.get(change.ref)
        if fresh is None or fresh.action != change.action:
            why = f" ({fresh.note})" if fresh is not None and fresh.note else ""
            raise PlanError(
                f"the saved plan does not follow from its own options: it would "
                f"{change.action} {change.ref}, which planned now is "
                f"{'not in scope' if fresh is None else fresh.action}{why}",
                hint=_REMAKE,
            )


def _kept_by_the_scan(plan: Plan, kind_name: str) -> dict:
    """What the saved plan kept because the scan never reads it (``.gitignore`` under
    `_files`): kept again when it is re-planned from its own content, which holds no scan."""
    kept: dict = {}
    for c in plan.changes:
        if c.kind == kind_name and c.action == UNMANAGED and c.note.startswith(KEPT_PREFIX):
            kept.setdefault((c.ref.tenant, c.ref.namespace), {})[c.ref.id] = c.note
    return {
        where: (lambda ref_id, notes=notes: (notes.get(ref_id) or "")[len(KEPT_PREFIX) :] or None)
        for where, notes in kept.items()
    }


def _without_applied_changes(plan: Plan, snapshot) -> Plan:
    from dataclasses import replace

    from .plan import DELETE
    from .sameness import sources_equal

    if snapshot.failed():
        return plan  # find_drift refuses it anyway
    now = {f.ref: f for lst in snapshot.listings for f in lst.flows if not f.deleted}
    changes = []
    for change in plan.changes:
        current = now.get(change.ref)
        # Only flows are in this snapshot: a file or KV delete is checked by its own listing.
        if change.action == DELETE and change.kind == "flow" and current is None:
            continue  # already deleted
        if (
            change.action in (CREATE, UPDATE)
            and current is not None
            and current.source is not None
            and change.source is not None
            and sources_equal(change.source, current.source)
        ):
            change = replace(
                change,
                action=UNCHANGED,
                server_source=current.source,
                server_revision=current.revision,
                diff="",
                summary=[],
                formatting_only=False,
            )
        changes.append(change)
    return replace(plan, changes=changes)
