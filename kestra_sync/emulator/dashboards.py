"""Dashboards: ``/api/v1/{tenant}/dashboards``, their state and their endpoints (routed from
routing.py, dispatched from server.py).

Sources, kestra-io/kestra:
- ``webserver/.../controllers/api/DashboardController.java`` at develop 8ecd83370 and at the
  1.0 cut (a3c9b35b2): list ``{results, total}`` paged by ``page``/``size``; ``GET {id}``
  (null, so 404, when missing; ``id: <id>`` prepended to a source with no line starting
  ``id:``, b3fa5ead6); ``POST`` YAML (422 ``Illegal argument: Dashboard id is mandatory``,
  422 ``Invalid entity: dashboard.id: Dashboard id already exists``); ``PUT {id}`` (404 with
  no body when missing, 422 ``Illegal dashboard id update``); ``DELETE {id}`` (204);
  ``POST validate`` (a ``ValidateConstraintViolation``, 200 even for an invalid dashboard).
- ``jdbc/.../AbstractJdbcDashboardRepository.java`` (8ecd83370): ``save`` stores the body as
  ``source_code`` verbatim and returns the previous row when nothing changed; ``delete`` of a
  missing id throws ``IllegalStateException("Dashboard <id> doesn't exists")``, which
  ``ErrorController`` answers 409 ``Illegal state: ...``.
- ``Dashboard.java`` / ``Chart.java`` (8ecd83370): ``id``, ``title`` @NotBlank; a chart's
  ``id`` @Pattern ``^[a-zA-Z0-9][a-zA-Z0-9_-]*`` and a ``type`` (a plugin class).
- At the 0.22 cut (ea7c709f5^) the id is the server's: a YAML naming one is refused
  (``IllegalArgumentException("Dashboard id is not editable")``) and ``IdUtils.create()``
  makes one (knowledge.DASHBOARD_IDS).
Inferred, not read: the listing's entries carry no ``sourceCode`` here (a client must not
count on it); the exact texts of Jackson's errors for a chart of an unknown type.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..rules import knowledge as K
from . import rules
from .answers import Answer, ok
from .errors import ConstraintViolations, Violation, method_not_allowed
from .state import now_iso, write_json_atomically
from .yamlparse import as_text, load_yaml

PREFIX = "/api/v1/{tenant}/dashboards"
DASHBOARD_CLASS = "io.kestra.core.models.dashboards.Dashboard"
ID_LINE = re.compile(r"^id:.*$", re.MULTILINE)  # DashboardController.DASHBOARD_ID_PATTERN
CHART_ID = re.compile(K.DASHBOARD_CHART_ID)  # @Pattern: the whole value matches
_CREATE_LOCK = threading.Lock()


@dataclass
class StoredDashboard:
    id: str
    title: str
    source: str
    description: str | None = None
    created: str = ""
    updated: str = ""


class DashboardStore:
    """tenant -> id -> the live dashboard (a delete removes it: the soft-deleted row is never
    served again by these endpoints)."""

    def __init__(self, path: Path | None = None):
        self.lock = threading.RLock()
        self.path = path
        self.tenants: dict[str, dict[str, StoredDashboard]] = {}
        if path is not None and path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            for tenant, rows in raw.items():
                self.tenants[tenant] = {r["id"]: StoredDashboard(**r) for r in rows}

    def save(self) -> None:
        if self.path is not None:
            payload = {t: [asdict(d) for d in rows.values()] for t, rows in self.tenants.items()}
            write_json_atomically(self.path, payload)

    def reset(self) -> None:
        with self.lock:
            self.tenants = {}
            self.save()

    def of(self, tenant: str) -> dict[str, StoredDashboard]:
        return self.tenants.setdefault(tenant, {})


def store_of(server: Any) -> DashboardStore:
    """The server's dashboards, made on first use, saved beside the flow store's state file."""
    with _CREATE_LOCK:
        if not hasattr(server, "dashboards"):
            state = getattr(server.store, "path", None)
            server.dashboards = DashboardStore(
                Path(str(state) + ".dashboards.json") if state else None
            )
        return server.dashboards


def match(segs: list[str]) -> tuple[str, dict[str, str]] | None:
    """``segs``: the path segments after ``/api/v1/{tenant}/dashboards``."""
    if segs and segs[-1] == "":
        segs = segs[:-1]
    if not segs:
        return PREFIX, {}
    if segs == ["validate"]:
        return PREFIX + "/validate", {}
    if len(segs) == 1:
        return PREFIX + "/{id}", {"id": segs[0]}
    return None


def dispatch(handler: Any, method: str, route: str, p: dict[str, str], body: bytes) -> Answer:
    cfg = handler.server.config
    tail = route[len(PREFIX) :]
    endpoints = {
        ("GET", ""): list_dashboards,
        ("POST", ""): create,
        ("POST", "/validate"): validate,
        ("GET", "/{id}"): get,
        ("PUT", "/{id}"): update,
        ("DELETE", "/{id}"): delete,
    }
    endpoint = endpoints.get((method, tail))
    if endpoint is None:
        allowed = sorted(m for (m, t) in endpoints if t == tail)
        raise method_not_allowed(method, handler.href, allowed)
    with store_of(handler.server).lock:
        return endpoint(handler, cfg, p["tenant"], p, body)


def _response(tenant: str, d: StoredDashboard, source: str | None) -> dict[str, Any]:
    """DashboardResponse (non_null inclusion: unset fields left out). The parsed charts and
    timeWindow are not echoed (kestra-sync reads only ids and sources; KNOWN_GAPS)."""
    out: dict[str, Any] = {
        "tenantId": tenant,
        "id": d.id,
        "title": d.title,
        "deleted": False,
        "created": d.created,
        "updated": d.updated,
    }
    if d.description is not None:
        out["description"] = d.description
    if source is not None:
        out["sourceCode"] = source
    return out


def list_dashboards(h: Any, cfg: Any, tenant: str, p: dict, body: bytes) -> Answer:
    page = h.int_param("page", 1) or 1
    size = h.int_param("size", 10) or 10
    if page < 1 or size < 1:
        raise rules.Rejection(400, "Bad Request", "Bad Request: page and size must be >= 1")
    rows = sorted(store_of(h.server).of(tenant).values(), key=lambda d: d.id)
    chunk = rows[(page - 1) * size : page * size]
    return ok({"results": [_response(tenant, d, None) for d in chunk], "total": len(rows)})


def get(h: Any, cfg: Any, tenant: str, p: dict, body: bytes) -> Answer:
    found = store_of(h.server).of(tenant).get(p["id"])
    if found is None:
        raise rules.Rejection(404, "Not Found")  # the controller returns null
    source = found.source
    if not ID_LINE.search(source):
        source = f"id: {found.id}\n{source}"
    return ok(_response(tenant, found, source))


def create(h: Any, cfg: Any, tenant: str, p: dict, body: bytes) -> Answer:
    source = _yaml_body(h, body)
    data = load_yaml(source, "dashboard", DASHBOARD_CLASS)
    dashboards = store_of(h.server).of(tenant)
    dashboard_id = as_text(data.get("id"))
    if not cfg.has(K.DASHBOARD_IDS):
        _check_model(data, cfg.version, with_id=False)
        if dashboard_id is not None:
            raise rules.illegal_argument("Dashboard id is not editable")
        dashboard_id = secrets.token_urlsafe(15)  # IdUtils.create(): a random short id
    else:
        if dashboard_id is None:
            raise rules.illegal_argument("Dashboard id is mandatory")
        _check_model(data, cfg.version)
        if dashboard_id in dashboards:
            raise ConstraintViolations([Violation("dashboard.id", "Dashboard id already exists")])
    stamp = now_iso()
    row = StoredDashboard(
        dashboard_id, as_text(data.get("title")) or "", source, None, stamp, stamp
    )
    row.description = as_text(data.get("description"))
    dashboards[dashboard_id] = row
    store_of(h.server).save()
    return ok(_response(tenant, row, source))


def update(h: Any, cfg: Any, tenant: str, p: dict, body: bytes) -> Answer:
    dashboards = store_of(h.server).of(tenant)
    existing = dashboards.get(p["id"])
    if existing is None:
        raise rules.Rejection(404, "Not Found")  # HttpResponse.status(NOT_FOUND): no body
    source = _yaml_body(h, body)
    data = load_yaml(source, "dashboard", DASHBOARD_CLASS)
    new_id = as_text(data.get("id"))
    if cfg.has(K.DASHBOARD_IDS) and new_id != p["id"]:
        raise ConstraintViolations([Violation("dashboard.id", "Illegal dashboard id update")])
    _check_model(data, cfg.version, with_id=cfg.has(K.DASHBOARD_IDS))
    if existing.source != source:  # save() returns the previous row when nothing changed
        existing.source, existing.updated = source, now_iso()
        existing.title = as_text(data.get("title")) or ""
        existing.description = as_text(data.get("description"))
        store_of(h.server).save()
    return ok(_response(tenant, existing, existing.source))


def delete(h: Any, cfg: Any, tenant: str, p: dict, body: bytes) -> Answer:
    dashboards = store_of(h.server).of(tenant)
    if dashboards.pop(p["id"], None) is None:
        raise rules.Rejection(
            409, "Illegal state", f"Illegal state: Dashboard {p['id']} doesn't exists"
        )
    store_of(h.server).save()
    return Answer(204, None, b"", None)


def validate(h: Any, cfg: Any, tenant: str, p: dict, body: bytes) -> Answer:
    """Always 200: the violations, if any, in ``constraints``."""
    source = _yaml_body(h, body)
    answer: dict[str, Any] = {"index": 0}
    try:
        _check_model(load_yaml(source, "dashboard", DASHBOARD_CLASS), cfg.version)
    except ConstraintViolations as cve:
        answer["constraints"] = cve.text
    return ok(answer)


def _yaml_body(h: Any, body: bytes) -> str:
    from .flowroutes import _yaml_body as yaml_body  # the same @Body String, x-yaml rules

    return yaml_body(h, body, "dashboard")


def _check_model(data: dict[str, Any], version: str, with_id: bool = True) -> None:
    """``modelValidator.validate(dashboard)``: Dashboard's and each Chart's bean constraints;
    a chart type the version has no class for fails Jackson's type resolution (inferred text)."""
    v: list[Violation] = []
    if with_id and not (as_text(data.get("id")) or "").strip():
        v.append(Violation("id", "must not be blank"))
    if not (as_text(data.get("title")) or "").strip():
        v.append(Violation("title", "must not be blank"))
    charts = data.get("charts")
    for index, chart in enumerate(charts if isinstance(charts, list) else []):
        if not isinstance(chart, dict):
            continue
        chart_type = as_text(chart.get("type")) or ""
        if not _known_chart(chart_type, version):
            raise ConstraintViolations(
                [Violation(f"charts[{index}].type", f"Invalid type: {chart_type}")],
                message=f"Invalid type: {chart_type}",
            )
        chart_id = as_text(chart.get("id")) or ""
        if not chart_id.strip():
            v.append(Violation(f"charts[{index}].id", "must not be blank"))
        elif not CHART_ID.fullmatch(chart_id):
            v.append(Violation(f"charts[{index}].id", f'must match "^{K.DASHBOARD_CHART_ID}"'))
    if v:
        raise ConstraintViolations(v, kestra=True)


def _known_chart(chart_type: str, version: str) -> bool:
    """The core chart classes of the version; the emulator has no plugin charts."""
    package = K.DASHBOARD_CHART_PACKAGE
    name = chart_type[len(package) :] if chart_type.startswith(package) else None
    return name is not None and version in K.DASHBOARD_CHART_TYPES.get(name, ())
