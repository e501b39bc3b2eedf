"""What the environment says about reaching one server, read once per Transport.

requests reads it again on every request when ``Session.trust_env`` is on (its default): the
proxy variables and NO_PROXY (``merge_environment_settings`` -> ``get_environ_proxies``, which
walks all of ``os.environ`` twice), REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, and ~/.netrc
(``prepare_request`` -> ``get_netrc_auth``). That was about a third of the client's CPU per
request, and an apply of 2,000 flows is CPU-bound in the client. Every one of these answers
depends only on the URL's scheme, host and port, and a Transport only ever talks to one origin
(redirects are followed only within it, ``Transport.request``), so one reading at start-up gives
each request exactly what requests would have found; the Transport then turns ``trust_env``
off. (The environment is not re-read should it change while a command runs: no kestra-sync
command changes it.)

The CA bundle variables are read by ``urls.resolve_verify`` (a setting the user made wins over
them, and a bundle they name must exist).
"""

from __future__ import annotations

from requests.utils import get_environ_proxies, get_netrc_auth


def proxies_for(base_url: str) -> dict[str, str]:
    """The proxies requests would use for ``base_url``: HTTP_PROXY / HTTPS_PROXY / ALL_PROXY
    (any case), or none when NO_PROXY covers the host (requests ``get_environ_proxies``;
    on macOS and Windows the system settings too, through urllib's ``getproxies``)."""
    return dict(get_environ_proxies(base_url))


def netrc_credentials(base_url: str) -> tuple[str, str] | None:
    """(login, password) from the netrc file (``$NETRC``, else ~/.netrc or ~/_netrc) for the
    server's host, or its ``default`` entry: what requests sends when no credentials are
    configured. None when there is no file, no entry, or the file cannot be parsed (requests
    ignores it then, and so do we)."""
    return get_netrc_auth(base_url)
