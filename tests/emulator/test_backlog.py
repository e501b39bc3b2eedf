"""The emulator's listen backlog holds every connection a parallel apply opens at once: with
socketserver's default of 5, an apply's 16 simultaneous connections overflowed it on a loaded
machine and a create was cut before its reply (the e2e server-dies test's re-run flaked so)."""

from __future__ import annotations

import contextlib
import socket

from kestra_sync.emulator import Emulator
from kestra_sync.models import DEFAULT_PARALLELISM


def test_connections_opened_at_once_all_wait_in_the_backlog_while_the_server_is_busy():
    emulator = Emulator(auth=False)
    server = emulator.bind()  # listening, not accepting: as when every handler thread is slow
    wanted = 2 * DEFAULT_PARALLELISM
    clients = []
    try:
        with contextlib.suppress(TimeoutError):  # a full backlog drops the handshake
            for _ in range(wanted):
                clients.append(socket.create_connection(server.server_address[:2], timeout=2))
        assert len(clients) == wanted
        server.socket.settimeout(2)
        accepted = []
        with contextlib.suppress(TimeoutError):
            while len(accepted) < wanted:
                accepted.append(server.socket.accept()[0])
        assert len(accepted) == wanted  # the kernel queued every handshake for the server
        for conn in accepted:
            conn.close()
    finally:
        for client in clients:
            client.close()
        server.server_close()
