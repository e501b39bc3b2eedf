"""Who may call the API: Kestra's AuthenticationFilter (OSS basic auth; EE bearer tokens too) and
TenantValidationFilter (OSS: tenant ``main`` only), docs/kestra-api.md."""

from __future__ import annotations

import base64
import re
from typing import Any

from ..rules import knowledge as K
from .answers import Answer, rejected
from .errors import Rejection, not_found
from .routing import MAIN_TENANT


def auth_failure(h: Any) -> Answer | None:
    """AuthenticationFilter (OSS): 401 with an EMPTY body when the profile demands credentials
    (settings.Config.auth_enabled) and the request lacks valid ones. From 0.24, ``WWW-Authenticate:
    Basic`` unless the Referer ends with /login; before, ``Basic realm=Kestra`` always
    (knowledge.BASIC_AUTH_REALM). EE: Bearer tokens and Basic users (EE's exact 401 is unknown)."""
    cfg = h.server.config
    if not cfg.auth_enabled:
        return None
    header = h.headers.get("Authorization") or ""
    if header.lower().startswith("basic"):
        try:
            decoded = base64.b64decode(header[5:].strip()).decode("utf-8")
            user, _, password = decoded.partition(":")
        except (ValueError, UnicodeDecodeError):
            user, password = "", None
        if user in cfg.users and cfg.users[user] == password:
            return None
    elif (
        cfg.edition == "ee"
        and header.lower().startswith("bearer ")
        and header[7:].strip() in cfg.tokens
    ):
        return None
    headers = {}
    if cfg.has(K.BASIC_AUTH_REALM):
        headers["WWW-Authenticate"] = "Basic realm=Kestra"
    elif not (h.headers.get("Referer") or "").split("?")[0].endswith("/login"):
        headers["WWW-Authenticate"] = "Basic"
    return Answer(401, "Unauthorized", b"", None, headers)


def tenant_failure(h: Any, tenant: str) -> Answer | None:
    cfg = h.server.config
    if cfg.edition == "oss":
        if tenant != MAIN_TENANT:  # TenantValidationFilter
            return rejected(
                Rejection(400, "Bad Request", "Bad Request: Tenant must be 'main' for OSS version"),
                h.href,
            )
        return None
    if not re.fullmatch(K.TENANT_PATTERN, tenant):
        # EE behaviour for a malformed tenant is not public: answer 404 (KNOWN_GAPS).
        return rejected(not_found(), h.href)
    return None


def control_auth_failure(h: Any) -> Answer | None:
    """The ``/_emulator`` knobs can wipe the state (and its file): the API's credentials, when
    some are configured (with none, nobody could use them)."""
    cfg = h.server.config
    if cfg.auth is False or not cfg.credentials_configured:
        return None
    return auth_failure(h)
