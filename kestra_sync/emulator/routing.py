"""Routing: a request path to a route template and its parameters. Literal routes win over
``{namespace}`` as in Micronaut; the ``/api/v1/flows`` alias follows TenantAliasingRooter
(docs/kestra-api.md). Pure: no I/O."""

from __future__ import annotations

from urllib.parse import unquote

from . import dashboards, resourceroutes, testsuites

MAIN_TENANT = "main"
FLOWS_PREFIX = "/api/v1/{tenant}/flows"
# TenantAliasingRooter: /api/v1/flows/... is re-routed to main only when nothing matched as-is.
# A few other controllers live at /api/v1/{tenant}/<name>, so /api/v1/flows/<name> is taken by
# them with tenant "flows" (docs/kestra-api.md). The list is partial (KNOWN_GAPS).
OTHER_TENANT_CONTROLLERS = ("kv", "executions", "logs", "namespaces", "triggers", "templates")


def match(method: str, raw_path: str) -> tuple[str, dict[str, str]]:
    """Map a path to (route template, params). Literal routes win over ``{namespace}``."""
    segs = [unquote(s) for s in raw_path.split("/")]
    # ['', 'api', 'v1', tenant, 'flows', ...]
    if len(segs) >= 4 and segs[1] == "api" and segs[2] == "v1":
        if segs[3] == "configs" and len(segs) == 4:
            return "/api/v1/configs", {}
        if segs[3] == "flows":
            rest = segs[4:]
            if rest and rest[0] in OTHER_TENANT_CONTROLLERS:
                return "/api/v1/{tenant}/" + rest[0], {"tenant": "flows"}
            if rest and rest[0] == "flows" and len(rest) >= 1:
                # /api/v1/flows/flows/... matches as-is with tenant "flows"
                return flow_route(method, rest[1:], "flows")
            return flow_route(method, rest, MAIN_TENANT, alias=True)
        if len(segs) == 5 and segs[4] == "kv":  # listAllKeys (from 1.1)
            return resourceroutes.TENANT_KV, {"tenant": segs[3]}
        if len(segs) >= 5 and segs[4] == "dashboards":  # DashboardController
            found = dashboards.match(segs[5:])
            if found is not None:
                return found[0], {"tenant": segs[3], **found[1]}
        if len(segs) >= 5 and segs[4] == "flows":
            return flow_route(method, segs[5:], segs[3])
        if len(segs) >= 5 and segs[4] == "tests":  # flow tests (Enterprise)
            found = testsuites.match(method, segs[5:])
            if found is not None:
                return found[0], {"tenant": segs[3], **found[1]}
        if len(segs) >= 6 and segs[4] == "namespaces":  # namespace files and KV
            found = resourceroutes.match(method, segs[5:])
            if found is not None:
                return found[0], {"tenant": segs[3], **found[1]}
    return "unknown", {}


def flow_route(
    method: str, rest: list[str], tenant: str, alias: bool = False
) -> tuple[str, dict[str, str]]:
    base = "/api/v1/flows" if alias else FLOWS_PREFIX
    p: dict[str, str] = {"tenant": tenant}
    if rest and rest[-1] == "" and len(rest) > 1:
        rest = rest[:-1]
    n = len(rest)
    if n == 0 or (n == 1 and rest[0] == ""):
        return base, p
    literal = "/".join(rest)
    literals = {
        ("GET", "search"),
        ("GET", "distinct-namespaces"),
        ("POST", "validate"),
        ("GET", "export/by-query"),
        ("POST", "export/by-ids"),
        ("DELETE", "delete/by-ids"),
    }
    if (method, literal) in literals:
        return f"{base}/{literal}", p
    if n == 1:
        p["namespace"] = rest[0]
        return base + "/{namespace}", p
    if n == 2:
        p["namespace"], p["id"] = rest
        return base + "/{namespace}/{id}", p
    if n == 3 and rest[2] == "revisions":
        p["namespace"], p["id"] = rest[0], rest[1]
        return base + "/{namespace}/{id}/revisions", p
    return "unknown", p
