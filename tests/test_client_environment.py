"""The environment requests honours (proxies and NO_PROXY, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE,
netrc) still applies to every request, now that the Transport reads it once instead of requests
on each request (client/environ.py, issue 13).

Proxies and TLS are tested over real sockets on 127.0.0.1 (a recording proxy, a TLS server);
netrc with ``responses``."""

from __future__ import annotations

import base64
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests.sessions
import requests.utils
from urllib3.exceptions import InsecureRequestWarning

from kestra_sync.client import KestraClient
from kestra_sync.errors import AuthError, TransportError
from tests.support.hostile import HostileServer, make_ca

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
VERSION = (200, {"Content-Type": "application/json"}, json.dumps({"version": "1.3.0"}).encode())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No proxy, CA bundle or netrc of the machine running the tests."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that answers every plain request itself (as Kestra would) and
    refuses every CONNECT tunnel, recording both."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append((self.command, self.path))
                status, headers, body = VERSION
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_CONNECT(self):
                outer.requests.append((self.command, self.path))
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("var", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_every_request_goes_through_the_proxy_the_environment_names(monkeypatch, var):
    with RecordingProxy() as proxy:
        monkeypatch.setenv(var, proxy.url)
        client = KestraClient("http://kestra.invalid:8080", retries=0)
        versions = [client.server_version() for _ in range(3)]
    assert versions == ["1.3.0"] * 3  # kestra.invalid does not resolve: only the proxy answers
    assert proxy.requests == [("GET", "http://kestra.invalid:8080/api/v1/configs")] * 3


def test_an_https_server_is_reached_through_the_https_proxy_tunnel(monkeypatch):
    with RecordingProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # not for an https server
        client = KestraClient("https://kestra.invalid", retries=0)
        with pytest.raises(TransportError):
            client.server_version()  # this proxy refuses tunnels
    assert proxy.requests == [("CONNECT", "kestra.invalid:443")]


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
def test_no_proxy_sends_requests_to_the_server_directly(monkeypatch, no_proxy):
    with RecordingProxy() as proxy, HostileServer(lambda *a: VERSION) as server:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", no_proxy)
        client = KestraClient(server.url, retries=0)
        assert [client.server_version() for _ in range(2)] == ["1.3.0"] * 2
    assert proxy.requests == []
    assert server.requests == [("GET", "/api/v1/configs")] * 2


def test_requests_no_longer_read_the_environment_on_each_request(monkeypatch):
    """What made the environment cost a third of the client's CPU per request (issue 13)."""
    with HostileServer(lambda *a: VERSION) as server:
        client = KestraClient(server.url, retries=0)

        def read(*args, **kwargs):
            raise AssertionError("the environment was read again for a request")

        for module in (requests.utils, requests.sessions):
            monkeypatch.setattr(module, "get_environ_proxies", read, raising=False)
            monkeypatch.setattr(module, "get_netrc_auth", read, raising=False)
        assert client.server_version() == "1.3.0"


# -- CA bundles: requests' variables when nothing is configured, and only then --------------


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@needs_openssl
@pytest.mark.parametrize("var", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_the_environments_ca_bundle_is_used_when_nothing_is_configured(monkeypatch, tmp_path, var):
    ca, context = make_ca(tmp_path)
    with HostileServer(lambda *a: VERSION, tls=context) as server:
        with pytest.raises(TransportError, match="TLS handshake failed"):
            KestraClient(server.url, retries=0).server_version()  # certifi lacks our CA
        monkeypatch.setenv(var, str(ca))
        assert KestraClient(server.url, retries=0).server_version() == "1.3.0"


@needs_openssl
def test_a_configured_ca_bundle_beats_the_environments(monkeypatch, tmp_path):
    ca, context = make_ca(tmp_path)
    (tmp_path / "other").mkdir()
    unrelated, _ = make_ca(tmp_path / "other")
    with HostileServer(lambda *a: VERSION, tls=context) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(unrelated))
        assert KestraClient(server.url, verify=str(ca), retries=0).server_version() == "1.3.0"
        with pytest.warns(InsecureRequestWarning):  # verify off wins too
            assert KestraClient(server.url, verify=False, retries=0).server_version() == "1.3.0"
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        with pytest.raises(TransportError, match="TLS handshake failed"):
            KestraClient(server.url, verify=str(unrelated), retries=0).server_version()


# -- netrc: used as requests used it, when no credentials are configured ----------------------


URL = "http://kestra.test:8080"
CONFIGS = f"{URL}/api/v1/configs"


@pytest.fixture
def rsps():
    from tests.test_client import mocked_http

    yield from mocked_http()


@pytest.fixture
def netrc(monkeypatch, tmp_path):
    path = tmp_path / "netrc"
    path.write_text("machine kestra.test login robot password N3trc-secret\n")
    monkeypatch.setenv("NETRC", str(path))
    return path


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def sent_authorization(rsps, client) -> str | None:
    rsps.get(CONFIGS, json={"version": "1.3.0"})
    client.server_version()
    return rsps.calls[-1].request.headers.get("Authorization")


def test_a_netrc_entry_for_the_host_is_used_when_no_credentials_are_configured(rsps, netrc):
    client = KestraClient(URL)
    assert [sent_authorization(rsps, client) for _ in range(2)] == [
        basic("robot", "N3trc-secret")
    ] * 2


def test_a_netrc_entry_for_another_host_is_not_used(rsps, netrc):
    netrc.write_text("machine elsewhere.test login robot password N3trc-secret\n")
    assert sent_authorization(rsps, KestraClient(URL)) is None


def test_configured_credentials_beat_netrc(rsps, netrc):
    assert sent_authorization(rsps, KestraClient(URL, username="me", password="Mine-pw1")) == basic(
        "me", "Mine-pw1"
    )
    assert sent_authorization(rsps, KestraClient(URL, token="tok-123")) == "Bearer tok-123"


def test_a_refused_netrc_password_is_never_printed_and_the_hint_names_netrc(rsps, netrc):
    rsps.get(CONFIGS, status=401, body="bad credentials N3trc-secret")
    with pytest.raises(AuthError) as e:
        KestraClient(URL).server_version()
    text = f"{e.value} {e.value.hint} {e.value.body_excerpt}"
    assert "N3trc-secret" not in text
    assert "netrc" in e.value.hint


def test_an_unreadable_netrc_file_is_ignored_as_requests_ignores_it(rsps, netrc):
    netrc.write_text("machine kestra.test login\n  this is not netrc syntax 'unterminated\n")
    assert sent_authorization(rsps, KestraClient(URL)) is None
