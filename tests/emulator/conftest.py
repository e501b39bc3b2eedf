"""Fixtures: a tiny requests helper bound to the emulator (the emulator fixtures themselves are in
tests/conftest.py, shared with the end-to-end tests)."""

from __future__ import annotations

import threading

import pytest
import requests

from kestra_sync.emulator import Emulator

YAML = {"Content-Type": "application/x-yaml"}


def flow_yaml(flow_id: str = "hello", namespace: str = "company.team", extra: str = "") -> str:
    return (
        f"id: {flow_id}\nnamespace: {namespace}\n{extra}"
        "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )


class Api:
    """requests.Session bound to one tenant's flows API of a running emulator."""

    def __init__(self, emu: Emulator, tenant: str = "main", auth=None):
        self.emu = emu
        self.base = f"{emu.url}/api/v1/{tenant}/flows"
        self.session = requests.Session()
        self.session.auth = auth

    def create(self, source: str, **kw) -> requests.Response:
        return self.session.post(self.base, data=source.encode("utf-8"), headers=YAML, **kw)

    def update(self, ns: str, fid: str, source: str, **kw) -> requests.Response:
        return self.session.put(
            f"{self.base}/{ns}/{fid}", data=source.encode("utf-8"), headers=YAML, **kw
        )

    def get(self, path: str = "", **kw) -> requests.Response:
        return self.session.get(self.base + path, **kw)

    def delete(self, ns: str, fid: str) -> requests.Response:
        return self.session.delete(f"{self.base}/{ns}/{fid}")

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def api(emulator):
    client = Api(emulator)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def no_thread_leak():
    """Every emulator thread (server loop and handlers) is gone after each test."""
    before = {t.ident for t in threading.enumerate()}
    yield
    leaked = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    for t in leaked:
        t.join(timeout=2)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads leaked: {still}"
