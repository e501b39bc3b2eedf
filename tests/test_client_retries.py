"""Retry policy: idempotent requests are retried on 429/502/503/504 and connection errors,
Retry-After is honoured (capped), a POST create is never retried, validate is.

Most tests use responses (which applies the adapter's urllib3 Retry but never sleeps); the
Retry-After, refused-connection and timeout tests use a real server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3.util.retry

from kestra_sync.client import KestraClient
from kestra_sync.client.http import CappedRetry
from kestra_sync.errors import ServerError, TransportError
from tests.support.http_mock import FLOWS, URL, flow_json, mocked_http

ITEM = f"{FLOWS}/company.team/hello"
SOURCE = "id: hello\nnamespace: company.team\n"


@pytest.fixture(autouse=True)
def rsps():
    yield from mocked_http()


@pytest.fixture
def client():
    return KestraClient(URL, retries=3, backoff=0)


def test_get_is_retried_after_503_twice_then_succeeds(rsps, client):
    rsps.get(ITEM, status=503)
    rsps.get(ITEM, status=503)
    rsps.get(ITEM, json=flow_json(source=SOURCE))
    assert client.get_flow("company.team", "hello").revision == 1
    assert len(rsps.calls) == 3


@pytest.mark.parametrize("status", [429, 502, 504])
def test_get_is_retried_on_other_transient_statuses(rsps, client, status):
    rsps.get(ITEM, status=status)
    rsps.get(ITEM, json=flow_json())
    client.get_flow("company.team", "hello")
    assert len(rsps.calls) == 2


def test_get_gives_up_after_the_configured_retries(rsps, client):
    rsps.get(ITEM, status=503)  # answered to every attempt
    with pytest.raises(ServerError) as e:
        client.get_flow("company.team", "hello")
    assert len(rsps.calls) == 4  # 1 + 3 retries
    assert "503" in str(e.value) and "after 3 retries" in str(e.value)


@pytest.mark.parametrize("status", [502, 504])
def test_post_create_is_not_retried_after_a_gateway_error(rsps, client, status):
    # A gateway may have passed the create on before failing: never resent blindly.
    rsps.post(FLOWS, status=status)  # a resend would meet it again, and count
    with pytest.raises(ServerError):
        client.create_flow(SOURCE)
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_post_create_is_retried_after_a_status_that_says_it_was_not_processed(rsps, client, status):
    rsps.post(FLOWS, status=status)
    rsps.post(FLOWS, json=flow_json())
    assert client.create_flow(SOURCE).revision == 1
    assert len(rsps.calls) == 2


def test_put_and_delete_are_retried(rsps, client):
    rsps.put(ITEM, status=502)
    rsps.put(ITEM, json=flow_json(revision=2))
    rsps.delete(ITEM, status=503)
    rsps.delete(ITEM, status=204)
    client.update_flow("company.team", "hello", SOURCE)
    client.delete_flow("company.team", "hello")
    assert [c.request.method for c in rsps.calls] == ["PUT", "PUT", "DELETE", "DELETE"]


def test_validate_post_is_retried_because_it_is_read_only(rsps, client):
    rsps.post(f"{FLOWS}/validate", status=503)
    rsps.post(f"{FLOWS}/validate", json=[{"index": 0, "flow": "hello", "outdated": False}])
    (result,) = client.validate_flows([SOURCE])
    assert result.valid and len(rsps.calls) == 2


def test_validate_retry_also_applies_to_another_tenant(rsps, client):
    other = client.with_tenant("acme")
    url = f"{URL}/api/v1/acme/flows/validate"
    rsps.post(url, status=503)
    rsps.post(url, json=[{"index": 0, "outdated": False}])
    other.validate_flows([SOURCE])
    assert len(rsps.calls) == 2


def test_500_is_not_retried(rsps, client):
    rsps.get(ITEM, status=500, json={"message": "Internal server error: x"})
    with pytest.raises(ServerError):
        client.get_flow("company.team", "hello")
    assert len(rsps.calls) == 1


def test_retries_zero_means_one_attempt(rsps):
    c = KestraClient(URL, retries=0)
    rsps.get(ITEM, status=503)
    with pytest.raises(ServerError) as e:
        c.get_flow("company.team", "hello")
    assert len(rsps.calls) == 1 and "retries" not in str(e.value)


def test_retry_after_is_capped():
    class Resp:
        headers = {"Retry-After": "3600"}

        def getheader(self, name, default=None):
            return self.headers.get(name, default)

    assert CappedRetry().get_retry_after(Resp()) == CappedRetry.RETRY_AFTER_MAX


# -- against a real server on 127.0.0.1 ------------------------------------------------------


class _Server:
    """A tiny HTTP server answering from a script of (status, headers, body, delay)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.requests.append((self.command, self.path))
                status, headers, body, delay = outer.script.pop(0)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout test)
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


