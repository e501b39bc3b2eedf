"""Apps, namespace settings and namespace secrets: Enterprise endpoints, served in the ``ee``
edition only; the ``oss`` edition answers as Kestra OSS does (docs/enterprise-kinds.md).

Sources:
- the Enterprise OpenAPI descriptions kestra-io/client-sdk ``kestra-ee.yml`` (vendored in
  tests/data/openapi/: 926dc17b for 0.22, 500410a9 for 1.0, 635944d4 for 1.3, 50cb46f4 for
  2.0): ``/apps`` (POST YAML -> ``ApiAppSource``), ``/apps/search`` (``PagedResults`` of
  ``ApiApp``), ``/apps/{uid}`` (GET/PUT YAML/DELETE); ``/namespaces`` (POST), ``/namespaces/{id}``
  (GET/PUT ``Namespace``, whose properties change with the version: knowledge
  NAMESPACE_PLUGIN_DEFAULTS, NAMESPACE_WORKER_SELECTOR); ``/namespaces/{ns}/secrets`` (PUT
  ``ApiSecretValue`` -> ``[ApiSecretMetaEE]``; GET listing before 2.0 only) and
  ``/secrets/{key}`` (DELETE); ``/namespaces/{ns}/inherited-secrets`` (GET, both editions).
- OSS: kestra-io/kestra NamespaceController (065258fd) answers ``GET /namespaces/{id}`` for any
  id with a bare ``{"id"}`` and has no PUT there (Micronaut: 405); NamespaceSecretController
  (0fffbcac) serves the deprecated listing and ``inherited-secrets`` from its environment's
  secrets (none here) and no write; there is no apps controller (404).
Inferred (KNOWN_GAPS): an app's ``uid`` is made by the emulator; creating an app whose id
exists, or a namespace that exists, answers 422; ``GET /namespaces/{id}`` of a namespace EE
keeps no settings for answers 404.
"""

from __future__ import annotations

import json
import secrets as random
import threading
from pathlib import Path
from typing import Any

import yaml

from ..rules import knowledge as K
from . import rules
from .answers import Answer, ok
from .errors import method_not_allowed
from .state import now_iso, write_json_atomically

APPS = "/api/v1/{tenant}/apps"
APPS_SEARCH = APPS + "/search"
APP = APPS + "/{uid}"
NAMESPACES = "/api/v1/{tenant}/namespaces"
NAMESPACE = NAMESPACES + "/{id}"
SECRETS = NAMESPACES + "/{namespace}/secrets"
SECRET = SECRETS + "/{key}"
INHERITED = NAMESPACES + "/{namespace}/inherited-secrets"
ROUTES = (APPS, APPS_SEARCH, APP, NAMESPACES, NAMESPACE, SECRETS, SECRET, INHERITED)
COMMON_FIELDS = ("description", "variables", "allowedNamespaces", "outputsInInternalStorage")


