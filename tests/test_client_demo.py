"""scripts/client_demo.py runs end to end against a small stateful fake (responses callbacks)
that follows the rules of docs/kestra-api.md: 422 on create of an existing id, same source keeps the
revision, delete keeps a deleted revision, search/export exclude deleted flows."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses

from kestra_sync.client import same_source
from kestra_sync.client.wire import flow_identity
from tests.support.http_mock import mocked_http

URL = "http://demo.test:8080"
BASE = f"{URL}/api/v1/main/flows"
SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "client_demo.py"


@pytest.fixture(autouse=True)
def rsps():
    yield from mocked_http()


class FakeKestra:
    def __init__(self):
        self.revisions: dict[tuple[str, str], list[dict]] = {}

    def _live(self, key):
        revs = self.revisions.get(key)
        return revs[-1] if revs and not revs[-1]["deleted"] else None

    def _json(self, status, body):
        return (status, {"Content-Type": "application/json"}, json.dumps(body))

    def _save(self, key, source):
        revs = self.revisions.setdefault(key, [])
        live = self._live(key)
        if live and same_source(live["source"], source):
            return live
        flow = {
            "id": key[1],
            "namespace": key[0],
            "revision": (revs[-1]["revision"] + 1) if revs else 1,
            "tenantId": "main",
            "deleted": False,
            "disabled": False,
            "source": source,
        }
        revs.append(flow)
        return flow

    def create(self, request):
        source = request.body.decode("utf-8")
        key = flow_identity(source)
        if self._live(key):
            return self._json(422, {"message": "Invalid entity: flow.id: Flow id already exists"})
        return self._json(200, self._save(key, source))

    def item(self, request):
        parts = [unquote(p) for p in urlsplit(request.url).path.split("/")]
        key = (parts[-2], parts[-1])
        live = self._live(key)
        if live is None:
            return self._json(404, {"message": "Not Found"})
        if request.method == "GET":
            return self._json(200, live)
        if request.method == "PUT":
            return self._json(200, self._save(key, request.body.decode("utf-8")))
        self.revisions[key].append(dict(live, revision=live["revision"] + 1, deleted=True))
        return (204, {}, "")

    def _in(self, request):
        q = parse_qs(urlsplit(request.url).query)
        ns = q.get("filters[namespace][EQUALS]", [None])[0]
        return [
            f
            for key in sorted(self.revisions)
            if (f := self._live(key)) and (ns is None or f["namespace"] == ns)
        ]

    def search(self, request):
        flows = [{k: v for k, v in f.items() if k != "source"} for f in self._in(request)]
        return self._json(200, {"results": flows, "total": len(flows)})

    def export(self, request):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for f in self._in(request):
                z.writestr(f"{f['namespace']}-{f['id']}.yml", f["source"].encode())
        return (200, {"Content-Type": "application/octet-stream"}, buf.getvalue())

    def namespace(self, request):
        ns = unquote(urlsplit(request.url).path.rsplit("/", 1)[1])
        flows = [
            {k: v for k, v in f.items() if k != "source"}
            for key in sorted(self.revisions)
            if (f := self._live(key)) and f["namespace"] == ns
        ]
        return self._json(200, flows)

    def install(self, mock):
        mock.add_callback(responses.POST, BASE, callback=self.create)
        mock.add_callback(responses.GET, re.compile(f"{BASE}/search"), callback=self.search)
        mock.add_callback(
            responses.GET, re.compile(f"{BASE}/export/by-query"), callback=self.export
        )
        item = re.compile(rf"{BASE}/[^/?]+/[^/?]+(\?.*)?$")
        for method in (responses.GET, responses.PUT, responses.DELETE):
            mock.add_callback(method, item, callback=self.item)
        mock.add_callback(responses.GET, re.compile(rf"{BASE}/[^/?]+$"), callback=self.namespace)


def load_script():
    spec = importlib.util.spec_from_file_location("client_demo", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_creates_upserts_lists_and_deletes(rsps, monkeypatch):
    for var in ("KESTRA_USERNAME", "KESTRA_PASSWORD", "KESTRA_API_TOKEN", "KESTRA_TENANT"):
        monkeypatch.delenv(var, raising=False)
    fake = FakeKestra()
    fake.install(rsps)
    lines: list[str] = []
    load_script().run(URL, out=lines.append)
    assert lines == [
        f"server: {URL} (tenant main)",
        "create   kestra_sync.demo/hello: revision 1",
        "upsert   kestra_sync.demo/hello: updated (revision 1 -> 2)",
        "upsert   kestra_sync.demo/hello: unchanged (revision 2)",
        "list     kestra_sync.demo/hello: revision 2, 7 source lines",
        "delete   kestra_sync.demo/hello: done",
        "list     kestra_sync.demo: empty",
    ]
    methods = [c.request.method for c in rsps.calls]
    assert methods.count("PUT") == 1  # the unchanged upsert wrote nothing


def test_demo_without_url_prints_one_error_and_exits_1(monkeypatch, capsys):
    monkeypatch.delenv("KESTRA_URL", raising=False)
    assert load_script().main([]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no Kestra server URL given")
    assert "KESTRA_URL" in err
