"""Renames are not deletes: a flow whose file git records as moved since the deployed commit,
with another id or namespace (a namespace folder renamed moves every flow in it), is planned
as "rename a → b": b is created (or updated) and a, which the server still holds, is deleted
once b exists, instead of a create plus a flow left running under its old name.

Where the plan diffs from: the commit of the last successful apply, which apply records in a
KV pair (``state_namespace``, per tenant; applying/deployedcommit.py). Without one (the first
apply, no ``state_namespace``, not a git repository, a shallow clone) the plan says why and
plans as before: a create, and the old flow kept or deleted as any server-only flow.

The old flow's delete follows the rules of every delete, with two differences that make a
rename need one flag, ``--delete``, and not three: the old namespace is read even though git
has no folder for it any more (the rename names it), and emptying it is allowed (git moved
its flows). It stays when deletion is off, when the ownership label says git did not put it
there, and when a flow that stays still calls it (those callers are named: they would break).
A rename's delete is not counted by ``--max-deletes``: git shows where the flow went, which
is what the cap cannot know of a plain delete (a directory scanned incompletely).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import KestraSyncError
from ..models import FLOW, WARNING, Diagnostic, FlowRef, LocalFlow
from .plan import DELETE, UNMANAGED, Change, Plan, Scope

NOTE = "note"  # a Diagnostic severity: said, not a problem
# What apply records: a full commit id (SHA-1, or SHA-256 in a repository that uses it). Any
# other value is not handed to git, which would read it as a revision or an option.
COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
STATE_KEY = "kestra_sync_deployed_commit"
KEPT_DELETION_OFF = "kept: deletion is off (--delete deletes it once {new} is created)"


@dataclass
class Rename:
    old: FlowRef
    new: FlowRef
    # Flows that stay and still call or listen to ``old``: they break when it goes.
    callers: list[FlowRef] = field(default_factory=list)


def deployed_commit_key(environment: str | None) -> str:
    """The KV key holding the deployed commit: one per environment, as environments may
    share a server (and a state namespace). Only characters a KV key allows."""
    if not environment:
        return STATE_KEY
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in environment
    )
    return f"{STATE_KEY}_{safe}"


def protect_state_keys(scans: dict, settings) -> dict:
    """The deployed-commit records (every environment's) are kestra-sync's, not git's: a
    `kv.yml` with `managed: true` in the state namespace must not delete them. Kept as what
    the scan never reads, which a saved plan carries (resourceplan.KEPT_PREFIX). Copies."""
    from dataclasses import replace

    namespace, kv = settings.state_namespace, scans.get("kv")
    if not namespace or kv is None:
        return scans
    never_read = dict(kv.never_read)
    for tenant in settings.directories():
        before = never_read.get((tenant, namespace))

        def why(key: str, before=before) -> str | None:
            if key.startswith(STATE_KEY):
                return "kestra-sync's record of the deployed commit (state_namespace)"
            return before(key) if before is not None else None

        never_read[(tenant, namespace)] = why
    return {**scans, "kv": replace(kv, never_read=never_read)}


def read_deployed_commit(client, namespace: str, key: str) -> str | None:
    """The commit the last successful apply recorded, or None when none is."""
    found = client.get_kv(namespace, key)
    if found is None:
        return None
    value = found[1]
    return value.strip() if isinstance(value, str) and value.strip() else None


def find_renames(
    settings, client, local: list[LocalFlow], git: dict | None
) -> tuple[list[Rename], list[Diagnostic]]:
    """The flows git moved to another id or namespace since the deployed commit of each
    tenant, and notices saying why renames could not be recognised (never an error: the plan
    is then made as without them)."""
    namespace = settings.state_namespace
    if not namespace:
        return [], []
    head = (git or {}).get("commit")
    where = str(next(iter(settings.directories().values())))
    if not head:
        why = "not in a git repository (or no commit yet)"
        return [], [Diagnostic(where, f"renames are not recognised: {why}", WARNING)]
    key = deployed_commit_key(settings.environment)
    found: list[Rename] = []
    notices: list[Diagnostic] = []
    for tenant, directory in settings.directories().items():
        tenant_client = client if tenant == client.tenant else client.with_tenant(tenant)
        try:
            base = read_deployed_commit(tenant_client, namespace, key)
        except KestraSyncError as err:
            message = f"renames are not recognised: could not read KV {namespace}/{key}: {err}"
            notices.append(Diagnostic(str(directory), message, WARNING))
            continue
        if base is None:
            message = (
                f"no deployed commit is recorded in KV {namespace}/{key} yet: renames are "
                "recognised from the next plan on (a successful apply records it)"
            )
            notices.append(Diagnostic(str(directory), message, NOTE))
        elif not COMMIT_ID.fullmatch(base):
            message = (
                f"renames are not recognised: the value of KV {namespace}/{key} is not a commit "
                "id (the next successful apply records one)"
            )
            notices.append(Diagnostic(str(directory), message, WARNING))
        elif base != head:
            renamed, notice = _moved_flows(Path(directory), base, tenant, local, settings)
            found += renamed
            notices += notice
    return found, notices


def _moved_flows(
    directory: Path, base: str, tenant: str, local: list[LocalFlow], settings
) -> tuple[list[Rename], list[Diagnostic]]:
    from ..source.githistory import HistoryUnavailable, moved_files

    try:
        moved = moved_files(directory, base)
    except HistoryUnavailable as err:
        return [], [Diagnostic(str(directory), f"renames are not recognised: {err}", WARNING)]
    return _renames_in(moved, tenant, local, settings.namespace_map), []


def _renames_in(moved, tenant: str, local: list[LocalFlow], mapping: dict) -> list[Rename]:
    """Each moved file that is a flow of git's now and named another flow at the deployed
    commit (its namespace mapped as the environment deploys it); not one whose old name git
    still has (a copy, or another file took the name), nor one that changed both its id and
    its namespace: git pairs files only half the same, which two unrelated flows made from one
    template are, and such a pair would delete a flow of another namespace with --delete
    alone. A flow renamed in place keeps its namespace; a namespace renamed keeps the ids."""
    from ..settings.environments import map_namespace

    in_git = {f.ref for f in local if f.ref is not None}
    by_path = {Path(f.path).resolve(): f for f in local if f.tenant == tenant and f.ref}
    found = []
    for entry in moved:
        flow = by_path.get(entry.new_path.resolve())
        identity = _identity(entry.old_source)
        if flow is None or flow.ref is None or identity is None:
            continue
        old = FlowRef(tenant, map_namespace(identity[0], mapping), identity[1])
        one_kept = old.namespace == flow.ref.namespace or old.id == flow.ref.id
        if old != flow.ref and old not in in_git and one_kept:
            found.append(Rename(old, flow.ref))
    return found


def _identity(source: str) -> tuple[str, str] | None:
    """(namespace, id) of a flow source, or None when it is not one."""
    from ..rules import knowledge as K
    from ..source.yamlindex import parse_yaml

    data: Any = parse_yaml(source).data
    if not isinstance(data, dict):
        return None
    namespace, flow_id = data.get("namespace"), data.get("id")
    # Only a name Kestra accepts is read from the server: history is not validated as HEAD is.
    if (
        isinstance(namespace, str)
        and isinstance(flow_id, str)
        and re.fullmatch(K.NAMESPACE_PATTERN[1:], namespace)
        and re.fullmatch(K.FLOW_ID_PATTERN[1:], flow_id)
        and len(namespace) <= K.NAMESPACE_MAX
        and len(flow_id) <= K.FLOW_ID_MAX
    ):
        return namespace, flow_id
    return None


def rename_scopes(renames: list[Rename], scopes: list[Scope]) -> list[Scope]:
    """The old namespaces to read besides the plan's own: a renamed namespace has no folder
    in git any more, but its flows are the renames' to delete."""
    extra: list[Scope] = []
    for rename in renames:
        tenant, namespace = rename.old.tenant, rename.old.namespace
        if not any(s.tenant == tenant and s.covers(namespace) for s in scopes + extra):
            extra.append(Scope(tenant, namespace))
    return extra


def mark_renames(plan: Plan, renames: list[Rename], snapshot, options) -> None:
    """Turn each rename's old flow (on the server, in the plan) into a delete, or a kept flow
    with the reason; name the callers that still call it. Renames whose old flow the server
    does not hold are dropped: there is nothing to rename (a re-run after the apply)."""
    from .ownership import ownership_rule
    from .plan import keep_referenced
    from .references import referenced_flows

    by_ref = {c.ref: c for c in plan.changes if c.kind == FLOW}
    remote = {
        f.ref: f for lst in snapshot.listings if not lst.error for f in lst.flows if not f.deleted
    }
    owns = ownership_rule(options.ownership_label)
    kept = []
    for rename in renames:
        old, new = by_ref.get(rename.old), by_ref.get(rename.new)
        if old is None or new is None or rename.old not in remote or old.path:
            continue
        new.note = f"renamed from {rename.old}"
        why = owns(remote[rename.old]) if owns is not None else None
        if not options.delete:
            old.action = UNMANAGED
            old.note = f"renamed to {rename.new}; {KEPT_DELETION_OFF.format(new=rename.new)}"
        elif why:
            old.action, old.note = UNMANAGED, why
        else:
            old.action = DELETE
            old.note = f"renamed to {rename.new}: deleted once {rename.new} is created"
        kept.append(rename)
    keep_referenced(plan.changes, referenced_flows)  # a caller that stays keeps the old flow
    for rename in kept:
        rename.callers = callers_of(rename.old, plan.changes)
    plan.renames = kept


def hold_partial_renames(plan: Plan, whole: list[Change]) -> None:
    """After ``--target``: a rename's old flow targeted without its new one (which the server
    does not hold yet) is kept. Deleting it alone would leave neither name on the server; the
    full plan creates the new flow first, and a narrower run is never less safe."""
    from .plan import CREATE, UPDATE

    by_ref = {c.ref: c for c in whole if c.kind == FLOW}
    in_plan = {c.ref for c in plan.changes}
    for rename in plan.renames:
        old, new = by_ref.get(rename.old), by_ref.get(rename.new)
        pending = new is not None and new.action in (CREATE, UPDATE)
        if old and old.action == DELETE and rename.new not in in_plan and pending:
            old.action = UNMANAGED
            old.note = f"kept: {rename.new} is not in this partial plan (target both)"


def callers_of(ref: FlowRef, changes: list[Change]) -> list[FlowRef]:
    """The flows that stay (with the source they will have) and still call or listen to
    ``ref``."""
    from .references import may_reference, referenced_flows

    found = []
    for change in changes:
        source = change.source if change.source is not None else change.server_source
        if change.kind != FLOW or change.action == DELETE or not source or change.ref == ref:
            continue
        if may_reference(source) and ref in referenced_flows(
            source, change.ref.tenant, change.ref.namespace
        ):
            found.append(change.ref)
    return sorted(found)


def caller_warnings(plan: Plan, local: list[LocalFlow]) -> list[Diagnostic]:
    """One warning per flow that still calls a renamed flow by its old name, on its file when
    git has it (a GitHub annotation there)."""
    paths = {f.ref: str(f.path) for f in local if f.ref is not None}
    return [
        Diagnostic(
            paths.get(caller, str(caller)),
            f"{caller} still calls or listens to {rename.old}, which git renamed to "
            f"{rename.new}: change it, or it breaks when {rename.old} is deleted "
            f"({rename.old} is kept while it is called)",
            WARNING,
        )
        for rename in plan.renames
        for caller in rename.callers
    ]


def rename_to_dict(rename: Rename) -> dict[str, Any]:
    return {
        "tenant": rename.old.tenant,
        "from": {"namespace": rename.old.namespace, "id": rename.old.id},
        "to": {"namespace": rename.new.namespace, "id": rename.new.id},
        "callers": [{"namespace": c.namespace, "id": c.id} for c in rename.callers],
    }


def rename_from_dict(entry: Any) -> Rename:
    """A rename of a saved plan; ValueError when damaged."""
    try:
        tenant = entry["tenant"]
        old = FlowRef(tenant, entry["from"]["namespace"], entry["from"]["id"])
        new = FlowRef(tenant, entry["to"]["namespace"], entry["to"]["id"])
        callers = [FlowRef(tenant, c["namespace"], c["id"]) for c in entry["callers"]]
    except (KeyError, TypeError) as err:
        raise ValueError(f"a rename is missing {err}") from None
    if not all(isinstance(x, str) for r in [old, new, *callers] for x in (r.namespace, r.id)):
        raise ValueError("a rename's namespaces and ids must be strings")
    if not isinstance(tenant, str):
        raise ValueError("a rename's tenant must be a string")
    return Rename(old, new, callers)
