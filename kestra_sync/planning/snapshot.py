"""Read what the server holds in each scope: a few requests per namespace, never one per flow.

A listing that fails is recorded on its scope instead of raising, so the plan can still show the
other namespaces while refusing to change (and above all to delete) anything in that one. An
unreachable server, a 401 or a 400 (e.g. a tenant OSS does not have) concerns every namespace:
that raises, as one error.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from ..errors import AuthError, BadRequestError, KestraSyncError, TransportError
from ..models import DEFAULT_PARALLELISM, LocalFlow
from .plan import NamespaceListing, Scope, Snapshot


def read_snapshot(
    client,
    scopes: list[Scope],
    *,
    parallelism: int = DEFAULT_PARALLELISM,
    local: Iterable[LocalFlow] = (),
) -> Snapshot:
    """``client`` is a KestraClient for any tenant; each scope is read with its own tenant.
    A server source identical to a ``local`` flow's file has that flow's namespace and id
    (Kestra reads them from the text): it is not read a second time."""
    known = {f.source: (f.namespace, f.id) for f in local if f.ref is not None}

    fatal: list[KestraSyncError] = []  # the first error that concerns every scope

    def read(scope: Scope) -> NamespaceListing:
        if fatal:  # the server is unreachable or refuses us: do not wait for it once more
            return NamespaceListing(scope, error=fatal[0].message)
        tenant_client = (
            client if scope.tenant == client.tenant else client.with_tenant(scope.tenant)
        )
        try:
            flows = tenant_client.namespace_flows(
                scope.namespace, include_children=scope.include_children, known=known
            )
        except (TransportError, AuthError, BadRequestError) as err:
            if isinstance(err, AuthError) and err.status != 401:
                # 403: not allowed in this namespace (EE RBAC), others may still be readable.
                return NamespaceListing(scope, error=err.message)
            # Unreachable, not authenticated, or a request this server does not take (a
            # tenant other than main on OSS): about the server or the tenant, not this
            # namespace. One error with its hint, instead of the same error per namespace.
            fatal.append(err)
            return NamespaceListing(scope, error=err.message)
        except KestraSyncError as err:
            return NamespaceListing(scope, error=err.message)
        for flow in flows:
            flow.tenant = scope.tenant
        return NamespaceListing(scope, flows=flows)

    if not scopes:
        return Snapshot()
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(scopes)))) as pool:
        listings = list(pool.map(read, scopes))
    if fatal:
        raise fatal[0]
    return Snapshot(listings=listings)


def namespaces_outside(
    client, scopes: list[Scope], tenants: list[str], roots: dict[str, set[str]]
) -> dict[str, list[str]]:
    """tenant -> namespaces under the repository's ``roots`` (leftovers.py) that hold flows on
    the server but are not in the plan's scope: never read, never changed. A namespace whose
    folder was removed from git, or renamed, is among them, so the plan names it (issue 22
    item 5). One request per tenant: `GET /flows/distinct-namespaces` (namespaces of live
    flows, last revision, not deleted: AbstractJdbcFlowRepository.findDistinctNamespace,
    kestra 58c1ca2d). A namespace holding only files or KV pairs is not listed there."""
    from .leftovers import under_roots

    out: dict[str, list[str]] = {}
    for tenant in tenants:
        mine = roots.get(tenant, set())
        if not mine:
            continue  # git holds nothing in this tenant: nothing of it can have left git
        tenant_client = client if tenant == client.tenant else client.with_tenant(tenant)
        names = tenant_client.distinct_namespaces()
        covered = [s for s in scopes if s.tenant == tenant]
        outside = sorted(
            n for n in names if under_roots(n, mine) and not any(s.covers(n) for s in covered)
        )
        if outside:
            out[tenant] = outside
    return out