class EnterpriseStore:
    """Apps, namespaces and secret values per tenant; saved beside the flow store's state."""

    def __init__(self, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.apps: dict[str, dict[str, dict]] = {}  # tenant -> uid -> {source, created...}
        self.namespaces: dict[str, dict[str, dict]] = {}  # tenant -> id -> Namespace
        self.secrets: dict[str, dict[str, dict[str, str]]] = {}  # tenant -> ns -> key -> value
        if path is not None and path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.apps, self.namespaces = raw.get("apps", {}), raw.get("namespaces", {})
            self.secrets = raw.get("secrets", {})

    def save(self) -> None:
        if self.path is not None:
            with self.lock:
                write_json_atomically(
                    self.path,
                    {"apps": self.apps, "namespaces": self.namespaces, "secrets": self.secrets},
                )

    def reset(self) -> None:
        with self.lock:
            self.apps, self.namespaces, self.secrets = {}, {}, {}
            self.save()


_CREATE_LOCK = threading.Lock()


def store_of(server: Any) -> EnterpriseStore:
    with _CREATE_LOCK:
        if not hasattr(server, "enterprise"):
            state = getattr(server.store, "path", None)
            server.enterprise = EnterpriseStore(Path(str(state) + ".ee.json") if state else None)
        return server.enterprise


def match_apps(segs: list[str]) -> tuple[str, dict[str, str]] | None:
    """``segs``: the path after ``/api/v1/{tenant}/apps``."""
    if not segs or segs == [""]:
        return APPS, {}
    if len(segs) == 1 and segs[0] == "search":
        return APPS_SEARCH, {}
    if len(segs) == 1 and segs[0]:
        return APP, {"uid": segs[0]}
    return None


def match_namespaces(segs: list[str]) -> tuple[str, dict[str, str]] | None:
    """``segs``: the path after ``/api/v1/{tenant}/namespaces``."""
    if not segs or segs == [""]:
        return NAMESPACES, {}
    if len(segs) == 1 and segs[0] not in ("search", "autocomplete", "ids"):
        return NAMESPACE, {"id": segs[0]}
    if len(segs) == 2 and segs[1] == "secrets":
        return SECRETS, {"namespace": segs[0]}
    if len(segs) == 2 and segs[1] == "inherited-secrets":
        return INHERITED, {"namespace": segs[0]}
    if len(segs) == 3 and segs[1] == "secrets" and segs[2]:
        return SECRET, {"namespace": segs[0], "key": segs[2]}
    return None


def dispatch(h: Any, method: str, route: str, p: dict[str, str], body: bytes) -> Answer:
    cfg = h.server.config
    ee = cfg.edition == "ee"
    # (method, route) -> (handler, served by OSS too)
    endpoints: dict[tuple[str, str], tuple[Any, bool]] = {
        ("POST", APPS): (_create_app, False),
        ("GET", APPS_SEARCH): (_search_apps, False),
        ("GET", APP): (_get_app, False),
        ("PUT", APP): (_update_app, False),
        ("DELETE", APP): (_delete_app, False),
        ("POST", NAMESPACES): (_create_namespace, False),
        ("GET", NAMESPACE): (_get_namespace, True),
        ("PUT", NAMESPACE): (_update_namespace, False),
        ("PUT", SECRETS): (_put_secret, False),
        ("DELETE", SECRET): (_delete_secret, False),
        ("GET", INHERITED): (_inherited_secrets, True),
    }
    if cfg.version in K.before("2.0"):
        endpoints[("GET", SECRETS)] = (_list_secrets, True)
    served = {key: fn for key, (fn, oss) in endpoints.items() if ee or oss}
    handler = served.get((method, route))
    if handler is None:
        allowed = sorted(m for (m, r) in served if r == route)
        if not allowed:
            raise rules.not_found()
        raise method_not_allowed(method, h.href, allowed)
    return handler(h, store_of(h.server), p["tenant"], p, body)


# -- apps -----------------------------------------------------------------------------------


def _parse_app(body: bytes) -> dict:
    try:
        data = yaml.safe_load(body.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise rules.Rejection(422, "Invalid entity", f"Invalid entity: {err}") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) and data[k] for k in ("id", "namespace", "type")
    ):
        raise rules.Rejection(
            422, "Invalid entity", "Invalid entity: an app needs id, namespace and type"
        )
    return data


def _source_answer(uid: str, row: dict) -> dict:
    data = _parse_app(row["source"].encode("utf-8"))
    return {
        "uid": uid,
        "name": data.get("displayName"),
        "namespace": data["namespace"],
        "tags": data.get("tags") or [],
        "disabled": bool(data.get("disabled", False)),
        "source": row["source"],
        "created": row["created"],
        "updated": row["updated"],
    }


