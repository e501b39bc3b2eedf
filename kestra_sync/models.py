"""Plain data shared by the layers: what a local file holds, what the server holds, what is wrong.

No I/O here and no heavy imports, so that plan.py and the reporters can be tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TENANT = "main"  # OSS always uses the tenant "main" (api-facts.md §2)


FLOW = "flow"


@dataclass(frozen=True, order=True)
class FlowRef:
    """Where a resource lives on a server: tenant, namespace and id, for a ``kind`` of
    resource: a flow (the default; ``id`` is the flow id), a namespace file (``"file"``; ``id``
    is its path, ``/etl/load.py``) or a KV pair (``"kv"``; ``id`` is the key)."""

    tenant: str
    namespace: str
    id: str
    kind: str = FLOW

    def __str__(self) -> str:
        """``namespace/id`` for a flow, ``namespace file /path`` or ``namespace kv key`` for the
        other kinds, prefixed with ``tenant:`` when not the default tenant."""
        base = (
            f"{self.namespace}/{self.id}"
            if self.kind == FLOW
            else (f"{self.namespace} {self.kind} {self.id}")
        )
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

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR
