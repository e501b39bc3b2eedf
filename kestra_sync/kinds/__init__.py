"""The kinds of resource kestra-sync manages, one module each behind the typed seam of
``base``: flows (``flows``), namespace files (``nsfiles``), KV pairs (``kv``), dashboards
(``dashboards``) and flow test suites (``testsuites``, Enterprise).

The registry: ``FLOWS`` and ``KINDS`` (the kinds compared by content digest, by name).
Adding a kind is one module and one entry in the tuple below (or ``register`` at run time, as
the tests do): plan, apply, ``--target``, the reports and the saved plan take it from here and
from its facts (``base.KindFacts``). ``every_kind()`` is every kind, flows first;
``writer(name)`` how one is written; ``prefixed(prefix)`` the kind a ``--target`` names.
Dashboards (``dashboards``) belong to a tenant, not a namespace (``level``): their one
scope per tenant has the namespace "".
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import AuthError, BadRequestError, KestraSyncError, TransportError
from .base import (
    Kind,
    KindClient,
    KindFacts,
    KindListing,
    KindUnsupported,
    LocalScan,
    Writer,
    facts,
)
from .dashboards import Dashboards
from .flows import Flows
from .kv import KeyValues
from .nsfiles import NamespaceFiles
from .testsuites import TestSuites

FLOWS = Flows()
KINDS: dict[str, Kind[Any]] = {
    k.name: k for k in (NamespaceFiles(), KeyValues(), Dashboards(), TestSuites())
}
WRITERS: dict[str, Writer] = {FLOWS.name: FLOWS, **KINDS}
for _kind in KINDS.values():
    facts(_kind)  # a kind not derived from base.KindBase gets the defaults of its facts


def register(new: Kind[Any]) -> Kind[Any]:
    """Add a kind compared by digest (a plugin, a test's kind): every stage takes it from now
    on. Its name and target prefix must be new."""
    known = every_kind()
    if new.name in WRITERS or facts(new).target_prefix in {k.target_prefix for k in known}:
        raise ValueError(f"a kind named {new.name!r} (or with its target prefix) exists")
    KINDS[new.name] = new
    WRITERS[new.name] = new
    return new  # facts(new) above gave it the defaults of its facts


def unregister(name: str) -> None:
    """Remove a kind ``register`` added (flows stay)."""
    if name == FLOWS.name:
        raise ValueError("flows are not a registered kind")
    KINDS.pop(name, None)
    WRITERS.pop(name, None)


def every_kind() -> list[KindFacts]:
    """Every kind, flows first, then the others in the order they were registered."""
    return [facts(w) for w in WRITERS.values()]


def facts_of(name: str) -> KindFacts | None:
    """The facts of the kind named ``name``, or None for a name no kind has (an entry of a
    plan saved by a version that had that kind)."""
    found = WRITERS.get(name)
    return None if found is None else facts(found)


def prefixed(prefix: str) -> KindFacts | None:
    """The kind whose targets start with ``PREFIX:`` ("" for flows), or None."""
    return next((k for k in every_kind() if k.target_prefix == prefix), None)


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
        except KindUnsupported as err:
            listing.unsupported = err.message
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
