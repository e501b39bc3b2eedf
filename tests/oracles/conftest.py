"""Fixtures of the oracle suites: a profile parameter and a plain HTTP client for it.

With KESTRA_SYNC_TEST_SERVER set (docs/oracles.md, "A real Kestra"), the conformance cases also
run against that server (profile ``real``), in namespaces unique to the run, all emptied after
each case: a real Kestra checks the translations themselves."""

from __future__ import annotations

import functools
import os
import uuid

import pytest
import requests

from kestra_sync.rules.knowledge import EMULATOR_PROFILES

USER, PASSWORD = "admin@kestra.io", "Admin1234"


class Http:
    """requests bound to one server's ``/api/v1/main`` (as Kestra's controller tests use)."""

    def __init__(self, base: str, auth: tuple[str, str] | None, prefix: str):
        self.base = base.rstrip("/") + "/api/v1/main"
        self.session = requests.Session()
        self.session.auth = auth
        self.prefix = prefix
        self.namespaces: list[str] = []

    def ns(self) -> str:
        """A fresh namespace, as TestsUtils.randomNamespace() gives Kestra's tests."""
        return self.track(f"{self.prefix}.n{uuid.uuid4().hex[:8]}")

    def track(self, namespace: str) -> str:
        self.namespaces.append(namespace)
        return namespace

    def empty(self, namespace: str) -> None:
        """Delete the flows, namespace files and KV pairs of a namespace (a real server's)."""
        found = self.get("/flows/search", params={"filters[namespace][EQUALS]": namespace,
                                                  "size": 100})  # fmt: skip
        for flow in found.json().get("results", []) if found.ok else []:
            self.delete(f"/flows/{namespace}/{flow['id']}")
        listing = self.get(f"/namespaces/{namespace}/files/directory")
        for entry in listing.json() if listing.ok else []:
            self.delete(f"/namespaces/{namespace}/files", params={"path": "/" + entry["fileName"]})
        keys = self.get(f"/namespaces/{namespace}/kv")
        if keys.status_code != 200:
            keys = self.get("/kv", params={"filters[namespace][EQUALS]": namespace, "size": 100})
            entries = keys.json().get("results", []) if keys.ok else []
        else:
            entries = keys.json()
        for entry in entries:
            self.delete(f"/namespaces/{namespace}/kv/{entry['key']}")

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


REAL_SERVER = os.environ.get("KESTRA_SYNC_TEST_SERVER", "").rstrip("/")
RUN = uuid.uuid4().hex[:8]  # one prefix per run: kestra_sync_test.conf_<RUN>.n<random>


def real_auth() -> tuple[str, str] | None:
    user, password = (os.environ.get(f"KESTRA_SYNC_TEST_{v}") for v in ("USERNAME", "PASSWORD"))
    return (user, password) if user and password else None


@functools.cache
def real_release() -> str:
    """`major.minor` of the configured real server (GET /api/v1/configs)."""
    answer = requests.get(f"{REAL_SERVER}/api/v1/configs", auth=real_auth(), timeout=30)
    return ".".join(answer.json()["version"].lstrip("v").split(".")[:2])


def pytest_generate_tests(metafunc) -> None:
    """A conformance case runs on the profiles it applies to (conformance.kestra_case), and on
    the real server when one is configured and its release is one of them."""
    if "profile" in metafunc.fixturenames and "http" in metafunc.fixturenames:
        only = getattr(metafunc.function, "kestra_profiles", None)
        profiles = [p for p in EMULATOR_PROFILES if only is None or p in only]
        if REAL_SERVER and (only is None or real_release() in only):
            profiles.append("real")
        metafunc.parametrize("profile", profiles)


@pytest.fixture
def http(profile, make_emulator):
    if profile == "real":
        client = Http(REAL_SERVER, real_auth(), f"kestra_sync_test.conf_{RUN}")
    else:
        emu = make_emulator(version=profile, users={USER: PASSWORD})
        client = Http(emu.url, (USER, PASSWORD), "io.kestra.conformance")
    yield client
    if profile == "real":
        for namespace in client.namespaces:
            client.empty(namespace)
    client.session.close()
