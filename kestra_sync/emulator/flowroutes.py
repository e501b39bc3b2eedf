"""The flow endpoints (``/api/v1/{tenant}/flows``): create, get, update, delete, list a
namespace, search (with ``filters[...]``), validate, exports, revisions, distinct namespaces and
delete by ids. Each takes the request handler (its query, headers, server) and answers an
``Answer`` or raises a ``Rejection``. Paths, statuses and bodies follow kestra FlowController
(8ecd8337) and docs/kestra-api.md; comments say where a behaviour is inferred."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from ..rules import knowledge as K
from . import rules, shapes
from .answers import Answer, ok, rejected
from .errors import invalid_filters
from .settings import Config

YAML_TYPE = "application/x-yaml"

# QueryFilter.Field.supportedOp for the FLOW resource fields (QueryFilter.java).
_TEXT_OPS = (
    "EQUALS",
    "NOT_EQUALS",
    "CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
    "REGEX",
    "IN",
    "NOT_IN",
)
FILTER_OPS = {
    "q": ("EQUALS", "NOT_EQUALS"),
    "scope": ("EQUALS", "NOT_EQUALS", "IN", "NOT_IN"),
    "namespace": (*_TEXT_OPS, "PREFIX"),
    "labels": ("EQUALS", "NOT_EQUALS", "IN", "NOT_IN", "CONTAINS"),
    "flowId": _TEXT_OPS,
}
# QueryFilter.Op at the 0.22 cut (ea7c709f5^): no PREFIX, no NAMESPACE_PREFIX.
OPS_0_22 = (
    "EQUALS",
    "NOT_EQUALS",
    "GREATER_THAN",
    "LESS_THAN",
    "GREATER_THAN_OR_EQUAL_TO",
    "LESS_THAN_OR_EQUAL_TO",
    "IN",
    "NOT_IN",
    "STARTS_WITH",
    "ENDS_WITH",
    "CONTAINS",
    "REGEX",
)
FIELD_ENUM = {
    "q": "QUERY",
    "scope": "SCOPE",
    "namespace": "NAMESPACE",
    "labels": "LABELS",
    "flowId": "FLOW_ID",
}


def _yaml_body(h: Any, body: bytes, param: str) -> str:
    """``consumes = application/x-yaml`` and a required ``@Body String``."""
    ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != YAML_TYPE:
        # Micronaut route mismatch on consumes: 415 (docs/kestra-api.md: inferred, body unverified).
        shown = ctype or "null"
        raise rules.Rejection(
            415,
            "Unsupported Media Type",
            "Unsupported Media Type",
            [{"message": f"Content Type [{shown}] not allowed. Allowed types: [{YAML_TYPE}]"}],
        )
    if not body:
        # Micronaut UnsatisfiedBodyRouteException -> ErrorController "Invalid route params" (inferred).
        raise rules.Rejection(
            422,
            "Invalid route params",
            f"Invalid route params: Required Body [{param}] not specified",
        )
    return body.decode("utf-8")


def _json_flow_source(h: Any, body: bytes) -> str | None:
    """Up to 1.3, a JSON ``Flow`` body reaches the hidden JSON handlers of create and update
    (``consumes = MediaType.ALL``; removed in 2.0 by f48629c75, docs/kestra-versions.md), which
    store a source generated from the object. Here: the JSON dumped as YAML (the
    real generated text differs: KNOWN_GAPS). None when the request is not such a body."""
    ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/json" or h.server.config.at_least("2.0"):
        return None
    data = h.json_body(body)
    if not isinstance(data, dict):
        raise rules.Rejection(422, "Invalid json", "Invalid json: a flow must be an object")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def create(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    from_json = _json_flow_source(h, body)
    source = from_json if from_json is not None else _yaml_body(h, body, "flow")
    flow = rules.parse_for_write(source, h.server.config.version, h.server.config.edition)
    rev, changed = h.server.store.create(tenant, flow)
    # The JSON handler answers a Flow, without its source.
    with_source = from_json is None
    return ok(shapes.flow_json(rev, tenant, source=with_source, updated=not changed))


def update(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    from_json = _json_flow_source(h, body)
    source = from_json if from_json is not None else _yaml_body(h, body, "source")
    store = h.server.store
    # FlowController.updateFlow: findById first; a missing/deleted flow is a 404 before parsing.
    if store.last(tenant, p["namespace"], p["id"]) is None:
        return rejected(rules.not_found(), h.href)
    cfg = h.server.config
    flow = rules.parse_for_write(source, cfg.version, cfg.edition, update=True)
    rev, changed = store.update(tenant, p["namespace"], p["id"], flow)
    with_source = from_json is None
    return ok(shapes.flow_json(rev, tenant, source=with_source, updated=not changed))


def configs(cfg: Config) -> dict[str, Any]:
    """``MiscController.getConfiguration``: the fields a client reads (version, edition) and the
    auth flag of the profile (knowledge.CONFIGS_BASIC_AUTH_INITIALIZED). The other fields of
    the real answer (uuid, commitId, preview...) are not emulated."""
    out: dict[str, Any] = {"version": cfg.reported_version, "edition": cfg.edition.upper()}
    if cfg.has(K.CONFIGS_BASIC_AUTH_INITIALIZED):
        out["isBasicAuthInitialized"] = bool(cfg.users)
    else:
        out["isBasicAuthEnabled"] = cfg.auth_enabled
    return out


def get_flow(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    with_source = h.flag("source")
    revision = h.int_param("revision", None)
    store = h.server.store
    if revision is not None:
        rev = store.get(tenant, p["namespace"], p["id"], revision)
    else:
        rev = store.last(tenant, p["namespace"], p["id"], allow_deleted=h.flag("allowDeleted"))
    if rev is None:
        return rejected(rules.not_found(), h.href)
    return ok(shapes.flow_json(rev, tenant, source=with_source))


def delete(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    h.server.store.delete(tenant, p["namespace"], p["id"])
    return Answer(204, None, b"", None)


def list_namespace(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    ns = p["namespace"]
    revs = [r for r in h.server.store.live(tenant) if r.namespace == ns]
    return ok([shapes.flow_json(r, tenant, source=False) for r in revs])


def revisions(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    allow = h.flag("allowDelete")
    revs = h.server.store.revisions(tenant, p["namespace"], p["id"])
    return ok([shapes.flow_json(r, tenant, source=True) for r in revs if allow or not r.deleted])


def distinct_namespaces(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    q = h.param("q")
    names = sorted({r.namespace for r in h.server.store.live(tenant)})
    if q:
        names = [n for n in names if q.lower() in n.lower()]  # match rule approximated
    return ok(names)


def search(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    page = h.int_param("page", 1)
    size = h.int_param("size", 10)
    bad = []
    if page is not None and page < 1:
        bad.append(rules.Violation("searchFlows.page", "must be greater than or equal to 1"))
    if size is not None and size < 1:
        bad.append(rules.Violation("searchFlows.size", "must be greater than or equal to 1"))
    if bad:
        raise rules.ConstraintViolations(bad)
    revs = _filtered(h, tenant)
    for spec in reversed(h.params("sort")):
        fieldname, _, direction = spec.partition(":")
        key = {
            "id": "id",
            "namespace": "namespace",
            "revision": "revision",
            "updated": "updated",
        }.get(fieldname)
        if key:
            revs.sort(key=_unset_last(key), reverse=direction != "asc")
    assert page is not None and size is not None
    window = revs[(page - 1) * size : page * size]
    return ok(
        {
            "results": [shapes.flow_json(r, tenant, source=False) for r in window],
            "total": len(revs),
        }
    )


def _unset_last(attr: str) -> Callable[[Any], tuple[bool, Any]]:
    """Sort key on a revision's ``attr``; revisions without one come last in ascending order."""
    return lambda r: (getattr(r, attr) is None, getattr(r, attr) or "")


