"""A recording HTTP proxy for the oracle tests: it stands between kestra-sync (or any client)
and a server, forwards every request unchanged, and keeps each request/answer pair so a test can
check them against Kestra's published OpenAPI description afterwards.

Standard library only; one upstream connection per request (the client's keep-alive ends here)."""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded either way.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@dataclass(frozen=True)
class Exchange:
    """One request as the client sent it and the answer as the server gave it."""

    method: str
    target: str  # path and query, exactly as sent
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RecordingProxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        sent = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        up = urlsplit(self.server.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body or None, headers=sent)
            answer = conn.getresponse()
            data = answer.read()
            got = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
            status = answer.status
        finally:
            conn.close()
        self.server.record(Exchange(self.command, self.path, sent, body, status, got, data))
        self.send_response(status)
        for key, value in got.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward


class RecordingProxy(ThreadingHTTPServer):
    """``with RecordingProxy(upstream) as proxy:`` point the client at ``proxy.url``; read
    ``proxy.exchanges`` afterwards."""

    daemon_threads = True
    block_on_close = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream.rstrip("/")
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, name="recording-proxy")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
