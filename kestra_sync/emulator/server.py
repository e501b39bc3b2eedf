"""HTTP layer: the threaded server, request plumbing (body, query, latency, faults, the answer on
the wire) and dispatch to the routes. The routes live by job: ``routing`` (path -> route),
``access`` (auth and tenant filters), ``flowroutes`` (flow endpoints), ``resourceroutes``
(namespace files and KV), ``dashboards`` (a tenant's dashboards), ``control`` (the ``/_emulator`` knobs).

Paths, statuses and bodies follow kestra FlowController / ErrorController / AuthenticationFilter /
TenantValidationFilter (8ecd8337), docs/kestra-api.md. Comments say where a behaviour is inferred.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..rules import knowledge as K
from . import (
    access,
    control,
    dashboards,
    enterprise,
    flowroutes,
    resourceroutes,
    routing,
    rules,
    testsuites,
)
from .answers import Answer, json_answer, ok, rejected
from .errors import method_not_allowed
from .faults import FaultPlan, Stats
from .settings import Config
from .state import Store

__all__ = ["Answer", "Config", "EmulatorHTTPServer", "Handler"]


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server that tracks open connections so ``stop()`` never waits on idle keep-alives."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True
    # The listen backlog. socketserver's 5 overflowed when an apply (16 connections at once by
    # default) met a loaded machine: the kernel answered with SYN cookies and a create's
    # connection was closed before its reply ("Possible SYN flooding" in dmesg on that port).
    request_queue_size = 128
    server_address: tuple[str, int]  # an AF_INET socket's name (TCPServer's default family)

    def __init__(self, address: tuple[str, int], store: Store, config: Config):
        self.store = store
        self.config = config
        self.faults = FaultPlan()
        self.stats = Stats()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer
    server_version = "kestra-sync-emulator"
    # BaseHTTPRequestHandler's head lines, created by send_response (private, so not in the
    # stubs): _send appends the body to it to write head and body at once.
    _headers_buffer: list[bytes]

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: tests and the demo do not want access logs on stderr

    # ------------------------------------------------------------------ plumbing

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self, method: str) -> None:
        body = self._read_body()
        split = urlsplit(self.path)
        path = unquote(split.path)
        self.href = split.path + (("?" + split.query) if split.query else "")
        self.query = parse_qsl(split.query, keep_blank_values=True)
        if path.startswith("/_emulator/"):
            # The knobs can wipe the state (and its file): the API's credentials, when set.
            answer = access.control_auth_failure(self) or control.control(self, method, path, body)
            self._send(answer)
            return
        cfg = self.server.config
        if cfg.latency > 0:
            time.sleep(cfg.latency)
        route, params = routing.match(method, split.path)
        self.server.stats.record(method, route, path)
        fault = self.server.faults.take(method, path)
        if fault is not None:
            if fault.drop:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            payload = (
                fault.body
                if fault.body is not None
                else {"message": f"Emulated fault {fault.status}"}
            )
            self._send(json_answer(fault.status, None, payload, headers))
            return
        try:
            answer = self._dispatch(method, route, params, body)
        except rules.ConstraintViolations as cve:
            answer = self._reject(cve.to_rejection())
        except rules.Rejection as rej:
            answer = self._reject(rej)
        except Exception as err:  # noqa: BLE001 - ErrorController's Throwable handler
            answer = self._reject(
                rules.Rejection(500, "Internal server error", f"Internal server error: {err}")
            )
        self._send(answer)

    def _reject(self, rej: rules.Rejection) -> Answer:
        return rejected(rej, self.href)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status, answer.reason)
        if answer.content_type and (answer.body or answer.status not in (204,)):
            self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        # One write for head and body: separate small writes hit Nagle/delayed-ACK stalls (~40 ms).
        self._headers_buffer.append(b"\r\n" + (answer.body if self.command != "HEAD" else b""))
        self.flush_headers()

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, method: str, route: str, p: dict[str, str], body: bytes) -> Answer:
        cfg = self.server.config
        configs = route == "/api/v1/configs" and method == "GET"
        if not (configs and cfg.has(K.CONFIGS_OPEN)):  # open from 0.24 (knowledge.py)
            denied = access.auth_failure(self)
            if denied is not None:
                return denied
        if configs:
            return ok(flowroutes.configs(cfg))
        if route == "unknown":
            return self._reject(rules.not_found())
        tenant_denied = access.tenant_failure(self, p.get("tenant", routing.MAIN_TENANT))
        if tenant_denied is not None:
            return tenant_denied
        if route in enterprise.ROUTES:  # apps, namespaces, secrets
            return enterprise.dispatch(self, method, route, p, body)
        if route.startswith("/api/v1/{tenant}/namespaces/") or route == resourceroutes.TENANT_KV:
            self.body = body
            return resourceroutes.dispatch(self, method, route, p)
        if route.startswith(dashboards.PREFIX):
            return dashboards.dispatch(self, method, route, p, body)
        if route.startswith(testsuites.PREFIX):
            return testsuites.dispatch(self, method, route, p, body)
        if not route.startswith(("/api/v1/{tenant}/flows", "/api/v1/flows")):
            return self._reject(rules.not_found())  # another controller: out of scope
        tail = route.split("/flows", 1)[1]
        tenant = p["tenant"]
        handlers = flowroutes.ENDPOINTS
        handler = handlers.get((method, tail))
        if handler is None:
            allowed = sorted(m for (m, t) in handlers if t == tail)
            if not allowed:
                return self._reject(rules.not_found())
            return self._reject(method_not_allowed(method, self.href, allowed))
        return handler(self, tenant, p, body)

    # ------------------------------------------------------------------ helpers

    def param(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return default

    def params(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def flag(self, name: str) -> bool:
        return (self.param(name, "false") or "").lower() == "true"

    def int_param(self, name: str, default: int | None) -> int | None:
        raw = self.param(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            # ErrorController(ConversionErrorException) falls through to 422 "Internal server error"
            raise rules.Rejection(
                422,
                "Internal server error",
                f'Internal server error: Failed to convert argument [{name}] for value [{raw}] due to: For input string: "{raw}"',
            ) from None

    def json_body(self, body: bytes) -> Any:
        try:
            return json.loads(body.decode("utf-8") or "null", parse_constant=_not_json)
        except (ValueError, UnicodeDecodeError) as err:
            raise rules.Rejection(422, "Invalid json", f"Invalid json: {err}") from None
        except RecursionError:  # nested past Jackson's 1,000 levels too: refused, not a 500
            raise rules.Rejection(
                422, "Invalid json", "Invalid json: the document is nested too deeply"
            ) from None


def _not_json(constant: str) -> Any:
    # Jackson refuses NaN and Infinity (ALLOW_NON_NUMERIC_NUMBERS is off); Python takes them.
    raise ValueError(f"{constant} is not a JSON number")