JSON_FLOW = b'{"id":"hello","namespace":"company.team","revision":1}'
JSON = {"Content-Type": "application/json"}


def test_retry_after_is_honoured(rsps, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", slept.append)
    script = [(503, {"Retry-After": "7"}, b"", 0), (200, JSON, JSON_FLOW, 0)]
    with _Server(script) as server:
        rsps.add_passthru(server.url)
        c = KestraClient(server.url, retries=3, backoff=0)
        assert c.get_flow("company.team", "hello").revision == 1
    assert slept == [7.0]
    assert len(server.requests) == 2


def test_retry_after_longer_than_the_cap_is_cut(rsps, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", slept.append)
    script = [(429, {"Retry-After": "86400"}, b"", 0), (200, JSON, JSON_FLOW, 0)]
    with _Server(script) as server:
        rsps.add_passthru(server.url)
        KestraClient(server.url, retries=3, backoff=0).get_flow("company.team", "hello")
    assert slept == [CappedRetry.RETRY_AFTER_MAX]


def test_post_create_that_times_out_is_sent_once_and_may_have_been_applied(rsps):
    script = [(200, JSON, JSON_FLOW, 0.5)]
    with _Server(script) as server:
        rsps.add_passthru(server.url)
        c = KestraClient(server.url, timeout=0.2, retries=3, backoff=0)
        with pytest.raises(TransportError) as e:
            c.create_flow(SOURCE)
        assert len(server.requests) == 1
    assert "within 0.2s (--timeout)" in str(e.value)
    assert "the change may have been applied, a re-run converges" in str(e.value)


def test_a_create_answered_429_is_resent_after_retry_after(rsps, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", slept.append)
    script = [(429, {"Retry-After": "4"}, b"", 0), (200, JSON, JSON_FLOW, 0)]
    with _Server(script) as server:
        rsps.add_passthru(server.url)
        c = KestraClient(server.url, retries=3, backoff=0)
        assert c.create_flow(SOURCE).revision == 1
    assert slept == [4.0]
    assert [m for m, _ in server.requests] == ["POST", "POST"]


def test_refused_connection_names_host_and_port(rsps, monkeypatch):
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", lambda s: None)
    with socket.socket() as s:  # a port that was free a moment ago and now has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://admin%40kestra.io:Passw0rdX@127.0.0.1:{port}"
    rsps.add_passthru(f"http://127.0.0.1:{port}")
    c = KestraClient(url, retries=1, backoff=0)
    with pytest.raises(TransportError) as e:
        c.list_namespace("company.team")
    assert f"cannot reach http://127.0.0.1:{port}: connection refused (after 1 retries)" in str(
        e.value
    )
    assert "Passw0rdX" not in str(e.value) + (e.value.hint or "")


def test_delete_whose_lost_reply_is_retried_into_a_404_counts_as_done(rsps):
    not_found = b'{"message":"Not Found"}'
    script = [(204, {}, b"", 0.5), (404, JSON, not_found, 0)]
    with _Server(script) as server:
        rsps.add_passthru(server.url)
        c = KestraClient(server.url, timeout=0.2, retries=1, backoff=0)
        assert c.delete_flow("company.team", "hello") is None
        assert [m for m, _ in server.requests] == ["DELETE", "DELETE"]


def test_delete_of_a_missing_flow_without_retry_is_still_not_found(rsps):
    from kestra_sync.errors import NotFoundError

    with _Server([(404, JSON, b'{"message":"Not Found"}', 0)]) as server:
        rsps.add_passthru(server.url)
        c = KestraClient(server.url, retries=1, backoff=0)
        with pytest.raises(NotFoundError):
            c.delete_flow("company.team", "hello")