def _filtered(h: Any, tenant: str, export: bool = False) -> list[Any]:
    cfg = h.server.config
    # filters[...] on /export/by-query since 0.23, on /search since 0.22 (docs/kestra-versions.md).
    filters = [] if export and not cfg.at_least("0.23") else _parse_filters(h)
    legacy = []
    if not cfg.at_least("2.0"):
        # Legacy q/namespace params, up to 1.3; removed in 2.0 (ca87a2762), where they are
        # ignored. namespace= matches the namespace and its children (PREFIX semantics).
        for name, op in (("q", "EQUALS"), ("namespace", "PREFIX")):
            value = h.param(name)
            if value:
                legacy.append((name, op, None, value))
    store = h.server.store
    # A namespace EQUALS/PREFIX filter (what kestra-sync sends) narrows the rows first.
    narrow = next(
        (f for f in filters if f[0] == "namespace" and f[1] in ("EQUALS", "PREFIX")), None
    )
    rows = (
        store.live_in(tenant, narrow[3], children=narrow[1] == "PREFIX")
        if narrow
        else store.live(tenant)
    )
    out = []
    for rev in rows:
        if all(_filter_ok(h, rev, tenant, f) for f in (*filters, *legacy)):
            out.append(rev)
    return out


def _parse_filters(h: Any) -> list[tuple[str, str, str | None, str]]:
    """``filters[field][OP]=v`` and ``filters[labels][OP][key]=v`` (QueryFilterFormatBinder)."""
    found = []
    errors = []
    prefix = h.server.config.has(K.NAMESPACE_PREFIX_FILTER)
    for key, value in h.query:
        m = re.fullmatch(r"filters\[([^\]]+)\]\[([^\]]+)\](?:\[([^\]]*)\])?", key)
        if not m:
            continue
        name, op, sub = m.group(1), m.group(2).upper(), m.group(3)
        if not prefix and op not in OPS_0_22:
            # QueryFilterFormatBinder: QueryFilter.Op.valueOf(op) before any check of the
            # field, and 0.22's Op has no PREFIX (knowledge.NAMESPACE_PREFIX_FILTER).
            raise rules.illegal_argument(
                f"No enum constant io.kestra.core.models.QueryFilter.Op.{op}"
            )
        if name not in FILTER_OPS:
            errors.append(
                f"Field {name.upper()} is not supported for resource FLOW. Supported fields are "
                "LABELS, NAMESPACE, QUERY, SCOPE, FLOW_ID"
            )
            continue
        if op not in FILTER_OPS[name]:
            errors.append(
                f"Operation {op} is not supported for field {FIELD_ENUM[name]}. Supported operations are "
                + ", ".join(FILTER_OPS[name])
            )
            continue
        found.append((name, op, sub, value))
    if errors:
        raise invalid_filters(errors)
    return found


