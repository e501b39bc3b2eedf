"""Routing for the namespace-files and KV endpoints, called from server.py (which knows
nothing else of them): ``match`` maps a path to a route, ``dispatch`` calls the endpoint. Which
KV listing a profile serves follows knowledge.KV_NAMESPACE_LISTING and KV_TENANT_LISTING."""

from __future__ import annotations

from typing import Any

from ..rules import knowledge as K
from . import resources, rules
from .errors import method_not_allowed
from .kvstore import delete_key, delete_keys, get_key, list_all_keys, list_keys, put_key
from .resources import (
    create_directory,
    delete_file,
    export_files,
    get_file,
    list_directory,
    post_file,
    stats,
)

FILES_PREFIX = "/api/v1/{tenant}/namespaces/{namespace}/files"
KV_PREFIX = "/api/v1/{tenant}/namespaces/{namespace}/kv"
TENANT_KV = "/api/v1/{tenant}/kv"
store_of = resources.store_of


def match(method: str, segs: list[str]) -> tuple[str, dict[str, str]] | None:
    """``segs`` = path segments after ``/api/v1/{tenant}/namespaces``: a route or None."""
    if len(segs) < 2 or not segs[0]:
        return None
    p = {"namespace": segs[0]}
    rest = [s for s in segs[1:]]
    if rest and rest[-1] == "" and len(rest) > 1:
        rest = rest[:-1]
    if rest[0] == "files":
        tail = "/".join(rest[1:])
        if tail in ("", "directory", "export", "stats"):
            return FILES_PREFIX + ("/" + tail if tail else ""), p
        return None
    if rest[0] == "kv":
        if len(rest) == 1:
            return KV_PREFIX, p
        if len(rest) == 2 and rest[1]:
            p["key"] = rest[1]
            return KV_PREFIX + "/{key}", p
    return None


def dispatch(handler: Any, method: str, route: str, p: dict[str, str]) -> Any:
    """Return an Answer (``answers.Answer``) or raise ``rules.Rejection``."""
    cfg = handler.server.config
    if route == TENANT_KV:
        if not cfg.has(K.KV_TENANT_LISTING):
            raise rules.not_found()  # no controller has the route before 1.1
        if method != "GET":
            raise _not_allowed(handler, method, ["GET"])
        return list_all_keys(handler, p["tenant"])
    tail = route.split("/{namespace}", 1)[1]
    endpoints = {
        ("GET", "/files"): get_file,
        ("POST", "/files"): post_file,
        ("DELETE", "/files"): delete_file,
        ("GET", "/files/directory"): list_directory,
        ("POST", "/files/directory"): create_directory,
        ("GET", "/files/export"): export_files,
        ("GET", "/files/stats"): stats,
        ("DELETE", "/kv"): delete_keys,
        ("GET", "/kv/{key}"): get_key,
        ("PUT", "/kv/{key}"): put_key,
        ("DELETE", "/kv/{key}"): delete_key,
    }
    if cfg.has(K.KV_NAMESPACE_LISTING):  # 2.0 keeps only the bulk DELETE on this path
        endpoints[("GET", "/kv")] = list_keys
    endpoint = endpoints.get((method, tail))
    if endpoint is None:
        raise _not_allowed(handler, method, sorted(m for (m, t) in endpoints if t == tail))
    return endpoint(handler, p["tenant"], p["namespace"], p)


def _not_allowed(handler: Any, method: str, allowed: list[str]) -> rules.Rejection:
    """Micronaut's 405 for a known URI with another method (body text inferred)."""
    return method_not_allowed(method, handler.href, allowed)
