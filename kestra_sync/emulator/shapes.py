"""JSON shapes the server sends: Flow / FlowWithSource, search pages, zip exports.

Jackson settings (docs/kestra-api.md): nulls omitted, ISO dates; ``tenantId``, ``disabled`` and
``deleted`` always present; labels as a list of ``{key, value}``. Field order follows the Java
declarations (AbstractFlow, then Flow, then FlowWithSource.source); clients must not rely on it.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from typing import Any

from . import rules
from .state import Revision

# The flow fields echoed from the YAML, in declaration order: every known property but those
# the server sets itself.
SERVER_SET = ("id", "namespace", "revision", "updated", "disabled", "deleted", "tenantId", "source")
ECHOED = tuple(k for k in rules.KNOWN_FLOW_PROPERTIES if k not in SERVER_SET)
_parse_lock = threading.Lock()
_UNSET = object()


def parsed_of(rev: Revision) -> rules.ParsedFlow | None:
    """The parsed source of a stored row. Writes attach the parse they validated with
    (state.Store keeps it on the newest row only); a row loaded from a state file, seeded, or
    superseded is parsed once here and keeps the result, so a search over 10,000 flows never
    re-parses (a bounded cache of 2,048 entries made each such search parse them all again)."""
    parsed = rev.__dict__.get("parsed", _UNSET)
    if parsed is _UNSET:
        try:
            parsed = rules.parse_generic(rev.source)
        except rules.ConstraintViolations:
            parsed = None  # a seeded/persisted source that no longer parses: identity fields only
        with _parse_lock:
            rev.__dict__.setdefault("parsed", parsed)
    return parsed


def flow_json(rev: Revision, tenant: str, *, source: bool, updated: bool = True) -> dict[str, Any]:
    """A ``Flow`` (``source=False``) or ``FlowWithSource`` as the server serializes it.

    ``updated=False`` reproduces create/update responses, which are built before the timestamp
    is set (AbstractJdbcFlowRepository.save returns ``flowWithSource.toBuilder().revision(r)``).
    """
    parsed = parsed_of(rev)
    data = parsed.data if parsed else {}
    out: dict[str, Any] = {"id": rev.id, "namespace": rev.namespace, "revision": rev.revision}
    if updated and rev.updated:
        out["updated"] = rev.updated
    if data.get("description") is not None:
        out["description"] = data["description"]
    for key in ("inputs", "outputs"):
        if data.get(key) is not None:
            out[key] = data[key]
    out["disabled"] = rev.disabled
    out["deleted"] = rev.deleted
    out["tenantId"] = tenant
    for key in ECHOED:
        if key in ("description", "inputs", "outputs") or data.get(key) is None:
            continue
        out[key] = parsed.labels() if key == "labels" and parsed else data[key]
    if source:
        out["source"] = rev.source
    return out


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode(
        "utf-8"
    )


def zip_sources(entries: list[tuple[str, str]]) -> bytes:
    """``HasSource.asZipFile``: one entry per flow, the stored source bytes verbatim."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries:
            archive.writestr(name, text.encode("utf-8"))
    return buf.getvalue()
