"""The typed error for each way a request can fail: a transport failure (refused, reset, timed
out, TLS) or an error status, with the words and hint a user needs, credentials redacted.

A mixin of ``Transport`` (http.py), whose settings the messages quote: origin, timeouts,
retries, the kind of credentials."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import requests
import urllib3.exceptions

from ..errors import (
    AlreadyExistsError,
    ApiError,
    AuthError,
    BadRequestError,
    ConflictError,
    InvalidFlowError,
    NotFoundError,
    ServerError,
    TransportError,
)
from .retries import IDEMPOTENT, NOT_PROCESSED, RETRY_STATUSES, WRITES
from .urls import redact_userinfo

MAX_REDIRECTS = 5  # a proxy or http -> https needs one or two; requests would follow 30
BODY_EXCERPT = 300


class FailureMessages:
    """Builds the client's errors; needs the Transport attributes annotated below."""

    origin: str
    timeout: tuple[float, float]
    retries: int
    uses_token: bool
    has_credentials: bool
    uses_netrc: bool
    _writes_via: Any
    redact: Callable[[str | None], str | None]

    def _transport_error(
        self, method: str, path: str, exc: Exception, *, in_body: bool = False
    ) -> TransportError:
        """``in_body``: the failure came while reading a body, after urllib3's retries."""
        exc_types = requests.exceptions
        write = method not in ("GET", "HEAD")
        converges = "; the change may have been applied, a re-run converges"
        maybe_applied = (
            "running again is safe: an existing flow is compared and updated, never duplicated"
        )
        hint = None
        sent = True  # whether the request may have reached the server
        unreachable = False  # the server looks down (refused, reset, no connection)
        # Connection-level failures are retried for every method (nothing was sent); read-level
        # ones only for idempotent methods.
        retried = method in IDEMPOTENT
        text = str(exc)
        cause = _root_cause(exc)
        if isinstance(exc, exc_types.ConnectTimeout):
            what, retried, sent = f"no connection within {self.timeout[0]:g}s", True, False
            unreachable = True
        elif isinstance(exc, exc_types.ReadTimeout) or isinstance(
            cause,
            urllib3.exceptions.ReadTimeoutError,  # retries used up: a ConnectionError
        ):
            what = f"no complete reply from {self.origin} within {self.timeout[1]:g}s (--timeout)"
        elif isinstance(exc, exc_types.SSLError):
            what, retried, sent = "TLS handshake failed", False, False
            hint = (
                "for a private CA set `verify: /path/to/ca.pem` in kestra-sync.yml or --ca-bundle"
            )
        elif isinstance(exc, exc_types.TooManyRedirects):
            what, retried = f"more than {MAX_REDIRECTS} redirects from {self.origin}", False
            hint = "set the server URL to the address the redirects end at"
        elif isinstance(exc, exc_types.RetryError):
            what, retried = f"gave up on {self.origin} after retries", False
        elif isinstance(exc, exc_types.ConnectionError):
            lowered = text.lower()
            if "NameResolutionError" in text or "Name or service not known" in text:
                what, retried, sent, unreachable = "host name not found", True, False, True
            elif isinstance(cause, ConnectionRefusedError) or "refused" in lowered:
                what, retried, sent, unreachable = "connection refused", True, False, True
            elif isinstance(cause, urllib3.exceptions.NewConnectionError):
                what, retried, sent, unreachable = "no connection", True, False, True
            elif isinstance(cause, (ConnectionResetError, BrokenPipeError)) or any(
                word in lowered for word in ("remotedisconnected", "reset", "aborted", "broken")
            ):
                what = f"{self.origin} closed the connection before a complete reply"
                unreachable = True
            else:
                what = f"the connection to {self.origin} failed"
        else:
            what, retried = f"{type(exc).__name__} from {self.origin}", False
        tries = f" (after {self.retries} retries)" if self.retries and retried else ""
        tries = "" if in_body else tries
        if sent:
            message = f"{method} {path}: {what}{tries}"
            if write:
                message += converges
                hint = hint or maybe_applied
        else:
            message = f"{method} {path}: cannot reach {self.origin}: {what}{tries}"
        if hint is None:
            hint = f"check that Kestra is running at {self.origin} (--server / KESTRA_URL)"
        return TransportError(
            self.redact(message) or "",
            hint=self.redact(hint),
            unreachable=unreachable,
            maybe_applied=write and sent,
        )

    def api_error(self, method: str, path: str, resp: requests.Response) -> ApiError:
        status = resp.status_code
        raw = resp.content or b""
        text = raw[:4096].decode("utf-8", errors="replace")
        server_message: str | None = None
        violations: list[tuple[str, str]] = []
        try:
            data = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            msg = data.get("message")
            if isinstance(msg, str):
                server_message = msg
            violations = parse_violations(data)
        reason = resp.reason or _phrase(status)
        detail = server_message if server_message else (reason or "").strip()
        # Kestra's constraint messages end each "path: msg" with "\n" (docs/kestra-api.md).
        detail = "; ".join(line.strip() for line in detail.splitlines() if line.strip())
        message = f"{method} {path}: {status} {detail}".rstrip()
        hint = None
        cls: type[ApiError] = ApiError
        extra: dict[str, Any] = {}
        if status in (401, 403):
            cls = AuthError
            hint = self._auth_hint(status)
        elif status == 404:
            cls = NotFoundError
        elif status == 400:
            cls = BadRequestError
            if "tenant" in (server_message or "").lower():
                hint = (
                    "Kestra OSS has a single tenant, 'main': drop --tenant/KESTRA_TENANT "
                    "(other tenants exist only on Enterprise)"
                )
        elif status == 422:
            # Key on status + "already exists" only (docs/kestra-api.md): the envelope's other
            # details (_links, list vs object) are inferred, the message text is certain.
            cls = InvalidFlowError
            if "already exists" in (server_message or "").lower():
                cls = AlreadyExistsError
            extra["violations"] = [
                (self.redact(p) or "", self.redact(m) or "") for p, m in violations
            ]
        elif status == 409:
            cls = ConflictError
        elif status >= 500:
            cls = ServerError
            if status in RETRY_STATUSES and self.retries and self._resends(method, status):
                message += f" (after {self.retries} retries)"
        elif 300 <= status < 400:
            location = redact_userinfo(resp.headers.get("Location", ""))
            hint = f"the server redirects to {location or '?'}; use that address as the URL"
        elif status == 415:
            hint = "this Kestra version does not accept application/x-yaml here (needs >= 0.23)"
        return cls(
            self.redact(message) or "",
            status=status,
            method=method,
            path=path,
            server_message=self.redact(server_message),
            body_excerpt=self.redact(text[:BODY_EXCERPT]) or "",
            hint=self.redact(hint),
            **extra,
        )

    def _resends(self, method: str, status: int) -> bool:
        """Whether this Transport resends ``method`` after ``status`` (make_retry)."""
        if self._writes_via is not None and method in WRITES and status in NOT_PROCESSED:
            return False
        return method in IDEMPOTENT or (method == "POST" and status in NOT_PROCESSED)

    def _auth_hint(self, status: int) -> str:
        if status == 403:
            return "the credentials are valid but not allowed to do this (check the role's permissions)"
        if self.uses_token:
            return (
                "check KESTRA_API_TOKEN; note that Kestra OSS does not accept Bearer tokens: "
                "since 0.24 it requires basic auth (KESTRA_USERNAME/KESTRA_PASSWORD)"
            )
        if self.has_credentials:
            return "check KESTRA_USERNAME/KESTRA_PASSWORD"
        if self.uses_netrc:
            return (
                f"the credentials came from the netrc file's entry for {self.origin} "
                "(~/.netrc or $NETRC): check it, or set KESTRA_USERNAME/KESTRA_PASSWORD"
            )
        return (
            "the server requires credentials: set KESTRA_USERNAME/KESTRA_PASSWORD "
            "(Kestra OSS >= 0.24 always requires basic auth) or KESTRA_API_TOKEN (Enterprise)"
        )


def _root_cause(exc: BaseException) -> BaseException | None:
    """The innermost exception under requests' and urllib3's wrappers (args, reason, context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            inner = next((a for a in current.args if isinstance(a, BaseException)), None)
        if inner is None:
            return current
        current = inner
    return current


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def parse_violations(data: dict) -> list[tuple[str, str]]:
    """(path, message) pairs from a Micronaut JsonError's ``_embedded.errors``.

    Accepts a list or a single object (docs/kestra-api.md: the list form is expected but inferred;
    Kestra's own UI accepts both). Items without a message are skipped."""
    embedded = data.get("_embedded")
    errors = embedded.get("errors") if isinstance(embedded, dict) else None
    if isinstance(errors, dict):
        errors = [errors]
    if not isinstance(errors, list):
        return []
    out = []
    for item in errors:
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            path = item.get("path")
            out.append((path if isinstance(path, str) else "", item["message"]))
    return out
