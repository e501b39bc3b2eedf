"""The library entry points behind `plan`, `apply` and `pull`, usable from Python:

    settings = load_settings({"url": "http://localhost:8080"})
    client = KestraClient.from_settings(settings)
    result = make_plan(settings, client)
    outcome = apply_plan(result.plan, client)

Each step is one call into a module that does one job: scan + validate (flows, validate),
read the server (snapshot), compare (plan), write (apply).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import KestraSyncError, PlanError
from .models import Diagnostic, LocalFlow
from .plan import Plan, build_plan, find_drift, scopes_for
from .snapshot import read_snapshot


class InvalidFlowsError(KestraSyncError):
    """Local flows failed offline validation: nothing was sent to the server."""

    def __init__(self, diagnostics: list[Diagnostic]):
        errors = [d for d in diagnostics if d.is_error]
        first = errors[0]
        where = f"{first.path}:{first.line}" if first.line else first.path
        super().__init__(
            f"{len(errors)} error(s) in local flows, first: {where}: {first.message}",
            hint="run `kestra-sync validate` for every problem; nothing was sent to the server",
        )
        self.diagnostics = diagnostics


@dataclass
class PlanResult:
    plan: Plan
    meta: dict[str, Any] = field(default_factory=dict)
    local: list[LocalFlow] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


def load_local_flows(settings: Settings) -> tuple[list[LocalFlow], list[Diagnostic]]:
    """Scan every configured directory and validate offline; raise if any flow is invalid."""
    from .validate import check_project

    check = check_project(settings)
    if not check.ok:
        raise InvalidFlowsError(check.diagnostics)
    return check.flows, check.diagnostics


def plan_meta(settings: Settings, client) -> dict[str, Any]:
    from .gitinfo import git_info

    first_dir = next(iter(settings.directories().values()))
    return {
        "created_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "server": client.display_url,
        "git": git_info(Path(first_dir)),
        "options": {
            "delete": settings.delete,
            "allow_empty_namespace": settings.allow_empty_namespace,
            "max_deletes": settings.max_deletes,
            "include_children": settings.include_children,
            "ownership_label": settings.ownership_label,
        },
    }


def make_plan(settings: Settings, client, local: list[LocalFlow] | None = None) -> PlanResult:
    """Scan (unless ``local`` is given), read the server per namespace, and compare."""
    from .ownership import ownership_rule
    from .semantic import summarize

    warnings: list[Diagnostic] = []
    if local is None:
        local, warnings = load_local_flows(settings)
    # Managed namespaces apply to every tenant the repository holds flows for (with
    # `tenants:` configured, the default tenant may not be one of them at all).
    managed = {tenant: list(settings.namespaces) for tenant in settings.directories()}
    scopes = scopes_for(local, managed, include_children=settings.include_children)
    snapshot = read_snapshot(client, scopes, parallelism=settings.parallelism)
    plan = build_plan(
        local,
        snapshot,
        delete=settings.delete,
        allow_empty_namespace=settings.allow_empty_namespace,
        max_deletes=settings.max_deletes,
        summarize=summarize,
        owns=ownership_rule(settings.ownership_label),
    )
    if settings.delete:
        warnings = warnings + _name_other_namespaces(plan, client, list(settings.directories()))
    return PlanResult(plan, plan_meta(settings, client), local, warnings)


def _name_other_namespaces(plan: Plan, client, tenants: list[str]) -> list[Diagnostic]:
    """With --delete, list the server's namespaces outside the plan (one request per tenant),
    so a namespace removed from git is named. Not being able to list them (an EE token
    without the right) does not stop the plan: it is said on stderr."""
    from .models import WARNING
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


def check_saved_plan(
    plan: Plan, client, *, planned_server: str | None = None, parallelism: int = 4
) -> Plan:
    """Refuse to apply a saved plan that has errors, was made against another server, or that
    the server has moved away from; return the plan to apply.

    A change the server already reflects (the flow holds the planned source, or a planned
    delete is gone) is not drift: an earlier run of this plan applied it (or someone made the
    same change). It becomes unchanged at the current revision, so re-running the same
    `apply plan.json` after a partial failure converges instead of calling the plan stale."""
    if planned_server and planned_server != client.display_url:
        raise PlanError(
            f"the saved plan was made against {planned_server}, not {client.display_url}",
            hint="apply it with --server pointing at the server it was made for",
        )
    if plan.errors:
        raise PlanError(
            "the saved plan has errors and cannot be applied: " + "; ".join(plan.errors),
            hint="fix the cause and make a new plan",
        )
    snapshot = read_snapshot(client, plan.scopes, parallelism=parallelism)
    plan = _without_applied_changes(plan, snapshot)
    drift = find_drift(plan, snapshot)
    if drift:
        shown = "; ".join(drift[:5]) + (f"; and {len(drift) - 5} more" if len(drift) > 5 else "")
        raise PlanError(
            f"the saved plan is stale: drift on the server since it was made: {shown}",
            hint="the server changed since the plan was made; run `kestra-sync plan` again "
            "and review the new plan",
        )
    return plan


def _without_applied_changes(plan: Plan, snapshot) -> Plan:
    from dataclasses import replace

    from .plan import CREATE, DELETE, UNCHANGED, UPDATE, sources_equal

    if snapshot.failed():
        return plan  # find_drift refuses it anyway
    now = {f.ref: f for lst in snapshot.listings for f in lst.flows if not f.deleted}
    changes = []
    for change in plan.changes:
        current = now.get(change.ref)
        if change.action == DELETE and current is None:
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
