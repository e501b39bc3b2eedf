"""Read what the server holds in each scope: a few requests per namespace, never one per flow.

A listing that fails is recorded on its scope instead of raising, so the plan can still show the
other namespaces while refusing to change (and above all to delete) anything in that one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .errors import KestraSyncError
from .plan import NamespaceListing, Scope, Snapshot


def read_snapshot(client, scopes: list[Scope], *, parallelism: int = 4) -> Snapshot:
    """``client`` is a KestraClient for any tenant; each scope is read with its own tenant."""

    def read(scope: Scope) -> NamespaceListing:
        tenant_client = (
            client if scope.tenant == client.tenant else client.with_tenant(scope.tenant)
        )
        try:
            flows = tenant_client.namespace_flows(
                scope.namespace, include_children=scope.include_children
            )
        except KestraSyncError as err:
            return NamespaceListing(scope, error=err.message)
        for flow in flows:
            flow.tenant = scope.tenant
        return NamespaceListing(scope, flows=flows)

    if not scopes:
        return Snapshot()
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(scopes)))) as pool:
        return Snapshot(listings=list(pool.map(read, scopes)))
