"""The kinds of resource kestra-sync manages, one module each behind the typed seam of
``base``: flows (``flows``), namespace files (``nsfiles``), KV pairs (``kv``), and on Kestra
Enterprise apps (``apps``), namespace settings and secrets (``namespaces``). Every kind
is written through ``writer(name)`` by apply's one scheduler; the kinds compared by content
digest are ``KINDS`` (a new kind is a new module added there: plan, apply, the reports and the
saved plan take it as it is). Flows are compared by planning.plan (revisions, references).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import AuthError, BadRequestError, KestraSyncError, TransportError
from .apps import Apps
from .base import Kind, KindClient, KindListing, LocalScan, Writer
from .flows import Flows
from .kv import KeyValues
from .namespaces import NamespaceSecrets, NamespaceSettings
from .nsfiles import NamespaceFiles

KINDS: dict[str, Kind[Any]] = {
    k.name: k
    for k in (NamespaceFiles(), KeyValues(), Apps(), NamespaceSettings(), NamespaceSecrets())
}
WRITERS: dict[str, Writer] = {"flow": Flows(), **KINDS}


def writer(name: str) -> Writer:
    """How changes of kind ``name`` reach the server (flows included)."""
    try:
        return WRITERS[name]
    except KeyError:
        raise ValueError(f"unknown kind {name!r}") from None


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown kind {name!r}") from None


def scan_all(settings: Any) -> dict[str, LocalScan]:
    return {name: k.scan(settings) for name, k in KINDS.items()}


def problems(scans: dict[str, LocalScan]) -> list:
    """The scans' diagnostics, each once: every kind walks the same tree with the same walker,
    so a broken link or an unreadable folder is found by each."""
    return list(dict.fromkeys(d for scan in scans.values() for d in scan.diagnostics))


def read_listings(
    client: KindClient, kind_scopes: list[tuple], *, parallelism: int = 4
) -> list[KindListing]:
    """Read every (kind, tenant, namespace); a failure is recorded on its listing (the plan then
    changes nothing there), except an unreachable server or refused credentials, which raise."""
    fatal: list[KestraSyncError] = []

    def read(scope: tuple) -> KindListing:
        name, tenant, namespace = scope[:3]  # (kind, tenant, namespace, deletable)
        listing = KindListing(name, tenant, namespace)
        if fatal:
            listing.error = fatal[0].message
            return listing
        tenant_client = client if tenant == client.tenant else client.with_tenant(tenant)
        try:
            listing.items = KINDS[name].read(tenant_client, tenant, namespace)
        except (TransportError, BadRequestError) as err:
            fatal.append(err)
            listing.error = err.message
        except AuthError as err:
            if err.status == 401:
                fatal.append(err)
            listing.error = err.message
        except KestraSyncError as err:
            listing.error = err.message
        return listing

    if not kind_scopes:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(kind_scopes)))) as pool:
        listings = list(pool.map(read, kind_scopes))
    if fatal:
        raise fatal[0]
    return listings
