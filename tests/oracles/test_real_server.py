"""Oracle 4: a real Kestra, where one is configured (docs/oracles.md, "A real Kestra").

KESTRA_SYNC_TEST_SERVER=http://host:8080 (with KESTRA_SYNC_TEST_USERNAME/PASSWORD or
KESTRA_SYNC_TEST_TOKEN) runs the CLI round trip of the OpenAPI oracle (flows, namespace files,
KV: validate --server-side, plan, apply, pull, update, delete) against that server, in a
namespace unique to this run, deletes everything it made, and checks every exchange against the
description of the server's release. Without the variable every test here is skipped, saying
so. `scripts/real-kestra.sh 1.3|2.0` starts Kestra's official image and runs this file."""

from __future__ import annotations

import os
import uuid

import pytest
import requests

from .conftest import Http
from .openapi_oracle import SPEC_OF_PROFILE, check
from .recorder import RecordingProxy
from .scenario import clean_up, new_repo, round_trip

SERVER = os.environ.get("KESTRA_SYNC_TEST_SERVER", "").rstrip("/")
pytestmark = pytest.mark.skipif(
    not SERVER,
    reason="no real Kestra configured: set KESTRA_SYNC_TEST_SERVER (scripts/real-kestra.sh)",
)


def credentials() -> dict[str, str]:
    """The CLI's environment for the server, from the test's own variables."""
    env = {}
    for ours, cli in (
        ("KESTRA_SYNC_TEST_USERNAME", "KESTRA_USERNAME"),
        ("KESTRA_SYNC_TEST_PASSWORD", "KESTRA_PASSWORD"),
        ("KESTRA_SYNC_TEST_TOKEN", "KESTRA_API_TOKEN"),
        ("KESTRA_SYNC_TEST_TENANT", "KESTRA_TENANT"),
    ):
        if os.environ.get(ours):
            env[cli] = os.environ[ours]
    return env


def server_release() -> str:
    """`major.minor` of the server, from GET /api/v1/configs (open before auth up to 2.0)."""
    env = credentials()
    auth = (env["KESTRA_USERNAME"], env["KESTRA_PASSWORD"]) if "KESTRA_USERNAME" in env else None
    version = requests.get(f"{SERVER}/api/v1/configs", auth=auth, timeout=30).json()["version"]
    return ".".join(version.lstrip("v").split(".")[:2])


def leftovers(namespace: str) -> dict[str, list[str]]:
    """What is still on the server in the run's namespace (nothing, after the clean-up)."""
    env = credentials()
    auth = (env["KESTRA_USERNAME"], env["KESTRA_PASSWORD"]) if "KESTRA_USERNAME" in env else None
    http = Http(SERVER, auth, namespace)
    if "KESTRA_API_TOKEN" in env:
        http.session.headers["Authorization"] = f"Bearer {env['KESTRA_API_TOKEN']}"
    flows = http.get("/flows/search", params={"filters[namespace][EQUALS]": namespace}).json()
    files = http.get(f"/namespaces/{namespace}/files/directory").json()
    kv = http.get("/kv", params={"filters[namespace][EQUALS]": namespace})
    if kv.status_code != 200:  # up to 1.0: the namespace listing only
        keys = [e["key"] for e in http.get(f"/namespaces/{namespace}/kv").json()]
    else:
        keys = [e["key"] for e in kv.json()["results"]]
    return {
        "flows": [f["id"] for f in flows["results"]],
        "files": [f["fileName"] for f in files],
        "kv": keys,
    }


@pytest.fixture
def namespace() -> str:
    """Unique to this run, so a shared server's other namespaces are never touched."""
    return f"kestra_sync_test.run_{uuid.uuid4().hex[:10]}"


def test_round_trip_on_a_real_kestra(namespace, tmp_path):
    with RecordingProxy(SERVER) as proxy:
        repo = new_repo(tmp_path / "repo", {"KESTRA_URL": proxy.url, **credentials()})
        try:
            round_trip(repo, namespace, tmp_path / "pulled")
        finally:
            clean_up(repo, namespace)
    assert leftovers(namespace) == {"flows": [], "files": [], "kv": []}
    release = server_release()
    if release not in SPEC_OF_PROFILE:
        pytest.skip(f"round trip passed; no vendored OpenAPI description for Kestra {release}")
    from .test_openapi_emulator import DECLARED_GAPS

    result = check(release, proxy.exchanges, DECLARED_GAPS)
    assert not result.findings, "\n".join(str(f)[:400] for f in result.findings)