def _filter_ok(h: Any, rev: Any, tenant: str, f: tuple[str, str, str | None, str]) -> bool:
    name, op, sub, value = f
    if name == "scope":
        return True  # every emulated flow is a USER flow (system namespace not modelled)
    if name == "labels":
        labels = shapes.flow_json(rev, tenant, source=False).get("labels") or []
        pairs = {(lab.get("key"), lab.get("value")) for lab in labels}
        hit = (
            (sub, value) in pairs
            if sub
            else any(value in (lab.get("value") or "") for lab in labels)
        )
        return hit if op != "NOT_EQUALS" else not hit
    if name == "q":
        # Full-text on namespace + id (FULLTEXT_INDEX); approximated by a case-insensitive substring.
        hit = value.lower() in rev.namespace.lower() or value.lower() in rev.id.lower()
        return hit if op == "EQUALS" else not hit
    subject = rev.namespace if name == "namespace" else rev.id
    values = [v for v in re.sub(r"[\[\]]", "", value).split(",")]
    checks = {
        "EQUALS": lambda: subject == value,
        "NOT_EQUALS": lambda: subject != value,
        "CONTAINS": lambda: value in subject,
        "STARTS_WITH": lambda: subject.startswith(value),
        "ENDS_WITH": lambda: subject.endswith(value),
        "REGEX": lambda: re.search(value, subject) is not None,
        "IN": lambda: subject in values,
        "NOT_IN": lambda: subject not in values,
        # PREFIX: the namespace itself or a child (legacy namespace= param semantics)
        "PREFIX": lambda: subject == value or subject.startswith(value + "."),
    }
    if name == "namespace" and not h.server.config.has(K.NAMESPACE_PREFIX_FILTER):
        # 0.22 (AbstractJdbcRepository.applyNamespaceCondition at ea7c709f5^): STARTS_WITH on
        # a namespace is "equal, or like value + '.%'", what PREFIX is later.
        checks["STARTS_WITH"] = checks["PREFIX"]
    return checks[op]()


