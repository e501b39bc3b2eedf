"""`kestra-sync diff --env staging --env prod`: what promoting one environment's server to
another would change, for what git manages.

The source of this plan is the first environment's *server*, not git: git says which flows,
namespace files and KV pairs are managed (as the first environment deploys them, overlays and
mapping applied); the first server says what each of them holds there; and that content,
carried over to the second environment (the first one's namespace_map undone, the second one's
applied), is planned against the second server by the ordinary pipeline. So the report is a
plan, in the plan's formats, and "create/update" read as "promoting would create/update".
Nothing is ever deleted by a promotion: an item only the second server has is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PlanError
from ..models import WARNING, Diagnostic, FlowRef, LocalFlow
from ..settings.environments import map_namespace
from ..source.environments import map_source


@dataclass
class Promoted:
    local: list[LocalFlow]
    scans: dict[str, Any]
    warnings: list[Diagnostic] = field(default_factory=list)


def promoted(source_settings: Any, target_settings: Any, source_client: Any) -> Promoted:
    """What the source environment's server holds of what git manages, as the target
    environment would receive it (see the module)."""
    from ..kinds import every_kind, scan_all
    from ..source.environments import for_environment
    from .pipeline import InvalidFlowsError, load_local_flows

    local, _, _ = load_local_flows(source_settings)  # offline: git's managed flows
    local, scans, problems = for_environment(
        source_settings, local, scan_all(source_settings), every_kind()
    )
    problems += [d for scan in scans.values() for d in scan.diagnostics]
    if any(d.is_error for d in problems):
        raise InvalidFlowsError(problems)
    carry = _Carry(source_settings, target_settings)
    flows, missing = _flows_from_server(local, source_settings, source_client, carry)
    _, target_scans, _ = for_environment(
        target_settings, [], scan_all(target_settings), every_kind()
    )
    # A KV value or file git sets per environment (an overlay) is meant to differ: kept.
    own = {item.ref: item for scan in target_scans.values() for item in scan.items}
    promoted_scans = _kinds_from_server(scans, source_settings, source_client, carry, own)
    warnings = []
    if missing:
        warnings.append(
            Diagnostic(
                source_client.display_url,
                f"{len(missing)} flow(s) git manages are not on environment "
                f"{source_settings.environment}'s server, so promotion would not bring them: "
                + ", ".join(str(ref) for ref in missing[:5])
                + (" ..." if len(missing) > 5 else ""),
                severity=WARNING,
            )
        )
    return Promoted(flows, promoted_scans, warnings)


class _Carry:
    """Namespaces and tenants from the source environment's terms to the target's."""

    def __init__(self, source: Any, target: Any):
        self.back = {v: k for k, v in source.namespace_map.items()}  # undo the source's map
        self.forward = dict(target.namespace_map)
        self.tenants = dict(zip(source.directories(), target.directories(), strict=False))

    def namespace(self, namespace: str) -> str:
        return map_namespace(map_namespace(namespace, self.back), self.forward)

    def ref(self, ref: FlowRef) -> FlowRef:
        return FlowRef(
            self.tenants.get(ref.tenant, ref.tenant),
            self.namespace(ref.namespace),
            ref.id,
            ref.kind,
        )

    def source(self, text: str, where: str) -> str:
        for mapping in (self.back, self.forward):
            if mapping:
                text, problem = map_source(text, mapping)
                if problem:
                    raise PlanError(f"{where}: {problem}")
        return text


def _flows_from_server(local, settings, client, carry: _Carry):
    from ..source.yamlindex import parse_yaml
    from .plan import scopes_for
    from .snapshot import read_snapshot

    scopes = scopes_for(
        local, settings.managed_namespaces(), include_children=settings.include_children
    )
    snapshot = read_snapshot(client, scopes, parallelism=settings.parallelism, local=local)
    if snapshot.failed():
        raise PlanError(
            f"cannot read environment {settings.environment}'s server: "
            + "; ".join(f"{s.scope.namespace}: {s.error}" for s in snapshot.failed()),
            hint="nothing was compared; check that environment's URL and credentials",
        )
    held = {
        FlowRef(f.tenant, f.namespace, f.id): f
        for listing in snapshot.listings
        for f in listing.flows
        if not f.deleted
    }
    flows, missing = [], []
    for flow in local:
        remote = held.get(flow.ref) if flow.ref is not None else None
        if remote is None or remote.source is None:
            if flow.ref is not None:
                missing.append(flow.ref)
            continue
        where = f"{settings.environment}:{flow.ref}"
        text = carry.source(remote.source, where)
        ref = carry.ref(flow.ref)
        flows.append(
            LocalFlow(
                Path(f"{settings.environment}:{flow.ref.namespace}/{flow.ref.id}"),
                text,
                parse_yaml(text).data,
                ref.namespace,
                ref.id,
                ref.tenant,
            )
        )
    return flows, missing


def _kinds_from_server(scans, settings, client, carry: _Carry, own: dict) -> dict[str, Any]:
    """Each kind's managed items with the source server's content (an item it lacks is left
    out: promotion would not bring it), in the target's namespaces. ``own``: each item as git
    deploys it to the target; where that differs from the source environment's (an overlay),
    the value is the target's own and promotion keeps it: the target's is planned instead."""
    from .. import kinds
    from ..kinds import read_listings
    from ..kinds.base import LocalItem, LocalScan, facts

    scopes = sorted(
        (name, tenant, namespace, False)
        for name, scan in scans.items()
        for tenant, namespace in scan.namespaces
    )
    listings = read_listings(client, scopes, parallelism=settings.parallelism)
    failed = [listing for listing in listings if listing.error]
    if failed:
        raise PlanError(
            f"cannot read environment {settings.environment}'s server: "
            + "; ".join(f"{f.namespace} {f.kind}: {f.error}" for f in failed),
            hint="nothing was compared; check that environment's URL and credentials",
        )
    held = {item.ref: item for listing in listings for item in listing.items}
    out = {}
    for name, scan in scans.items():
        items = []
        for local in scan.items:
            target_own = own.get(carry.ref(local.ref))
            if target_own is not None and target_own.digest != local.digest:
                items.append(target_own)
                continue
            remote = held.get(local.ref)
            if remote is None:
                continue
            payload = facts(kinds.KINDS[name]).promoted(local, remote)
            items.append(
                LocalItem(
                    carry.ref(local.ref),
                    f"{settings.environment}:{local.ref.namespace}",
                    payload,
                    remote.digest,
                )
            )
        out[name] = LocalScan(
            items,
            namespaces={
                (carry.tenants.get(t, t), carry.namespace(ns)) for t, ns in scan.namespaces
            },
            deletable=set(),
        )
    return out
