"""What every kind of resource other than flows provides, and the plain data it works on.

A kind has four parts (and two helpers for the saved plan):
- ``scan(settings)``: read git's tree -> ``LocalScan`` (items, problems, namespaces it covers);
- ``read(client, tenant, namespace)``: read the server cheaply -> ``[RemoteItem]`` (raises a
  ``KestraSyncError`` when it cannot: the namespace is then left alone, never emptied);
- ``describe(local, remote)``: pure, the words and diff a reviewer sees for a change;
- ``write(client, change)`` / ``delete(client, change)``: one REST call or so, returning the
  word for the outcome ("created", "updated", "deleted");
- ``encode(payload)`` / ``decode(data)``: the payload in a saved plan's JSON.
Comparison is generic (``kestra_sync.resourceplan``): by content digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..models import Diagnostic, FlowRef

# Flow.namespace's pattern and length (validate.py cites AbstractFlow), for namespaces taken
# from a folder name.
NAMESPACE_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
NAMESPACE_MAX = 150


def bad_namespace(namespace: str) -> str | None:
    """Why Kestra would refuse this namespace, or None."""
    if not NAMESPACE_RE.fullmatch(namespace) or len(namespace) > NAMESPACE_MAX:
        return (
            f"{namespace!r} is not a Kestra namespace (lowercase letters, digits, '.', '_', "
            f"'-', at most {NAMESPACE_MAX} characters)"
        )
    return None


@dataclass
class LocalItem:
    ref: FlowRef  # ref.kind names the kind, ref.id the path or key
    path: str  # the local file it comes from (for reports)
    payload: Any
    digest: str


@dataclass
class RemoteItem:
    ref: FlowRef
    payload: Any
    digest: str


@dataclass
class LocalScan:
    items: list[LocalItem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # (tenant, namespace) whose server side this kind reads and compares: those git declares
    # something of this kind for (even nothing: an emptied `_files` mapping still counts).
    namespaces: set[tuple[str, str]] = field(default_factory=set)
    # (tenant, namespace) where server items git does not declare may be deleted (with
    # --delete); None = every namespace in ``namespaces``.
    deletable: set[tuple[str, str]] | None = None


@dataclass
class KindListing:
    """What the server holds of one kind in one namespace, or why it could not be read."""

    kind: str
    tenant: str
    namespace: str
    items: list[RemoteItem] = field(default_factory=list)
    error: str | None = None  # set when the read failed: nothing changes in that namespace


@dataclass
class Described:
    summary: list[str] = field(default_factory=list)
    diff: str = ""


class Kind(Protocol):
    name: str  # FlowRef.kind, e.g. "file"
    noun: str  # "namespace file", for messages
    undeclared_note: str  # why a server item git does not declare is kept

    def scan(self, settings: Any) -> LocalScan: ...

    def read(self, client: Any, tenant: str, namespace: str) -> list[RemoteItem]: ...

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described: ...

    def write(self, client: Any, change: Any) -> str: ...

    def delete(self, client: Any, change: Any) -> str: ...

    def encode(self, payload: Any) -> Any: ...

    def decode(self, data: Any) -> Any: ...
