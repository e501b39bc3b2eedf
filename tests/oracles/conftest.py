"""Fixtures of the oracle suites: a profile parameter and a plain HTTP client for it."""

from __future__ import annotations

import pytest
import requests

from kestra_sync.rules.knowledge import EMULATOR_PROFILES

USER, PASSWORD = "admin@kestra.io", "Admin1234"


class Http:
    """requests bound to one server's ``/api/v1/main`` (as Kestra's controller tests use)."""

    def __init__(self, base: str, auth: tuple[str, str] | None):
        self.base = base.rstrip("/") + "/api/v1/main"
        self.session = requests.Session()
        self.session.auth = auth

    def call(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.request(method, self.base + path, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.call("GET", path, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.call("DELETE", path, **kw)

    def upload(self, ns: str, path: str, content: bytes) -> requests.Response:
        """POST a namespace file as the UI does: multipart part ``fileContent``."""
        return self.call(
            "POST",
            f"/namespaces/{ns}/files",
            params={"path": path},
            files={"fileContent": (path.rsplit("/", 1)[-1], content)},
        )

    def put_kv(self, ns: str, key: str, text: str, **headers: str) -> requests.Response:
        return self.call(
            "PUT",
            f"/namespaces/{ns}/kv/{key}",
            data=text.encode("utf-8"),
            headers={"Content-Type": "text/plain", **headers},
        )

    def flow(self, source: str, method: str = "POST", path: str = "/flows") -> requests.Response:
        return self.call(
            method,
            path,
            data=source.encode("utf-8"),
            headers={"Content-Type": "application/x-yaml"},
        )


def pytest_generate_tests(metafunc) -> None:
    """A conformance case runs on the profiles it applies to (conformance.kestra_case)."""
    if "profile" in metafunc.fixturenames and "http" in metafunc.fixturenames:
        only = getattr(metafunc.function, "kestra_profiles", None)
        metafunc.parametrize("profile", [p for p in EMULATOR_PROFILES if only is None or p in only])


@pytest.fixture
def http(profile, make_emulator):
    emu = make_emulator(version=profile, users={USER: PASSWORD})
    client = Http(emu.url, (USER, PASSWORD))
    yield client
    client.session.close()
