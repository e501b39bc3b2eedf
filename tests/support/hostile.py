"""Small hostile HTTP servers on 127.0.0.1 for end-to-end tests: a server that sits in front of
the emulator (or of nothing) and answers chosen requests its own way: a byte a second, a
redirect elsewhere, a login page, a zip bomb. Everything else is forwarded to the emulator, so
the CLI meets a real Kestra API except where the test says otherwise."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

# What an ``answer`` callable returns: None = forward to the upstream; (status, headers, body);
# or a callable that writes the whole reply to the handler itself.
Answer = Callable[[str, str, bytes], object]

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server", "date"}


class _Server(ThreadingHTTPServer):
    # An apply opens --parallelism connections at once: socketserver's listen queue of 5
    # overflows and the kernel drops some of them (the emulator's fix, emulator/server.py).
    request_queue_size = 128


class HostileServer:
    def __init__(
        self,
        answer: Answer,
        upstream: str | None = None,
        *,
        tls: ssl.SSLContext | None = None,
    ):
        self.requests: list[tuple[str, str]] = []
        self.answer = answer
        up = urlsplit(upstream) if upstream else None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path))
                reply = outer.answer(self.command, self.path, body)
                if reply is None:
                    reply = outer.forward(up, self.command, self.path, dict(self.headers), body)
                if callable(reply):
                    with contextlib.suppress(OSError):
                        reply(self)
                    self.close_connection = True
                    return
                status, headers, data = reply
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @staticmethod
    def forward(up, method: str, path: str, headers: dict, body: bytes):
        if up is None:
            return 502, {}, b"no upstream"
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
        try:
            headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            kept = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP}
            return resp.status, kept, data
        finally:
            conn.close()

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def drip(status: int = 200, every: float = 0.2, total: int = 1000):
    """A reply whose headers come at once and whose body comes one byte every ``every`` s."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        handler.wfile.flush()
        for _ in range(total):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(every)

    return write


def make_ca(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and a server context using it."""
    cert, key = tmp_path / "ca.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return cert, context


WRITES = ("POST", "PUT", "DELETE", "PATCH")


class DiesAfterWrites:
    """Installed on a running emulator: it answers the first ``answered`` writes (POST, PUT,
    DELETE, PATCH) one at a time, each reply sent in full before the next write is read, and
    dies at the next write without acting on it: it stops accepting connections (refused from
    then on) and cuts every open one, that write's too. No later write reaches the store.

    Counted, not timed: which writes the server acted on is fixed whatever the scheduling.
    (Dying from a callback while other keep-alive connections still served writes let a loaded
    machine apply a varying number of changes after the "death".)"""

    def __init__(self, emu, answered: int):
        self.limit = answered
        self.answered = 0
        self.died = threading.Event()
        gate = threading.Lock()
        server = emu.server
        outer = self

        class Handler(server.RequestHandlerClass):
            def _handle(self, method: str) -> None:
                if method not in WRITES:
                    super()._handle(method)
                    return
                with gate:
                    if not outer.died.is_set() and outer.answered < outer.limit:
                        try:
                            super()._handle(method)  # acted on and answered, in full
                        finally:
                            outer.answered += 1
                        return
                    if not outer.died.is_set():
                        outer.died.set()
                        server.shutdown()  # the accept loop (another thread) has stopped
                        server.socket.close()  # new connections: refused
                        server.close_connections()  # open ones, this one included: cut
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

        server.RequestHandlerClass = Handler
