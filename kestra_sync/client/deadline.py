"""A deadline for each HTTP attempt as a whole, not for each socket read.

``requests``' read timeout bounds every ``recv`` on its own, so a server that sends one byte
a second never times out. Here a connection records when its attempt started (the connect, or
the sending of the request on a reused connection) and its reply is read through a reader that,
before every ``recv``, shortens the socket timeout to what is left of ``start + read timeout``.
Status line, headers and body are all read through it, so the whole attempt (connect, headers,
body) ends within the read timeout, whatever the server does. No threads, no signals.

Installed by ``DeadlineAdapter`` (an ``HTTPAdapter``), which makes its pools use these
connection classes; urllib3's retries and ``responses``' mocking work as before.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class _DeadlineReader(io.RawIOBase):
    """A raw socket stream that refuses to wait past ``deadline`` (``time.monotonic``)."""

    def __init__(self, sock: Any, deadline: float):
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # a SocketIO: EINTR, timeouts handled
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the reply did not complete in time")
        current = self._sock.gettimeout()
        self._sock.settimeout(left if current is None else min(current, left))
        try:
            return self._raw.readinto(buffer)
        finally:
            # Keep the socket's own timeout for later use of a pooled connection.
            self._sock.settimeout(current)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineConnectionMixin:
    """Records when an attempt starts; reads its reply against ``start + read timeout``."""

    _attempt_start: float | None = None
    _connect_start: float | None = None
    response_class: Any  # http.client's; replaced for the length of one getresponse()

    def connect(self) -> None:
        self._connect_start = time.monotonic()
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        # An HTTPS connection connects before request() (urllib3 _validate_conn): count that.
        self._attempt_start = self._connect_start or time.monotonic()
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
        finally:
            self._connect_start = None  # a plain HTTP connection connects in there

    def getresponse(self) -> Any:
        # urllib3 has just set self.timeout to the read timeout of this request.
        budget = self.timeout  # type: ignore[attr-defined]
        start = self._attempt_start or time.monotonic()
        self._attempt_start = None
        if not isinstance(budget, (int, float)) or budget <= 0:
            return super().getresponse()  # type: ignore[misc]
        deadline = start + budget

        def response_class(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
            return _DeadlineResponse(sock, *args, deadline=deadline, **kwargs)

        # Read by http.client's getresponse; only for this reply (a proxy tunnel's CONNECT
        # reply, read in connect(), keeps the plain class).
        self.response_class = response_class
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            del self.response_class


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: Any, *args: Any, deadline: float, **kwargs: Any):
        super().__init__(sock, *args, **kwargs)
        plain = self.fp
        self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))
        plain.close()  # the SocketIO http.client opened: release its reference to the socket


class DeadlineHTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    pass


class DeadlineHTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    pass


class DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


POOLS = {"http": DeadlineHTTPConnectionPool, "https": DeadlineHTTPSConnectionPool}


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose read timeout bounds each attempt end to end."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are urllib3.contrib's own
            manager.pool_classes_by_scheme = dict(POOLS)
        return manager
