"""Transport: one ``requests.Session``, auth, timeouts, retries, and status -> typed error.

Everything that touches credentials lives here, so that one function (``Transport.redact``) can
guarantee no password, token or ``Authorization`` value ever reaches an error message.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.auth import AuthBase, HTTPBasicAuth
from requests.structures import CaseInsensitiveDict

from .. import __version__
from ..errors import (
    ApiError,
    ConfigError,
    TransportError,
    UnexpectedResponseError,
)
from ..models import DEFAULT_TENANT
from .deadline import DeadlineAdapter
from .environ import netrc_credentials, proxies_for
from .failures import MAX_REDIRECTS, FailureMessages
from .retries import (
    IDEMPOTENT,
    NOT_PROCESSED,
    WRITES,
    CappedRetry,
    RefusalsToCaller,
    make_retry,
    retry_after,
)
from .urls import origin_of, redact_userinfo, resolve_verify, split_url, tenant_path

MIN_SECRET_LINE = 4  # a shorter line of a multi-line secret would hide ordinary words
JSON = "application/json"
# Request bodies carrying flow source: Kestra's MediaType.APPLICATION_YAML (docs/kestra-api.md).
# From 2.0 another type gets 415; up to 1.3 it reached hidden JSON handlers (f48629c75).
YAML = "application/x-yaml"
# /export/* declare produces=application/octet-stream (kestra FlowController.exportFlowsByQuery);
# kestrapy's BaseApi sends this Accept for downloads too.
OCTET = "application/octet-stream"

DEFAULT_CONNECT_TIMEOUT = 10.0
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# The largest reply body kept in memory, and the largest an export zip may expand to (in
# total, hence each entry too). A namespace of 2,000 flows of 5 KB is 10 MB; 64 MiB leaves
# room and still stops a hostile or broken server from filling memory or disk.
DEFAULT_MAX_REPLY_MB = 64.0
CHUNK = 64 * 1024
# Idle keep-alive connections kept per server: requests keeps 10, so with more threads than
# that (apply's default is 16) every request beyond the tenth opened a new connection, and a
# new TLS handshake (130 of them in an apply of 2,000 creates).
DEFAULT_POOL_SIZE = 16


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>`` (Kestra EE API tokens, docs/kestra-api.md).

    An AuthBase rather than a plain session header so that requests drops it on a redirect to
    another host, and so that a ~/.netrc entry cannot silently replace it."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


class Transport(FailureMessages):
    """The session and everything about talking HTTP to one server (any tenant)."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        verify: bool | str | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        max_reply_mb: float = DEFAULT_MAX_REPLY_MB,
        pool_size: int = DEFAULT_POOL_SIZE,
    ):
        self.base_url, url_user, url_password = split_url(url)
        self.origin = origin_of(self.base_url)  # for messages: no userinfo
        if username is None and password is None:
            username, password = url_user, url_password
        self.username = username
        self._secrets = [token] if token else []
        if username and password:
            self._add_basic_secrets(username, password)
        self._set_limits(timeout, max_reply_mb)
        self.retries = retries
        self.backoff = backoff
        self.pool_size = max(10, pool_size)  # at least requests' own
        self.uses_token = bool(token)
        self.has_credentials = bool(token or (username and password))
        self.verify = resolve_verify(verify, urlsplit(self.base_url).scheme)
        self.session = self._session(username, password, token)
        self._mounted: set[str] = set()
        self._refusing_session = self._refusing_writes_session(self.session)
        self._writes_via: requests.Session | None = None  # None: self.session
        self._credentials = frozenset(self._secrets)  # the token, password (flags, env, netrc)

    def _set_limits(self, timeout: float, max_reply_mb: float) -> None:
        if not timeout or timeout <= 0:
            raise ConfigError(f"the timeout must be more than 0 seconds, not {timeout!r}")
        if not max_reply_mb or max_reply_mb <= 0:
            raise ConfigError(f"the reply size limit must be more than 0 MiB, not {max_reply_mb!r}")
        # (connect, whole attempt): deadline.py makes the read timeout bound each attempt,
        # connect + headers + body, not each socket read.
        self.timeout = (min(DEFAULT_CONNECT_TIMEOUT, timeout), timeout)
        self.max_reply_mb = max_reply_mb
        self.max_reply_bytes = int(max_reply_mb * 1024 * 1024)

    def _session(
        self, username: str | None, password: str | None, token: str | None
    ) -> requests.Session:
        """The session every request is prepared from: headers, credentials, the environment's
        proxies and netrc read once, the retrying adapters."""
        session = requests.Session()
        session.max_redirects = MAX_REDIRECTS
        if self.verify is not None:
            session.verify = self.verify
        session.headers["User-Agent"] = f"kestra-sync/{__version__}"
        session.headers["Accept"] = JSON
        if token:
            session.auth = BearerAuth(token)  # a token wins over username/password (EE)
        elif username and password:
            session.auth = HTTPBasicAuth(username, password)
        elif username or password:
            raise ConfigError(
                "basic auth needs both a username and a password",
                hint="set both KESTRA_USERNAME and KESTRA_PASSWORD",
            )
        # The environment, read once here rather than by requests on every request
        # (environ.py): the proxies for this server, and without configured credentials a
        # netrc entry for its host, as requests would use them. The CA bundle variables are
        # in self.verify already (resolve_verify).
        self.proxies = proxies_for(self.base_url)
        self.uses_netrc = False
        if session.auth is None:
            netrc = netrc_credentials(self.base_url)
            if netrc is not None:
                session.auth = HTTPBasicAuth(*netrc)
                self.uses_netrc = True
                self._add_basic_secrets(*netrc)
        session.trust_env = False
        adapter = self._adapter(IDEMPOTENT)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def _refusing_writes_session(self, session: requests.Session) -> requests.Session:
        """Sends the writes of a view made by leaving_refusals_to_caller(): the same cookie
        jar, adapters that leave a 429/503 to a write to the caller. Requests are prepared
        from ``session`` (_send), so its headers, auth and hooks apply here too."""
        refusing = requests.Session()
        refusing.trust_env = False
        refusing.cookies = session.cookies
        refusing.mount("http://", self._adapter(IDEMPOTENT, RefusalsToCaller))
        refusing.mount("https://", refusing.get_adapter("http://"))
        return refusing

    def _adapter(
        self, methods: frozenset[str], kind: type[CappedRetry] = CappedRetry
    ) -> DeadlineAdapter:
        retry = make_retry(self.retries, self.backoff, methods, kind)
        return DeadlineAdapter(max_retries=retry, pool_maxsize=self.pool_size)

    def leaving_refusals_to_caller(self) -> Transport:
        """This Transport (same session, credentials, settings) for a caller that resends
        refused writes itself: a POST, PUT or DELETE answered 429/503 raises at once, with
        no retry here. Reads, gateway errors and failed connections are retried as usual."""
        view = copy.copy(self)
        view._writes_via = self._refusing_session
        return view

    def close(self) -> None:
        """Close the pooled connections (shared with every view and tenant)."""
        self.session.close()
        self._refusing_session.close()

    def allow_post_retries(self, path: str) -> None:
        """Retry POSTs to ``path`` (and below) like idempotent requests.

        Used for ``POST /flows/validate``: it only parses and validates (FlowService.validate
        never writes), so a retry after a 503 or a read timeout cannot change anything.
        (``POST /export/by-ids`` is read-only as well; kestra-sync does not use it.) requests
        picks the longest mounted prefix, so this adapter wins for that URL only."""
        prefix = self.base_url + path
        if prefix in self._mounted:
            return
        adapter = self._adapter(IDEMPOTENT | {"POST"})
        self.session.mount(prefix, adapter)
        self._refusing_session.mount(prefix, adapter)  # not a write: retried on every path
        self._mounted.add(prefix)

    # -- messages --------------------------------------------------------------------------

    def _add_basic_secrets(self, username: str, password: str) -> None:
        """The password in each form it could be echoed in: as is, URL-quoted, and inside the
        ``Authorization: Basic`` value."""
        if not password:
            return
        raw = f"{username}:{password}".encode()
        self._secrets += [password, base64.b64encode(raw).decode("ascii"), quote(password, safe="")]

    def is_credential(self, value: str) -> bool:
        """Whether ``value`` is the token or password this client connects with."""
        return bool(value) and value in self._credentials

    def add_secret(self, value: str) -> None:
        """A value being sent that no message may show (a namespace secret's), in each form a
        server could echo it in: as is, URL-quoted, inside a JSON string (a body quoted back in
        an error: ``\\n``, ``\\"``, ``\\u00e9``), and each line of a multi-line value."""
        if not value or value in self._secrets:
            return
        lines = [line.strip() for line in value.splitlines()]
        forms = {
            value,
            quote(value, safe=""),
            json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1],
            *(line for line in lines if len(line) >= MIN_SECRET_LINE and line != value),
        }
        self._secrets += sorted(forms - set(self._secrets))
        self._secrets.sort(key=len, reverse=True)  # a longer form first: none left half shown

    def redact(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- requests --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = JSON,
        json_body: Any = None,
        extra_headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send one request (with the session's retry policy) and return a 2xx response whose
        body has been read (within the size limit), or raise the typed error for the final
        status or transport failure."""
        headers = {"Accept": accept, **(extra_headers or {})}
        if content_type:
            headers["Content-Type"] = content_type
        data = body
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = JSON
        url = self.base_url + path
        # Redirects are followed here, not by requests: only for GETs (requests turns a
        # redirected POST into a GET, which would silently drop the flow we meant to write),
        # only within this server's origin (a plan must never be computed from another
        # server's flows, and credentials must never go there), and without reading the
        # redirect's body.
        for hop in range(MAX_REDIRECTS + 1):
            try:
                resp = self._send(method, url, params if hop == 0 else None, data, headers)
            except requests.exceptions.RequestException as exc:
                raise self._transport_error(method, path, exc) from None
            location = resp.headers.get("Location")
            if method != "GET" or resp.status_code not in REDIRECT_STATUSES or not location:
                break
            resp.close()
            target = urljoin(resp.url, location)
            if origin_of(target) != self.origin:
                raise self._cross_origin(method, path, resp, origin_of(target))
            url = target
        else:
            raise TransportError(
                f"{method} {path}: more than {MAX_REDIRECTS} redirects from {self.origin}",
                hint="set the server URL to the address the redirects end at",
            )
        self._read_body(method, path, resp)
        if 200 <= resp.status_code < 300:
            if accept in (JSON, OCTET) and looks_like_html(resp):
                raise self._html_page(method, path, resp)
            return resp
        err = self.api_error(method, path, resp)
        # urllib3 leaves the attempts it made on the final response: a DELETE whose first
        # attempt was applied but whose reply was lost answers 404 on the retry.
        history = getattr(getattr(resp.raw, "retries", None), "history", None)
        err.retried = bool(history)  # type: ignore[attr-defined]
        if resp.status_code in NOT_PROCESSED:
            err.retry_after = retry_after(resp)
        raise err

    def _send(
        self, method: str, url: str, params: Any, data: bytes | None, headers: dict[str, str]
    ) -> requests.Response:
        """One attempt-with-retries, as ``session.request`` would send it, minus its merging
        of settings that cannot change for this Transport (a sixth of the client's CPU per
        request, issue 13): the session's headers under ours, its auth, cookies and hooks
        (--verbose logs from a response hook), the proxies and ``verify`` read once in
        ``__init__``. ``session.send`` still runs the adapter (retries, deadline), the hooks
        and the cookie jar."""
        session = self.session
        merged = CaseInsensitiveDict(session.headers)
        merged.update(headers)
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers=merged,
            data=data,
            params=params,
            auth=session.auth,
            cookies=session.cookies,
            hooks=session.hooks,
        )
        sender = session
        if self._writes_via is not None and method in WRITES:
            sender = self._writes_via  # a 429/503 comes straight back (leaving_refusals_to_caller)
        return sender.send(
            prepared,
            timeout=self.timeout,
            allow_redirects=False,
            stream=True,
            verify=session.verify,
            cert=session.cert,
            proxies=self.proxies,
        )

    def _read_body(self, method: str, path: str, resp: requests.Response) -> None:
        """Read the reply body into ``resp._content``, refusing more than the size limit
        (counted as received, after any Content-Encoding is undone, so a gzip bomb is
        stopped too). Reads are bounded by the attempt's deadline (deadline.py)."""
        limit = self.max_reply_bytes
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            resp.close()
            raise self._too_large(method, path, resp, f"it announces {int(declared):,} bytes, more")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.raw.stream(CHUNK, decode_content=True):
                size += len(chunk)
                if size > limit:
                    resp.close()
                    raise self._too_large(method, path, resp, "it is larger")
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError as exc:
            resp.close()
            timeout = requests.exceptions.ReadTimeout(exc)
            raise self._transport_error(method, path, timeout, in_body=True) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            resp.close()
            err = requests.exceptions.ConnectionError(exc)
            raise self._transport_error(method, path, err, in_body=True) from None
        resp._content = b"".join(chunks)
        resp._content_consumed = True  # type: ignore[attr-defined]  # requests' own flag

    def _too_large(
        self, method: str, path: str, resp: requests.Response, why: str
    ) -> UnexpectedResponseError:
        return UnexpectedResponseError(
            f"{method} {path}: the reply from {self.origin} was refused: {why} than the "
            f"limit of {self.max_reply_mb:g} MiB (--max-reply-mb)",
            status=resp.status_code,
            method=method,
            path=path,
            hint=LIMIT_HINT,
        )

    def _cross_origin(
        self, method: str, path: str, resp: requests.Response, other: str
    ) -> ApiError:
        return ApiError(
            f"{method} {path}: {self.origin} redirects to another server, {other}: not "
            "followed (the flows there are not the ones you asked for)",
            status=resp.status_code,
            method=method,
            path=path,
            hint=f"if {other} is the right server, use it as the URL (--server / KESTRA_URL)",
        )

    def _html_page(
        self, method: str, path: str, resp: requests.Response
    ) -> UnexpectedResponseError:
        ctype = resp.headers.get("Content-Type", "no content type")
        message = (
            f"{method} {path}: {resp.status_code} with an HTML page ({ctype}), not Kestra's API: "
            "a proxy or login page answered"
        )
        if method != "GET":
            message += "; the change was not applied"
        return UnexpectedResponseError(
            self.redact(message) or "",
            status=resp.status_code,
            method=method,
            path=path,
            hint=f"check that {self.origin} is the Kestra API itself (--server / KESTRA_URL), "
            "not a proxy's login page, and that the credentials are accepted",
        )

    def unexpected(
        self, method: str, path: str, resp: requests.Response, why: str, *, write: bool
    ) -> UnexpectedResponseError:
        """A 2xx we cannot read. For a write this is not a failure of the write."""
        ctype = resp.headers.get("Content-Type", "no content type")
        if write:
            message = (
                f"{method} {path}: the write was applied ({resp.status_code}) but the reply "
                f"could not be read: {why} ({ctype})"
            )
            hint = "check the flow on the server; running again is safe"
        else:
            message = (
                f"{method} {path}: {resp.status_code} reply could not be read: {why} ({ctype})"
            )
            hint = (
                f"is {self.origin} a Kestra server? A proxy or login page may be answering instead"
            )
        return UnexpectedResponseError(
            self.redact(message) or "",
            status=resp.status_code,
            method=method,
            path=path,
            hint=self.redact(hint),
        )

    def json(self, method: str, path: str, resp: requests.Response, *, write: bool) -> Any:
        if not resp.content:
            raise self.unexpected(method, path, resp, "empty body", write=write)
        try:
            return json.loads(resp.content.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise self.unexpected(method, path, resp, "not JSON", write=write) from None
        except RecursionError:  # a hostile reply of [[[[...]]]]: refused, not a traceback
            raise self.unexpected(
                method, path, resp, "JSON nested too deeply", write=write
            ) from None


LIMIT_HINT = (
    "raise the limit if the server really holds that much: --max-reply-mb, "
    "KESTRA_MAX_REPLY_MB or `max_reply_mb:` in kestra-sync.yml"
)


def looks_like_html(resp: requests.Response) -> bool:
    """A proxy's or login page's answer: an HTML content type, or a body that opens like one.
    An empty body (a DELETE's 204) is never a page, whatever its content type says."""
    if not resp.content:
        return False
    ctype = resp.headers.get("Content-Type", "").lower()
    if "html" in ctype:
        return True
    head = (resp.content or b"")[:256].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


__all__ = [
    "DEFAULT_TENANT",
    "Transport",
    "tenant_path",
    "split_url",
    "redact_userinfo",
    "origin_of",
    "CappedRetry",
]