def validate(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != YAML_TYPE:
        # multipart/form-data is accepted by the real server (>= 1.3) but not emulated.
        raise rules.Rejection(
            415,
            "Unsupported Media Type",
            "Unsupported Media Type",
            [
                {
                    "message": f"Content Type [{ctype or 'null'}] not allowed. Allowed types: [{YAML_TYPE}, multipart/form-data]"
                }
            ],
        )
    text = body.decode("utf-8")
    items = []
    store = h.server.store
    for index, source in enumerate(rules.split_validate_body(text)):
        last = None
        try:
            data = rules.load_yaml(source, "flow", rules.FLOW_WITH_SOURCE_CLASS)
            if data.get("namespace") is not None and data.get("id") is not None:
                revs = store.revisions(tenant, str(data["namespace"]), str(data["id"]))
                last = revs[-1].revision if revs else None
        except rules.ConstraintViolations:
            pass
        items.append(
            rules.validate_one(
                source, index, last, h.server.config.version, h.server.config.edition
            )
        )
    return ok(items)


def export_by_query(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    revs = _filtered(h, tenant, export=True)
    data = shapes.zip_sources([(f"{r.namespace}-{r.id}.yml", r.source) for r in revs])
    return _zip(data)


def export_by_ids(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    ids = h.json_body(body) or []
    entries = []
    for item in ids:
        rev = h.server.store.last(tenant, str(item.get("namespace")), str(item.get("id")))
        if rev is None:  # findByIdWithSource(...).orElseThrow() -> NoSuchElementException
            raise rules.not_found("No value present")
        entries.append((f"{rev.namespace}.{rev.id}.yaml", rev.source))
    return _zip(shapes.zip_sources(entries))


def _zip(data: bytes) -> Answer:
    return Answer(
        200,
        None,
        data,
        "application/octet-stream",
        {"Content-Disposition": 'attachment; filename="flows.zip"'},
    )


def delete_by_ids(h: Any, tenant: str, p: dict[str, str], body: bytes) -> Answer:
    ids = h.json_body(body) or []
    count = 0
    for item in ids:
        # Sequential like the Java stream: earlier ids stay deleted when a later one is missing.
        ns, fid = str(item.get("namespace")), str(item.get("id"))
        if h.server.store.last(tenant, ns, fid) is None:
            raise rules.not_found("No value present")
        h.server.store.delete(tenant, ns, fid)
        count += 1
    return ok({"count": count})


# (method, route tail after ``/flows``) -> endpoint; the literal routes are matched in routing.py.
ENDPOINTS = {
    ("POST", ""): create,
    ("GET", "/search"): search,
    ("GET", "/distinct-namespaces"): distinct_namespaces,
    ("POST", "/validate"): validate,
    ("GET", "/export/by-query"): export_by_query,
    ("POST", "/export/by-ids"): export_by_ids,
    ("DELETE", "/delete/by-ids"): delete_by_ids,
    ("GET", "/{namespace}"): list_namespace,
    ("GET", "/{namespace}/{id}"): get_flow,
    ("PUT", "/{namespace}/{id}"): update,
    ("DELETE", "/{namespace}/{id}"): delete,
    ("GET", "/{namespace}/{id}/revisions"): revisions,
}
