"""After a successful apply, record the commit it deployed where the server holds it: a KV
pair in the team's ``state_namespace``, per tenant, so that the next plan knows where to diff
from to recognise renames (planning/renames.py). Never after a failed, interrupted or partial
(``--target``) apply: the server would not hold that commit, and a rename the apply did not
reach would then never be recognised. Nor while a rename is pending (its old flow kept:
deletion off, or a flow still calls it): the record stays where it was, so the next plan
shows that rename again, and `--delete` alone completes it."""

from __future__ import annotations

from ..errors import KestraSyncError
from ..planning.plan import DELETE, Plan
from ..planning.renames import deployed_commit_key


def record_deployed_commit(settings, client, plan: Plan, meta: dict) -> str | None:
    """Write the commit of ``meta`` (the plan's) to each tenant the plan was made for; return
    a sentence for stderr: what was recorded, or why not. None when not configured."""
    namespace = settings.state_namespace
    if not namespace:
        return None
    commit = (meta.get("git") or {}).get("commit")
    if not commit:
        return "the deployed commit is not recorded: not in a git repository"
    if plan.targets:
        return "the deployed commit is not recorded: a partial apply (--target) does not deploy it"
    deleted = {c.ref for c in plan.changes if c.action == DELETE}
    pending = [r for r in plan.renames if r.old not in deleted]
    if pending:
        names = ", ".join(f"{r.old} → {r.new}" for r in pending[:3])
        more = f" and {len(pending) - 3} more" if len(pending) > 3 else ""
        return (
            f"the deployed commit is not recorded while a rename is pending ({names}{more}: "
            "the old flow is kept); the next plan shows it again"
        )
    key = deployed_commit_key(settings.environment)
    tenants = sorted(meta.get("options", {}).get("tenants") or [client.tenant])
    for tenant in tenants:
        tenant_client = client if tenant == client.tenant else client.with_tenant(tenant)
        try:
            tenant_client.put_kv(namespace, key, commit)
        except KestraSyncError as err:
            return (
                f"warning: could not record the deployed commit in KV {namespace}/{key}"
                f"{'' if tenant == 'main' else f' (tenant {tenant})'}: {err.message}; the next "
                "plan diffs from the commit recorded before, if any"
            )
    return f"Recorded the deployed commit {commit[:12]} in KV {namespace}/{key}."
