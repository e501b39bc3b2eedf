"""The seam every kind of resource goes through, typed, and the plain data it works on.

Every kind writes and deletes through ``Writer`` (flows too: ``kinds.flows``), so that apply
runs one scheduler for all of them. The kinds compared by content digest (namespace files, KV
pairs) are full ``Kind``s:
- ``scan(settings)``: read git's tree -> ``LocalScan`` (items, problems, namespaces it covers);
- ``read(client, tenant, namespace)``: read the server cheaply -> ``[RemoteItem]`` (raises a
  ``KestraSyncError`` when it cannot: the namespace is then left alone, never emptied);
- ``describe(local, remote)``: pure, the words and diff a reviewer sees for a change;
- ``write(client, change)`` / ``delete(client, change)``: one REST call or so -> ``Written``
  (the word for the outcome: "created", "updated", "deleted", and a flow's new revision);
- ``encode(payload)`` / ``decode(data)``: the payload in a saved plan's JSON.
Their comparison is generic (``kestra_sync.planning.resourceplan``). Flows are compared by
``planning.plan.build_plan`` (revisions, references, ownership), the rest of their seam is here.

``KindClient`` is what a kind may ask of the client (``client.KestraClient`` provides it):
the kinds are typed against it, not against ``Any``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ..models import ERROR, NAMESPACE_MAX, NAMESPACE_RE, Diagnostic, FlowRef
from ..source.walk import special_kind

if TYPE_CHECKING:
    from ..models import RemoteFlow
    from ..planning.plan import Change


def bad_namespace(namespace: str) -> str | None:
    """Why Kestra would refuse this namespace (taken from a folder's name), or None: Kestra's
    pattern and length, read from ``rules.knowledge`` as everywhere."""
    if not NAMESPACE_RE.fullmatch(namespace) or len(namespace) > NAMESPACE_MAX:
        return (
            f"{namespace!r} is not a Kestra namespace (lowercase letters, digits, '.', '_', "
            f"'-', at most {NAMESPACE_MAX} characters)"
        )
    return None


def not_regular_is_an_error(problem: Diagnostic, consequence: str, code: str) -> Diagnostic:
    """The walker skips a FIFO or socket with a warning: under the flow directory a skipped
    file hides no flow it could name. A namespace file's name is its server path, and a kv.yml
    holds keys: a file the scan did not read would be deleted, or silently not deployed.
    ``consequence`` says which; the file is refused, as an unreadable file is."""
    if problem.code != "not-a-file":
        return problem
    try:
        kind = special_kind(os.stat(problem.path).st_mode)
    except OSError:
        kind = "a special file"
    return Diagnostic(
        problem.path,
        f"this is {kind}, not a regular file: it was not read, so {consequence}",
        ERROR,
        code=code,
    )


def second_path_is_an_error(
    problem: Diagnostic, found: list[tuple[str, Path]], what: str, code: str
) -> Diagnostic:
    """The walker reads a folder reached twice (a link to a folder it read already) once, with
    a warning: a flow names its own namespace, wherever it is read from. Namespace files and
    kv.yml take theirs from their folder's path, so under such a link they would belong to two
    namespaces, and which one they got would depend on the order of the walk: refuse it.
    ``found``: (namespace, path) of what the walk found."""
    if problem.code != "already-scanned":
        return problem
    here = os.path.realpath(problem.path)
    for namespace, path in found:
        real = os.path.realpath(path)
        if real == here or real.startswith(here.rstrip(os.sep) + os.sep):
            return Diagnostic(
                problem.path,
                f"this folder was already read through another path (a symbolic link), where "
                f"its {what} {path} belong to namespace {namespace}: from here they would "
                "belong to a second namespace; keep them in one place (copy the files, or add "
                "the link to .kestraignore)",
                ERROR,
                code=code,
            )
    return problem


@dataclass
class LocalItem:
    ref: FlowRef  # ref.kind names the kind, ref.id the path or key
    path: str  # the local file it comes from (for reports)
    payload: Any
    digest: str | None  # None: declared by name only, the server's content is left as it is


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
    # (tenant, namespace) -> why the scan never reads an item of that id (``.gitignore``
    # under `_files`, a path `.kestraignore` excludes), or None: such a server item is kept,
    # never deleted because git's copy was skipped.
    never_read: dict[tuple[str, str], Callable[[str], str | None]] = field(default_factory=dict)


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


class KindClient(Protocol):
    """The client calls the kinds make, per tenant (``with_tenant``)."""

    tenant: str

    def with_tenant(self, tenant: str) -> KindClient: ...

    # flows
    def upsert(
        self, source: str, namespace: str | None = ..., flow_id: str | None = ...
    ) -> Any: ...

    def update_flow(self, namespace: str, flow_id: str, source: str) -> RemoteFlow: ...

    def delete_flow(self, namespace: str, flow_id: str, missing_ok: bool = ...) -> None: ...

    # namespace files
    def export_namespace_files(self, namespace: str) -> dict[str, bytes]: ...

    def put_namespace_file(self, namespace: str, file_path: str, content: bytes) -> None: ...

    def delete_namespace_file(self, namespace: str, file_path: str) -> None: ...

    # KV pairs
    def namespace_kv(self, namespace: str) -> dict[str, tuple[str, Any]]: ...

    def put_kv(self, namespace: str, key: str, value: Any, ttl: str | None = ...) -> None: ...

    def delete_kv(self, namespace: str, key: str) -> bool: ...

    # Enterprise: apps, namespace settings, namespace secrets (client.enterprise)
    def require_enterprise(self, what: str) -> None: ...

    def list_apps(self, namespace: str) -> list[dict]: ...

    def get_app_source(self, uid: str) -> str | None: ...

    def create_app(self, source: str) -> str: ...

    def update_app(self, uid: str, source: str) -> None: ...

    def delete_app(self, uid: str) -> bool: ...

    def get_namespace(self, namespace: str) -> dict | None: ...

    def put_namespace(self, namespace: str, body: dict) -> None: ...

    def secret_keys(self, namespace: str) -> list[str]: ...

    def put_secret(self, namespace: str, key: str, value: str) -> None: ...


@dataclass
class Written:
    """What a write or delete did: "created", "updated", "unchanged", "deleted", "already
    deleted"; and the revision it made (flows)."""

    result: str
    revision: int | None = None


class Writer(Protocol):
    """How a kind's changes reach the server: every kind, flows included."""

    name: str  # FlowRef.kind: "flow", "file", "kv"
    noun: str  # "namespace file", for messages

    def write(self, client: KindClient, change: Change) -> Written: ...

    def delete(self, client: KindClient, change: Change) -> Written: ...


Payload = TypeVar("Payload")


class Kind(Writer, Protocol, Generic[Payload]):
    """A kind compared by content digest (namespace files: bytes; KV pairs: {value, ttl})."""

    undeclared_note: str  # why a server item git does not declare is kept

    def scan(self, settings: Any) -> LocalScan: ...

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]: ...

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described: ...

    def encode(self, payload: Payload) -> Any: ...

    def decode(self, data: Any) -> Payload: ...

    def payload_digest(self, payload: Payload) -> str:
        """The digest the plan compares and shows for ``payload``."""
        ...