def _create_app(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    data = _parse_app(body)
    with store.lock:
        apps = store.apps.setdefault(tenant, {})
        for row in apps.values():
            known = _parse_app(row["source"].encode("utf-8"))
            if (known["namespace"], known["id"]) == (data["namespace"], data["id"]):
                raise rules.Rejection(
                    422, "Invalid entity", f"Invalid entity: app {data['id']} already exists"
                )
        uid = random.token_hex(8)
        now = now_iso()
        apps[uid] = {"source": body.decode("utf-8"), "created": now, "updated": now}
        store.save()
        return ok(_source_answer(uid, apps[uid]))


def _search_apps(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    # searchApps: `namespace` (a prefix, as the flows' search) up to 1.3, `filters` from 2.0.
    legacy = h.server.config.version in K.before("2.0")
    namespace = h.param("namespace") if legacy else h.param("filters[namespace][EQUALS]")
    page, size = h.int_param("page", 1) or 1, h.int_param("size", 10) or 10
    with store.lock:
        rows = []
        for uid, row in sorted(store.apps.get(tenant, {}).items()):
            data = _parse_app(row["source"].encode("utf-8"))
            if namespace is not None and not (
                data["namespace"] == namespace
                or (legacy and data["namespace"].startswith(namespace + "."))
            ):
                continue
            rows.append(
                {
                    "uid": uid,
                    "id": data["id"],
                    "name": data.get("displayName"),
                    "type": data["type"],
                    "namespace": data["namespace"],
                    "flowId": data.get("flowId"),
                    "tags": data.get("tags") or [],
                    "enabled": not data.get("disabled", False),
                    "created": row["created"],
                    "updated": row["updated"],
                }
            )
    return ok({"results": rows[(page - 1) * size : page * size], "total": len(rows)})


def _app_row(store: EnterpriseStore, tenant: str, uid: str) -> dict:
    row = store.apps.get(tenant, {}).get(uid)
    if row is None:
        raise rules.Rejection(404, "Not Found", f"Not Found: app {uid} not found")
    return row


def _get_app(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    with store.lock:
        return ok(_source_answer(p["uid"], _app_row(store, tenant, p["uid"])))


def _update_app(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    _parse_app(body)
    with store.lock:
        row = _app_row(store, tenant, p["uid"])
        row["source"], row["updated"] = body.decode("utf-8"), now_iso()
        store.save()
        return ok(_source_answer(p["uid"], row))


def _delete_app(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    with store.lock:
        _app_row(store, tenant, p["uid"])
        del store.apps[tenant][p["uid"]]
        store.save()
    return ok({})


# -- namespaces -----------------------------------------------------------------------------


def _fields(version: str) -> tuple[str, ...]:
    """The settings this version's Namespace keeps (the others are dropped, as unknown)."""
    if version in K.NAMESPACE_PLUGIN_DEFAULTS.versions:
        return (*COMMON_FIELDS, "pluginDefaults", "workerGroup")
    return (*COMMON_FIELDS, "defaultWorkerSelector")


def _namespace_body(h: Any, body: bytes, namespace_id: str | None) -> dict:
    data = h.json_body(body)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise rules.Rejection(422, "Invalid entity", "Invalid entity: a namespace needs an id")
    if namespace_id is not None and data["id"] != namespace_id:
        raise rules.Rejection(
            422, "Invalid entity", "Invalid entity: the body's id is not the path's"
        )
    kept = {k: data[k] for k in _fields(h.server.config.version) if data.get(k) is not None}
    return {"id": data["id"], "deleted": False, **kept}


def _get_namespace(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    if h.server.config.edition != "ee":
        return ok({"id": p["id"]})  # OSS NamespaceController: the id, nothing kept
    with store.lock:
        found = store.namespaces.get(tenant, {}).get(p["id"])
    if found is None:
        raise rules.Rejection(404, "Not Found", f"Not Found: namespace {p['id']} not found")
    return ok(found)


def _update_namespace(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    data = _namespace_body(h, body, p["id"])
    with store.lock:
        table = store.namespaces.setdefault(tenant, {})
        if p["id"] not in table:
            raise rules.Rejection(404, "Not Found", f"Not Found: namespace {p['id']} not found")
        table[p["id"]] = data
        store.save()
    return ok(data)


def _create_namespace(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    data = _namespace_body(h, body, None)
    with store.lock:
        table = store.namespaces.setdefault(tenant, {})
        if data["id"] in table:
            raise rules.Rejection(
                422, "Invalid entity", f"Invalid entity: namespace {data['id']} already exists"
            )
        table[data["id"]] = data
        store.save()
    return ok(data)


# -- secrets --------------------------------------------------------------------------------


def _metas(store: EnterpriseStore, tenant: str, namespace: str) -> list[dict]:
    keys = sorted(store.secrets.get(tenant, {}).get(namespace, {}))
    return [{"key": k, "namespace": namespace, "tags": []} for k in keys]


def _put_secret(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    data = h.json_body(body)
    key = data.get("key") if isinstance(data, dict) else None
    value = data.get("value") if isinstance(data, dict) else None
    if not (isinstance(key, str) and key and isinstance(value, str) and value):
        raise rules.Rejection(
            422, "Invalid entity", "Invalid entity: key and value must not be empty"
        )
    with store.lock:
        store.secrets.setdefault(tenant, {}).setdefault(p["namespace"], {})[key] = value
        store.save()
        return ok(_metas(store, tenant, p["namespace"]))


def _delete_secret(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    with store.lock:
        table = store.secrets.get(tenant, {}).get(p["namespace"], {})
        if p["key"] not in table:
            raise rules.Rejection(404, "Not Found", f"Not Found: secret {p['key']} not found")
        del table[p["key"]]
        store.save()
        return ok(_metas(store, tenant, p["namespace"]))


def _list_secrets(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    ee = h.server.config.edition == "ee"
    with store.lock:
        found = _metas(store, tenant, p["namespace"]) if ee else []
    return ok({"readOnly": not ee, "results": found, "total": len(found)})


def _inherited_secrets(h: Any, store: EnterpriseStore, tenant: str, p: dict, body: bytes) -> Answer:
    """Each namespace from the root down to this one -> its secret keys."""
    parts = p["namespace"].split(".")
    levels = [".".join(parts[: i + 1]) for i in range(len(parts))]
    ee = h.server.config.edition == "ee"
    with store.lock:
        table = store.secrets.get(tenant, {}) if ee else {}
        return ok({ns: sorted(table.get(ns, {})) for ns in levels})
