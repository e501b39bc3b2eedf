"""Addresses and TLS: the server URL without its credentials, the origin redirects are held
to, the quoted API paths, and the ``verify`` value requests gets on every request."""

from __future__ import annotations

import os
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from requests import certs as requests_certs

from ..errors import ConfigError, PlanError


def split_url(url: str) -> tuple[str, str | None, str | None]:
    """``http://user:pass@host:8080/prefix/`` -> (``http://host:8080/prefix``, user, pass).

    Userinfo in the URL is accepted (a single KESTRA_URL secret is common in CI) but moved into
    basic auth at once, so the base URL we keep, log and put in messages never carries it."""
    if not url or not isinstance(url, str):
        raise ConfigError(
            "no Kestra server URL given",
            hint="pass --server http://host:8080 or set KESTRA_URL",
        )
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = redact_userinfo(url)
        raise ConfigError(
            f"invalid Kestra server URL {shown!r}: it must look like http://host:8080",
            hint="pass --server http://host:8080 or set KESTRA_URL",
        )
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    netloc = parts.netloc.rpartition("@")[2]
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return base, user, password


def redact_userinfo(url: str) -> str:
    """The URL with any ``user:password@`` replaced by ``***@`` (even in a malformed URL)."""
    scheme, sep, rest = url.partition("://")
    if sep:
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        netloc, tail = rest[:end], rest[end:]
        if "@" in netloc:
            netloc = "***@" + netloc.rpartition("@")[2]
        return scheme + sep + netloc + tail
    return "***@" + url.rpartition("@")[2] if "@" in url else url


def tenant_path(tenant: str, *segments: str, what: str = "id") -> str:
    """``/api/v1/{tenant}/flows/...`` with every segment quoted with ``safe=""`` (as kestrapy's
    ``base_api.py::_tenant_path`` does): a ``/`` or ``?`` in an id can never change the route.

    A segment of ``.`` or ``..`` survives quoting and the HTTP library resolves it away
    (``apps/..`` is sent as the tenant's root), and an empty one addresses the collection
    (``dashboards/``) rather than an item: such an id, from a server's listing or a saved plan,
    is never sent, whatever the kind. ``what`` names it in the message ("dashboard id")."""
    refused = [tenant] if tenant in (".", "..") else []
    refused += [segment for segment in segments if segment in ("", ".", "..")]
    if refused:
        raise PlanError(
            f"the {what} {refused[0]!r} (in {'/'.join((tenant, *segments))}) cannot be put in "
            "a URL: the HTTP library would resolve it to another resource; nothing was sent",
            hint="the id came from the server or a saved plan: rename or remove that item "
            "in Kestra's UI, then run again",
        )
    return "/".join(["/api/v1", quote(tenant, safe="")] + [quote(s, safe="") for s in segments])


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL (default port made explicit), never its userinfo."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


# Environment variables requests reads a CA bundle from when none is configured (trust_env).
REQUESTS_CA_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def resolve_verify(verify: bool | str | None, scheme: str) -> bool | str | None:
    """What to pass as ``verify`` on every request (the Transport reads the environment once,
    environ.py, and then turns requests' own reading of it off).

    ``None`` (nothing configured) gives what requests' ``merge_environment_settings`` would:
    REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE (company CAs are often set that way), else
    ``None``, requests' default bundle. Anything configured wins over those variables: ``True``
    becomes the default bundle itself, a path must exist. A bundle named by a variable must
    exist too when it will be used (https)."""
    if verify is None:
        for var in REQUESTS_CA_ENV:
            path = os.environ.get(var)
            if path:
                if scheme == "https" and not os.path.exists(path):
                    raise ConfigError(
                        f"the CA bundle {path} named by {var} does not exist",
                        hint=f"fix or unset {var}, or set `verify:` / --ca-bundle",
                    )
                return path
        return None
    if verify is True:
        return requests_certs.where()  # type: ignore[attr-defined]  # certifi.where, untyped
    if verify is False:
        return False
    if not os.path.exists(verify):
        raise ConfigError(
            f"the CA bundle {verify} does not exist",
            hint="set `verify:`, --ca-bundle or KESTRA_CA_BUNDLE to a PEM file (or directory)",
        )
    return verify
