"""Listings of KV keys and namespace files are checked as flows' are (issue 20, item 8): the
real CLI, over real HTTP, against a small hostile server in front of the emulator. A key or
path a Kestra server could never list never reaches a URL, and a page shorter than its
``total`` promises is a failed listing: nothing is created over, or deleted from, a namespace
whose listing cannot be proven complete."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from kestra_sync.emulator.resources import store_of
from tests.e2e.test_resources import NS, files_dir, nested_flow, put_file, server_kv, write_kv
from tests.support.hostile import HostileServer
from tests.support.project import Project, client, flow

NS_LISTING = f"/api/v1/main/namespaces/{NS}/kv"
TENANT_LISTING = "/api/v1/main/kv"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    return p


def through(p: Project, proxy: HostileServer, *args: str):
    return p.run(*args, env={"KESTRA_URL": proxy.url})


@pytest.mark.parametrize("hostile_key", [".", "..", "../../flows", "a/b", "-x"])
def test_a_listed_kv_key_kestra_never_accepts_is_refused_and_never_deleted(project, hostile_key):
    with client(project.emu) as c:
        c.put_kv(NS, "region", "eu")
        c.put_kv(NS, "stale", "x")
    write_kv(project, "managed: true\nvalues:\n  region: eu\n")

    def answer(method: str, path: str, body: bytes):
        if method == "GET" and path.split("?")[0] == NS_LISTING:
            keys = [{"key": k, "namespace": NS} for k in ("region", "stale", hostile_key)]
            return 200, JSON, json.dumps(keys).encode()
        return None

    with HostileServer(answer, project.emu.url) as proxy:
        done = through(project, proxy, "apply", "--auto-approve", "--delete")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"the listing holds {hostile_key!r}, not a KV key" in done.stderr + done.stdout
    assert not [r for r in proxy.requests if r[0] == "DELETE"]
    assert server_kv(project) == {"region": "eu", "stale": "x"}


def test_a_short_kv_page_is_a_failed_listing_not_an_empty_namespace(project):
    """Kestra 2.0 lists keys at ``GET /api/v1/{tenant}/kv`` (KVController.listAllKeys): a page
    that says ``total: 5`` and holds nothing is not "no keys"."""
    with client(project.emu) as c:
        c.put_kv(NS, "region", "eu")
    write_kv(project, "values:\n  region: us\n  other: x\n")

    def answer(method: str, path: str, body: bytes):
        route = path.split("?")[0]
        if method == "GET" and route == NS_LISTING:
            return 405, JSON, b'{"message": "Method Not Allowed"}'
        if method == "GET" and route == TENANT_LISTING:
            return 200, JSON, b'{"results": [], "total": 5}'
        return None

    with HostileServer(answer, project.emu.url) as proxy:
        planned = through(project, proxy, "plan", "--format", "json")
        applied = through(project, proxy, "apply", "--auto-approve")
    assert planned.returncode == 1, planned.stdout + planned.stderr
    data = json.loads(planned.stdout)
    assert any("list of KV keys is incomplete" in e for e in data["errors"]), data["errors"]
    assert not [c for c in data["changes"] if c["kind"] == "kv"]
    assert applied.returncode == 1
    assert not [r for r in proxy.requests if r[0] == "PUT"]
    assert server_kv(project) == {"region": "eu"}


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buf.getvalue()


@pytest.mark.parametrize("entry", ["a/../../x.py", "./x.py", "a//x.py", "..x/y.py"])
def test_a_files_export_naming_a_path_kestra_never_stores_changes_nothing(project, entry):
    nested_flow(project, flow("etl"))
    put_file(project, "keep.py", b"1")
    assert project.run("apply", "--auto-approve").returncode == 0
    (files_dir(project) / "keep.py").unlink()

    def answer(method: str, path: str, body: bytes):
        if method == "GET" and path.split("?")[0].endswith("/files/export"):
            data = _zip({"keep.py": b"1", entry: b"2"})
            return 200, {"Content-Type": "application/octet-stream"}, data
        return None

    with HostileServer(answer, project.emu.url) as proxy:
        done = through(
            project, proxy, "apply", "--auto-approve", "--delete", "--allow-empty-namespace"
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"zip entry {entry!r}" in done.stderr + done.stdout
    assert not [r for r in proxy.requests if r[0] == "DELETE"]
    assert store_of(project.emu._server).files[("main", NS)].keys() == {"/keep.py"}


@pytest.mark.parametrize(
    "body, why",
    [
        (b'{"type": "NUMBER", "value": 1e400}', "a number out of JSON's range"),
        (b'{"type": "JSON", "value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too"),
    ],
)
def test_a_kv_value_no_kestra_sends_is_a_one_line_error_not_a_traceback(project, body, why):
    with client(project.emu) as c:
        c.put_kv(NS, "region", "eu")
    write_kv(project, "values:\n  region: us\n")

    def answer(method: str, path: str, _body: bytes):
        if method == "GET" and path.split("?")[0] == f"{NS_LISTING}/region":
            return 200, JSON, body
        return None

    with HostileServer(answer, project.emu.url) as proxy:
        planned = through(project, proxy, "plan")
        pulled = through(project, proxy, "pull", "--namespace", NS)
    for done in (planned, pulled):
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert why in done.stdout + done.stderr
    kv_file = project.root / "flows" / "company" / "team" / "kv.yml"
    assert kv_file.read_text() == "values:\n  region: us\n"  # the pull wrote nothing
