"""What every kind of resource other than flows provides, and the plain data it works on.

A kind has four parts (and two helpers for the saved plan):
- ``scan(settings)``: read git's tree -> ``LocalScan`` (items, problems, namespaces it covers);
- ``read(client, tenant, namespace)``: read the server cheaply -> ``[RemoteItem]`` (raises a
  ``KestraSyncError`` when it cannot: the namespace is then left alone, never emptied);
- ``describe(local, remote)``: pure, the words and diff a reviewer sees for a change;
- ``write(client, change)`` / ``delete(client, change)``: one REST call or so, returning the
  word for the outcome ("created", "updated", "deleted");
- ``encode(payload)`` / ``decode(data)``: the payload in a saved plan's JSON.
Comparison is generic (``kestra_sync.planning.resourceplan``): by content digest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..models import ERROR, Diagnostic, FlowRef
from ..source.walk import special_kind

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
