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
from ..models import DEFAULT_PARALLELISM, Diagnostic, LocalFlow
from ..settings.config import Settings
from .plan import CREATE, UNCHANGED, UNMANAGED, UPDATE, Plan, build_plan, find_drift, scopes_for
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

    The rules follow the pinned Kestra version, else the server's (``client``), else every
    supported version. Flows are checked before the server is asked anything: a flow that the
    pinned version (or every version) refuses stops the run with no request sent.
    Returns the flows, the diagnostics (warnings) and the ``target.KestraTarget``."""
    from ..rules import kestraversion as versions
    from ..rules.validate import check_project, rejudge

    target = versions.pinned(settings)
    check = check_project(settings, version=target.version)
    if not check.ok:
        raise InvalidFlowsError(check.diagnostics)
    if client is not None and check.flows:  # no flow to judge: no need to ask
        target = versions.resolve(settings, client)
        if target.version is not None and target.origin.startswith("reported"):
            check = rejudge(check, target.version)
            if not check.ok:
                raise InvalidFlowsError(check.diagnostics, target.version)
    return check.flows, check.diagnostics, target


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


def plan_options(settings: Settings) -> dict[str, Any]:
    """The options a plan was made with, as a saved plan records them: `apply plan.json`
    re-checks every guard against these (and nothing else), so a plan means the same thing
    wherever and whenever it is applied."""
    managed = settings.managed_namespaces()
    allowed = settings.empty_namespace_tenants()
    return {
        "delete": settings.delete,
        "allow_empty_namespace": settings.allow_empty_namespace,
        "max_deletes": settings.max_deletes,
        "include_children": settings.include_children,
        "ownership_label": settings.ownership_label,
        "tenants": {
            t: {"namespaces": sorted(managed[t]), "allow_empty_namespace": t in allowed}
            for t in sorted(managed)
        },
    }


def make_plan(
    settings: Settings, client, local: list[LocalFlow] | None = None, scans: dict | None = None
) -> PlanResult:
    """Ask the server its version (one request; a pinned version wins), scan and validate for
    that version (unless ``local`` is given), read the server per namespace, and compare.
    ``scans``: the namespace files and KV pairs to plan, already as the environment deploys
    them (`diff` passes another server's content); default: git's."""
    from ..kinds import problems as kind_problems
    from ..kinds import scan_all
    from ..source.environments import for_environment
    from .semantic import summarize

    warnings: list[Diagnostic] = []
    target = None
    if local is None:
        local, warnings, target = load_local_flows(settings, client)
    env_problems: list[Diagnostic] = []
    if scans is None:
        scans = scan_all(settings)  # namespace files, KV pairs
        # The selected environment's overlays and namespace mapping, before anything is planned.
        local, scans, env_problems = for_environment(settings, local, scans)
    problems = kind_problems(scans) + env_problems
    if any(d.is_error for d in problems):
        raise InvalidFlowsError(problems)
    meta = plan_meta(settings, client, target)
    options = read_options(meta["options"])
    kind_scopes = sorted(
        (name, tenant, namespace, scan.deletable is None or (tenant, namespace) in scan.deletable)
        for name, scan in scans.items()
        for tenant, namespace in scan.namespaces
    )
    # Not added to the flows' scope: a kv.yml or _files alone must not put the server's flows
    # of a namespace in reach of --delete (it takes --namespace, as for any namespace).
    plan = _plan_from(local, options, client, settings.parallelism, summarize)
    _plan_kinds(plan, scans, kind_scopes, options, client, settings.parallelism)
    if settings.delete:
        warnings = warnings + _name_other_namespaces(plan, client, list(settings.directories()))
    return PlanResult(plan, meta, local, warnings, target)


def _plan_kinds(plan: Plan, scans: dict, kind_scopes, options, client, parallelism: int) -> None:
    """Add the namespace-file and KV changes: one request per namespace for files (the
    export); one listing plus one GET per key for KV."""
    from ..kinds import KINDS, read_listings
    from .resourceplan import check_delete_cap, compare_kind

    plan.kind_scopes = list(kind_scopes)
    listings = read_listings(client, plan.kind_scopes, parallelism=parallelism)
    for name, scan in scans.items():
        changes, errors = compare_kind(
            KINDS[name],
            scan,
            listings,
            delete=options.delete,
            allow_empty_namespace=options.empty_allowed,
        )
        plan.changes += changes
        plan.errors += errors
    check_delete_cap(plan, options.max_deletes)


def _name_other_namespaces(plan: Plan, client, tenants: list[str]) -> list[Diagnostic]:
    """With --delete, list the server's namespaces outside the plan (one request per tenant),
    so a namespace removed from git is named. Not being able to list them (an EE token
    without the right) does not stop the plan: it is said on stderr."""
    from ..models import WARNING
    from .snapshot import namespaces_outside

    try:
        plan.other_namespaces = namespaces_outside(client, plan.scopes, tenants)
    except KestraSyncError as err:
        return [
            Diagnostic(
                client.display_url,
                f"could not list the server's namespaces ({err.message}); a namespace removed "
                "from git would not be named in this plan",
                severity=WARNING,
            )
        ]
    return []


@dataclass
class PlanOptions:
    """What a plan depends on besides git and the server (see ``plan_options``)."""

    delete: bool
    max_deletes: int
    include_children: bool
    managed: dict[str, list[str]]  # tenant -> managed namespaces
    empty_allowed: set[str]  # tenants where a namespace may be emptied
    ownership_label: str | None = None  # delete only flows carrying it (ownership.py)


def read_options(options: dict[str, Any]) -> PlanOptions:
    tenants = options["tenants"]
    return PlanOptions(
        delete=options["delete"],
        max_deletes=options["max_deletes"],
        include_children=options["include_children"],
        managed={t: list(v["namespaces"]) for t, v in tenants.items()},
        empty_allowed={t for t, v in tenants.items() if v["allow_empty_namespace"]},
        ownership_label=options.get("ownership_label"),
    )


def _plan_from(
    local,
    options: PlanOptions,
    client,
    parallelism: int,
    summarize=None,
    snapshot=None,
    targets: list[str] | None = None,
):
    """The one way a plan is computed, for `plan` and again for `apply plan.json`; with
    ``targets``, a partial plan (targeting.py)."""
    from .ownership import ownership_rule
    from .references import referenced_flows
    from .targeting import keep_targeted

    # Each tenant has its own managed namespaces (with `tenants:` configured, the default
    # tenant may not be one of them at all).
    if snapshot is None:
        scopes = scopes_for(local, options.managed, include_children=options.include_children)
        snapshot = read_snapshot(client, scopes, parallelism=parallelism, local=local)
    plan = build_plan(
        local,
        snapshot,
        delete=options.delete,
        allow_empty_namespace=options.empty_allowed,
        # A partial plan counts its own deletes only (keep_targeted).
        max_deletes=None if targets else options.max_deletes,
        summarize=summarize,
        references=referenced_flows,
        owns=ownership_rule(options.ownership_label),
    )
    if targets:
        keep_targeted(plan, targets, options.max_deletes, snapshot)
    return plan


def check_saved_plan(
    plan: Plan, client, meta: dict[str, Any], *, parallelism: int = DEFAULT_PARALLELISM
) -> Plan:
    """Refuse to apply a saved plan that has errors, was made against another server, that
    the server has moved away from, or that does not follow from its own recorded options;
    return the plan to apply.

    Every guard `plan` applies (scopes, deletion opt-in, the empty-namespace rule, max deletes,
    references to deleted flows) is applied again: the flows of the plan and its recorded
    options are planned afresh against the server as it is now, and each change must come out
    the same. A plan file edited by hand is refused earlier, by its checksum; this catches one
    whose checksum was recomputed, and a server that moved in a way drift does not name.

    A change the server already reflects (the flow holds the planned source, or a planned
    delete is gone) is not drift: an earlier run of this plan applied it (or someone made the
    same change). It becomes unchanged at the current revision, so re-running the same
    `apply plan.json` after a partial failure converges instead of calling the plan stale."""
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
    options = read_options(meta["options"])
    local = [
        LocalFlow(Path(c.path or ""), c.source or "", None, c.ref.namespace, c.ref.id, c.ref.tenant)
        for c in plan.changes
        if c.action in (CREATE, UPDATE, UNCHANGED) and c.kind == "flow"
    ]
    tenants = {c.ref.tenant for c in plan.changes} | {s.tenant for s in plan.scopes}
    if not tenants <= set(options.managed):
        raise PlanError(
            "the saved plan changes tenant "
            + ", ".join(sorted(tenants - set(options.managed)))
            + ", which it was not made for",
            hint=_REMAKE,
        )
    expected = scopes_for(local, options.managed, include_children=options.include_children)
    if set(expected) != set(plan.scopes):
        raise PlanError(
            "the saved plan's namespaces in scope do not follow from its flows and options",
            hint=_REMAKE,
        )
    snapshot = read_snapshot(client, plan.scopes, parallelism=parallelism)
    plan = _without_applied_changes(plan, snapshot)
    drift = find_drift(plan, snapshot)
    listings = []
    if plan.kind_scopes:  # namespace files and KV pairs: compared by content digest
        from ..kinds import read_listings
        from .resourceplan import resource_drift, without_applied

        listings = read_listings(client, plan.kind_scopes, parallelism=parallelism)
        plan = without_applied(plan, listings)
        drift += resource_drift(plan, listings)
    if drift:
        shown = "; ".join(drift[:5]) + (f"; and {len(drift) - 5} more" if len(drift) > 5 else "")
        raise PlanError(
            f"the saved plan is stale: drift on the server since it was made: {shown}",
            hint="the server changed since the plan was made; run `kestra-sync plan` again "
            "and review the new plan",
        )
    again = _plan_from(local, options, client, parallelism, snapshot=snapshot, targets=plan.targets)
    if again.errors:
        raise PlanError(
            "the saved plan cannot be applied now: " + "; ".join(again.errors), hint=_REMAKE
        )
    if plan.kind_scopes:
        again.changes += _replan_kinds(plan, options, listings)
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
    return plan


_REMAKE = "make a new plan with `kestra-sync plan --out` and review it"


def _replan_kinds(plan: Plan, options: PlanOptions, listings) -> list:
    """The namespace-file and KV changes planned afresh from the saved plan's own content and
    options, for the same check the flows get."""
    from ..kinds import KINDS
    from ..kinds.base import LocalItem, LocalScan
    from .resourceplan import compare_kind

    changes = []
    for name, handler in KINDS.items():
        scopes = [s for s in plan.kind_scopes if s[0] == name]
        scan = LocalScan(
            [
                LocalItem(c.ref, c.path or "", c.payload, c.digest)  # None: left to the server
                for c in plan.changes
                if c.kind == name and c.action in (CREATE, UPDATE, UNCHANGED)
            ],
            namespaces={(t, ns) for _, t, ns, _ in scopes},
            deletable={(t, ns) for _, t, ns, deletable in scopes if deletable},
            never_read=_kept_by_the_scan(plan, name),
        )
        fresh, _ = compare_kind(
            handler,
            scan,
            listings,
            delete=options.delete,
            allow_empty_namespace=options.empty_allowed,
        )
        changes += fresh
    return changes


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

    from .plan import DELETE, sources_equal

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
