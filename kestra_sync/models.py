"""Plain data shared by the layers: what a local file holds, what the server holds, what is wrong.

No I/O here and no heavy imports, so that plan.py and the reporters can be tested on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .rules import knowledge as K

if TYPE_CHECKING:
    from .source.yamlindex import ParsedYaml

DEFAULT_TENANT = "main"  # OSS always uses the tenant "main" (TenantService, docs/kestra-api.md)
# Concurrent requests. Kestra's bulk endpoints cannot write flows with every guarantee apply gives
# (docs/performance.md), so a first deploy goes fast by keeping many single writes in flight;
# apply halves them whenever the server answers 429/503 (throttle.py).
DEFAULT_PARALLELISM = 16

# Kestra's rules for a flow's id and namespace (AbstractFlow bean validation, docs/kestra-api.md;
# kestra 58c1ca2d0 core/.../models/flows/AbstractFlow.java:21-27), from knowledge.py, the one
# place for Kestra facts. ``@Pattern`` matches the whole string, so use ``fullmatch``.
ID_RE = re.compile(K.FLOW_ID_PATTERN[1:])
NAMESPACE_RE = re.compile(K.NAMESPACE_PATTERN[1:])
ID_MAX = K.FLOW_ID_MAX
NAMESPACE_MAX = K.NAMESPACE_MAX
LEGACY_ID_RE = re.compile(K.LEGACY_FLOW_ID_PATTERN)
LEGACY_NAMESPACE_RE = re.compile(K.LEGACY_NAMESPACE_PATTERN)


def server_name_problem(namespace: str, flow_id: str, *, legacy: bool = False) -> str | None:
    """Why a namespace/id that a server sent cannot be trusted in a URL or a file path, or None.

    ``legacy`` also accepts what Kestra accepted before Nov 2023, but never ``.``/``..`` (a URL
    or path segment that climbs) and never more than the database columns hold (VARCHAR(100)
    and VARCHAR(150), AbstractFlow's @Size at kestra 8ecd8337)."""
    id_re, ns_re = (LEGACY_ID_RE, LEGACY_NAMESPACE_RE) if legacy else (ID_RE, NAMESPACE_RE)
    for what, value, regex, limit in (
        ("namespace", namespace, ns_re, NAMESPACE_MAX),
        ("flow id", flow_id, id_re, ID_MAX),
    ):
        if len(value) > limit:
            return f"a {what} of {len(value):,} characters (Kestra allows {limit})"
        if not regex.fullmatch(value) or value in (".", ".."):
            return f"the {what} {shorten(value)}, which Kestra does not allow"
    return None


def shorten(value: str, limit: int = 60) -> str:
    """A value from a server, quoted with control characters escaped and cut to ``limit``."""
    text = repr(value[:limit])
    return text + f"... ({len(value):,} characters)" if len(value) > limit else text


FLOW = "flow"


@dataclass(frozen=True, order=True)
class FlowRef:
    """Where a resource lives on a server: tenant, namespace and id, for a ``kind`` of
    resource: a flow (the default; ``id`` is the flow id), a namespace file (``"file"``; ``id``
    is its path, ``/etl/load.py``), a KV pair (``"kv"``; ``id`` is the key) or a dashboard
    (``"dashboard"``; a tenant's, so ``namespace`` is "")."""

    tenant: str
    namespace: str
    id: str
    kind: str = FLOW

    def __str__(self) -> str:
        """``namespace/id`` for a flow, ``namespace file /path`` or ``namespace kv key`` for the
        other kinds, prefixed with ``tenant:`` when not the default tenant."""
        if self.kind == FLOW:
            base = f"{self.namespace}/{self.id}"
        elif not self.namespace:  # a tenant's resource (a dashboard)
            base = f"{self.kind} {self.id}"
        else:
            base = f"{self.namespace} {self.kind} {self.id}"
        return base if self.tenant == DEFAULT_TENANT else f"{self.tenant}:{base}"


@dataclass
class LocalFlow:
    """One flow file as found on disk.

    ``source`` is the exact text of the file (decoded UTF-8, line endings untouched), because the
    server stores the source byte for byte. ``data`` is the parsed YAML (None when it did not
    parse); ``namespace``/``id`` are None when missing or not strings.
    """

    # As found by the scanner, relative to the working directory when possible.
    path: Path
    source: str
    data: Any = None
    namespace: str | None = None
    id: str | None = None
    tenant: str = DEFAULT_TENANT

    @property
    def ref(self) -> FlowRef | None:
        if self.namespace is None or self.id is None:
            return None
        return FlowRef(self.tenant, self.namespace, self.id)


PARSE_ON_USE: Any = object()  # FlowParsedOnUse(data=PARSE_ON_USE): parse when asked


class FlowParsedOnUse(LocalFlow):
    """A flow file an earlier run parsed and checked (``resultcache``): its namespace and id
    are known, and ``data`` is parsed from the source only when something asks for it (a plan
    of unchanged flows never does), then kept. ``labels``: its labels as the cache knew them
    (``ownership.label_pairs``), so the ownership check needs no parse either."""

    labels: list[tuple[str, str]] | None = None

    @property
    def data(self) -> Any:
        try:
            return self.__dict__["_data"]
        except KeyError:
            from .source.yamlindex import parse_yaml

            value = self.__dict__["_data"] = parse_yaml(self.source).data
            return value

    @data.setter
    def data(self, value: Any) -> None:
        if value is PARSE_ON_USE:
            self.__dict__.pop("_data", None)
        else:
            self.__dict__["_data"] = value


@dataclass
class RemoteFlow:
    """A flow as the server holds it (latest, non-deleted revision unless said otherwise)."""

    namespace: str
    id: str
    revision: int
    source: str | None = None  # None when the listing did not carry sources
    tenant: str = DEFAULT_TENANT
    disabled: bool = False
    deleted: bool = False
    labels: list[dict[str, Any]] = field(default_factory=list)  # always [{key, value}] once read
    updated: str | None = None

    @property
    def ref(self) -> FlowRef:
        return FlowRef(self.tenant, self.namespace, self.id)


ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a file. ``line``/``column`` are 1-based; None when not known."""

    path: str
    message: str
    severity: str = ERROR
    line: int | None = None
    column: int | None = None
    code: str = ""  # a short stable identifier, e.g. "yaml-syntax", "missing-id"
    # True for a verdict of the version table (flowrules): judged again for another version.
    versioned: bool = field(default=False, compare=False, repr=False)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def diag_at(
    flow: LocalFlow,
    parsed: ParsedYaml | None,
    path: tuple,
    code: str,
    message: str,
    severity: str = ERROR,
    key: bool = False,
) -> Diagnostic:
    """A diagnostic for ``flow`` at the line of ``path`` (its key with ``key``)."""
    line = column = None
    if parsed is not None:
        line, column = parsed.key_position(path) if key else parsed.position(path)
    return Diagnostic(str(flow.path), message, severity, line, column, code)


# A plan's actions, and its item (planning/plan.py makes them; the kinds write them).
CREATE = "create"
UPDATE = "update"
DELETE = "delete"
UNCHANGED = "unchanged"
UNMANAGED = "unmanaged"  # on the server, in scope, not in git, and not to be deleted
ACTIONS = (CREATE, UPDATE, DELETE, UNCHANGED, UNMANAGED)
CHANGING = (CREATE, UPDATE, DELETE)


@dataclass
class Change:
    action: str
    ref: FlowRef
    path: str | None = None  # local file, when git has the flow
    source: str | None = None  # the local source to send (create/update)
    server_source: str | None = None
    server_revision: int | None = None  # what the plan was made against; None = absent
    diff: str = ""
    summary: list[str] = field(default_factory=list)
    formatting_only: bool = False
    note: str = ""  # why a server-only flow is kept, e.g. deletion not enabled
    # Kinds other than flows (ref.kind): what to write (bytes of a file, a KV value), and the
    # content hash of git's and of the server's version (None = absent), which stand in for
    # the revision when a saved plan is checked for staleness.
    payload: Any = None
    digest: str | None = None
    server_digest: str | None = None
    # The server's content of an updated file or KV pair, for `pull --branch` (drift back into
    # git); never saved in a plan file.
    server_payload: Any = None

    @property
    def kind(self) -> str:
        return self.ref.kind
