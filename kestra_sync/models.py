"""Plain data shared by the layers: what a local file holds, what the server holds, what is wrong.

No I/O here and no heavy imports, so that plan.py and the reporters can be tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .yamlindex import ParsedYaml

DEFAULT_TENANT = "main"  # OSS always uses the tenant "main" (api-facts.md §2)


@dataclass(frozen=True, order=True)
class FlowRef:
    """Where a flow lives on a server: tenant, namespace and id."""

    tenant: str
    namespace: str
    id: str

    def __str__(self) -> str:
        """``namespace/id``, prefixed with ``tenant:`` when not the default tenant."""
        base = f"{self.namespace}/{self.id}"
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
