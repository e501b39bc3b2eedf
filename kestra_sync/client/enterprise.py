"""Apps, namespace settings and namespace secrets: the Enterprise REST calls, mixed into
``KestraClient``. Paths and bodies follow Kestra's Enterprise OpenAPI description (vendored in
tests/data/openapi/, docs/enterprise-kinds.md):

- apps: ``GET /apps/search`` (paged; ``namespace`` up to 1.3, ``filters[namespace][EQUALS]``
  from 2.0) lists ``ApiApp`` (uid, id,
  namespace, ...) without the source; ``GET /apps/{uid}`` answers ``ApiAppSource`` (the YAML
  as sent); ``POST /apps`` creates from YAML (``application/x-yaml``) and answers the new uid;
  ``PUT /apps/{uid}`` replaces the source; ``DELETE /apps/{uid}``.
- a namespace: ``GET /namespaces/{id}`` (on OSS too: it answers just ``{"id"}``), ``PUT`` the
  whole ``Namespace`` JSON, ``POST /namespaces`` to create one that is not stored yet.
- secrets: ``GET /namespaces/{ns}/inherited-secrets`` maps each namespace from the root down to
  this one to its secret keys (never values; OSS NamespaceSecretController, kestra-io/kestra
  0fffbcac, reads a namespace's own keys from the same map); ``PUT /namespaces/{ns}/secrets``
  with ``{key, value}``; ``DELETE /namespaces/{ns}/secrets/{key}``.

An OSS server has none of the write endpoints: ``enterprise_only`` turns its 404/405 into one
clear message, and ``require_enterprise`` refuses before the first request when the server's
``/api/v1/configs`` says it is OSS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import ApiError, InputError, KestraSyncError, NotFoundError, UnsupportedByServer
from .http import tenant_path
from .wire import PagedListing, read_pages

APPS_PAGE = 100
_APP_UIDS_LOCK = threading.Lock()
ENTERPRISE_HINT = (
    "for a Kestra OSS server, remove the _apps/ folders and namespace.yml files from git, or "
    "list them in .kestraignore"
)


class EnterpriseOnlyError(UnsupportedByServer):
    """The server is Kestra OSS, or has no such Enterprise endpoint: it holds none (a kind's
    listing then says so, an error only where git declares some)."""


class EnterpriseResourcesMixin:
    """Needs ``self.http``, ``self.tenant`` and ``server_edition()``."""

    http: Any
    tenant: str
    _edition: str | None

    def server_edition(self) -> str | None:
        """ "OSS" or "EE" as ``GET /api/v1/configs`` says (cached), None when it does not say."""
        if getattr(self, "_edition", None) is None:
            path = "/api/v1/configs"
            resp = self.http.request("GET", path)
            data = self.http.json("GET", path, resp, write=False)
            edition = data.get("edition") if isinstance(data, dict) else None
            self._edition = edition.upper() if isinstance(edition, str) else ""
        return self._edition or None

    def require_enterprise(self, what: str) -> None:
        if self.server_edition() == "OSS":
            raise EnterpriseOnlyError(
                f"{what} need Kestra Enterprise and this server is Kestra OSS ({ENTERPRISE_HINT})",
                hint=ENTERPRISE_HINT,
            )

    def redact_also(self, value: str) -> None:
        """Never show ``value`` (a secret being sent) in an error or a log."""
        self.http.add_secret(value)

    # -- apps --------------------------------------------------------------------------------

    def list_apps(self, namespace: str) -> list[dict]:
        """Every app of ``namespace`` (``ApiApp``: uid, id, ...), all pages, refused when it
        cannot be proven complete (client/wire.read_pages)."""
        listing = PagedListing(
            noun="apps",
            page_size=APPS_PAGE,
            key_of=lambda app: app["uid"] if isinstance(app.get("uid"), str) else None,
            incomplete=_incomplete,
            twice=lambda app: f"the app {app['uid']!r} was listed twice",
            bad_entry="an app has no uid",
        )

        def params_of(page: int) -> list[tuple[str, str]]:
            # `namespace` up to 1.3, `filters[...]` from 2.0 (the legacy parameters were
            # removed); each server ignores the other, and the results are filtered here.
            return [
                ("page", str(page)),
                ("size", str(APPS_PAGE)),
                ("namespace", namespace),
                ("filters[namespace][EQUALS]", namespace),
            ]

        path = tenant_path(self.tenant, "apps", "search")
        with enterprise_only("apps"):  # an OSS server answers 404: it has no apps
            pages = list(read_pages(self.http, path, params_of, listing))
        # Exact namespace only: the filter's semantics are not relied on.
        return [app for results, _ in pages for app in results if app.get("namespace") == namespace]

    def app_uid(self, namespace: str, app_id: str) -> str | None:
        """The uid of app ``app_id`` of ``namespace``, or None. The namespace is listed once per
        client (an apply writes its apps with one), not once per app written; its parallel
        writes wait for that one listing."""
        with _APP_UIDS_LOCK:
            listing = self.__dict__.setdefault("_app_uids", {}).setdefault(namespace, _Uids())
        with listing.lock:
            if listing.uids is None:
                apps = self.list_apps(namespace)
                listing.uids = {a["id"]: a["uid"] for a in apps if isinstance(a.get("id"), str)}
            return listing.uids.get(app_id)

    def get_app_source(self, uid: str) -> str | None:
        """``GET /apps/{uid}``: the app's YAML as stored, or None when it is gone."""
        path = tenant_path(self.tenant, "apps", uid)
        try:
            resp = self.http.request("GET", path)
        except NotFoundError:
            return None
        data = self.http.json("GET", path, resp, write=False)
        source = data.get("source") if isinstance(data, dict) else None
        if not isinstance(source, str):
            raise self.http.unexpected("GET", path, resp, "no app source", write=False)
        return source

    def create_app(self, source: str) -> str:
        path = tenant_path(self.tenant, "apps")
        with enterprise_only("apps"):
            resp = self.http.request(
                "POST", path, body=source.encode("utf-8"), content_type="application/x-yaml"
            )
        data = self.http.json("POST", path, resp, write=True)
        return str(data.get("uid", "")) if isinstance(data, dict) else ""

    def update_app(self, uid: str, source: str) -> None:
        """Raises NotFoundError when the app is gone (the caller creates it again)."""
        path = tenant_path(self.tenant, "apps", uid)
        self.http.request(
            "PUT", path, body=source.encode("utf-8"), content_type="application/x-yaml"
        )

    def delete_app(self, uid: str) -> bool:
        """Whether the app existed."""
        try:
            self.http.request("DELETE", tenant_path(self.tenant, "apps", uid))
        except NotFoundError:
            return False
        return True

    # -- namespace settings --------------------------------------------------------------------

    def get_namespace(self, namespace: str) -> dict | None:
        """The stored ``Namespace``, or None when the server keeps none for it."""
        path = tenant_path(self.tenant, "namespaces", namespace)
        try:
            resp = self.http.request("GET", path)
        except NotFoundError:
            return None
        data = self.http.json("GET", path, resp, write=False)
        if not isinstance(data, dict):
            raise self.http.unexpected("GET", path, resp, "expected a namespace", write=False)
        return data

    def put_namespace(self, namespace: str, body: dict) -> None:
        """Update the namespace, or create it when the server keeps none yet (404)."""
        path = tenant_path(self.tenant, "namespaces", namespace)
        with enterprise_only("namespace settings"):
            try:
                self.http.request("PUT", path, json_body=body)
            except NotFoundError:
                self.http.request("POST", tenant_path(self.tenant, "namespaces"), json_body=body)

    # -- secrets -------------------------------------------------------------------------------

    def secret_keys(self, namespace: str) -> list[str]:
        """The keys of the namespace's own secrets (not its parents'); never a value."""
        path = tenant_path(self.tenant, "namespaces", namespace, "inherited-secrets")
        resp = self.http.request("GET", path)
        data = self.http.json("GET", path, resp, write=False)
        keys = data.get(namespace, []) if isinstance(data, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise self.http.unexpected(
                "GET", path, resp, "expected {namespace: [keys]}", write=False
            )
        return sorted(set(keys))

    def put_secret(self, namespace: str, key: str, value: str) -> None:
        if self.http.is_credential(value):
            # Whatever variable it came from (an environment's token_env, a netrc...): the
            # namespace's flows can read its secrets.
            raise InputError(
                f"secret {key} of {namespace} holds the token or password kestra-sync connects "
                "with: it is never sent as a namespace secret",
                hint="point the secret's `env:` at the variable holding the secret's own value",
            )
        self.redact_also(value)
        path = tenant_path(self.tenant, "namespaces", namespace, "secrets")
        with enterprise_only("namespace secrets"):
            self.http.request("PUT", path, json_body={"key": key, "value": value})


@dataclass
class _Uids:
    """A namespace's app uids by id, listed on first use."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    uids: dict[str, str] | None = None


class enterprise_only:  # noqa: N801 - used as a `with` block
    """A 404 or 405 from an Enterprise endpoint: the server does not have it (Kestra OSS)."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, err: Any, tb: Any) -> None:
        if isinstance(err, ApiError) and err.status in (404, 405):
            raise EnterpriseOnlyError(
                f"{self.what} need Kestra Enterprise: the server has no such endpoint "
                f"({err.status}); is it Kestra OSS? ({ENTERPRISE_HINT})",
                hint=ENTERPRISE_HINT,
            ) from None


def _incomplete(why: str) -> KestraSyncError:
    from ..errors import IncompleteListingError

    return IncompleteListingError(
        f"the server's list of apps is incomplete: {why}",
        hint="apps were probably changed while kestra-sync read them; run it again",
    )
