"""End to end: the action's entry point runs the real CLI (a child process) against a loopback
HTTP server that answers the few Kestra flow endpoints a plan/apply uses and GitHub's issue
comments API. PR plan with a sticky comment -> a second plan updates the same comment -> apply
-> a last plan shows no changes.

The server here is a deliberately small stand-in (in-memory flows, no validation); the project's
emulator is the faithful one and should replace it once merged. Skipped until the modules `plan`
needs (kestra_sync.flows / kestra_sync.validate, branch `validate`) are in the tree.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shutil
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from kestra_sync import ghaction

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("kestra_sync.flows") is None
    or importlib.util.find_spec("kestra_sync.validate") is None,
    reason="needs the validate branch (kestra_sync.flows, kestra_sync.validate)",
)

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Sup3r-Secret-Pw"
GH_TOKEN = "ghs_e2e_token_123456"
FLOW_PATH = re.compile(r"^/api/v1/main/flows/([^/]+)/([^/]+)$")
COMMENTS_PATH = re.compile(r"^/repos/acme/flows/issues/\d+/comments$")


class FakeServers(BaseHTTPRequestHandler):
    flows: dict[tuple[str, str], dict] = {}
    comments: list[dict] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _reply(self, status, body=b"", ctype="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _flow(self, key):
        f = self.flows[key]
        return {"namespace": key[0], "id": key[1], "revision": f["revision"], "source": f["source"]}

    def _keep(self, query):
        for name, values in query.items():
            m = re.match(r"filters\[namespace\]\[(\w+)\]", name)
            if m:
                ns = values[0]
                if m.group(1) == "EQUALS":
                    return lambda n: n == ns
                return lambda n: n == ns or n.startswith(ns + ".")
        return lambda n: True

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/api/v1/main/flows/search":
            keep = self._keep(query)
            found = [
                {"namespace": n, "id": i, "revision": f["revision"]}
                for (n, i), f in sorted(self.flows.items())
                if keep(n)
            ]
            page, size = int(query["page"][0]), int(query["size"][0])
            return self._reply(
                200, {"results": found[(page - 1) * size : page * size], "total": len(found)}
            )
        if url.path == "/api/v1/main/flows/export/by-query":
            keep = self._keep(query)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                for (n, i), f in self.flows.items():
                    if keep(n):
                        z.writestr(f"{n}.{i}.yml", f["source"])
            return self._reply(200, buf.getvalue(), "application/octet-stream")
        m = FLOW_PATH.match(url.path)
        if m and (m[1], m[2]) in self.flows:
            return self._reply(200, self._flow((m[1], m[2])))
        if COMMENTS_PATH.match(url.path):
            return self._reply(200, self.comments)
        return self._reply(404, {"message": "Not Found"})

    def do_POST(self):
        url = urlparse(self.path)
        body = self._body()
        if url.path == "/api/v1/main/flows":
            source = body.decode()
            data = yaml.safe_load(source)
            key = (data["namespace"], data["id"])
            if key in self.flows:
                return self._reply(422, {"message": "Flow id already exists"})
            self.flows[key] = {"revision": 1, "source": source}
            return self._reply(200, self._flow(key))
        if COMMENTS_PATH.match(url.path):
            n = len(self.comments) + 1
            comment = {"id": n, "body": json.loads(body)["body"], "html_url": f"http://gh/c/{n}"}
            self.comments.append(comment)
            return self._reply(201, comment)
        return self._reply(404, {"message": "Not Found"})

    def do_PUT(self):
        m = FLOW_PATH.match(urlparse(self.path).path)
        key = (m[1], m[2])
        self.flows[key]["revision"] += 1
        self.flows[key]["source"] = self._body().decode()
        return self._reply(200, self._flow(key))

    def do_PATCH(self):
        comment_id = int(urlparse(self.path).path.rsplit("/", 1)[1])
        comment = self.comments[comment_id - 1]
        comment["body"] = json.loads(self._body())["body"]
        return self._reply(200, comment)

    def do_DELETE(self):
        m = FLOW_PATH.match(urlparse(self.path).path)
        self.flows.pop((m[1], m[2]), None)
        return self._reply(204)


@pytest.fixture
def server():
    FakeServers.flows, FakeServers.comments = {}, []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeServers)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def test_plan_comment_apply_and_converge(server, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "flows", repo / "flows")
    shutil.copy(ROOT / "kestra-sync.yml", repo / "kestra-sync.yml")
    hello = (repo / "flows/company/team/hello-world.yml").read_text()
    FakeServers.flows[("company.team", "hello-world")] = {
        "revision": 2,
        "source": hello + "# edited in the UI\n",
    }
    FakeServers.flows[("company.team", "legacy")] = {
        "revision": 3,
        "source": "id: legacy\nnamespace: company.team\ntasks:\n"
        "  - id: x\n    type: io.kestra.plugin.core.log.Log\n    message: old\n",
    }
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 5, "pull_request": {"number": 5}}))
    monkeypatch.chdir(repo)

    def action(**inputs):
        for name in ("out", "summary.md"):
            (tmp_path / name).write_text("")
        env = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(tmp_path / "out"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": "acme/flows",
            "GITHUB_API_URL": server,
            "GITHUB_WORKSPACE": str(repo),
            "RUNNER_TEMP": str(tmp_path),
            "INPUT_SERVER": server,
            "INPUT_USERNAME": "admin",
            "INPUT_PASSWORD": PASSWORD,
            "INPUT_GITHUB_TOKEN": GH_TOKEN,
        }
        env.update({ghaction.input_env_name(k.replace("_", "-")): v for k, v in inputs.items()})
        out = io.StringIO()
        code = ghaction.main(env, stdout=out)
        outputs = dict(
            line.split("=", 1)
            for line in (tmp_path / "out").read_text().splitlines()
            if "=" in line
        )
        summary = (tmp_path / "summary.md").read_text()
        for text in (out.getvalue(), summary, (tmp_path / "out").read_text()):
            for line in text.splitlines():
                if not line.startswith("::add-mask::"):
                    assert PASSWORD not in line and GH_TOKEN not in line
        return code, outputs, summary, out.getvalue()

    code, outputs, summary, log = action(command="plan", comment="true", delete="true")
    assert code == 0, log
    assert (outputs["creates"], outputs["updates"], outputs["deletes"]) == ("4", "1", "1")
    assert outputs["has-changes"] == "true" and Path(outputs["plan-file"]).is_file()
    assert "🗑️ | `company.team/legacy` | delete (r3)" in summary
    assert len(FakeServers.comments) == 1
    assert FakeServers.comments[0]["body"].startswith("<!-- kestra-sync:plan:main -->")

    code, outputs, _, log = action(command="plan", comment="true", delete="false")
    assert code == 0 and outputs["deletes"] == "0" and outputs["unmanaged"] == "1", log
    assert len(FakeServers.comments) == 1  # updated in place, not a second comment
    assert "1 on the server but not in git" in FakeServers.comments[0]["body"]

    code, outputs, summary, log = action(command="apply", delete="true")
    assert code == 0, log
    assert (outputs["applied"], outputs["failed"]) == ("6", "0")
    assert "**6 done, 0 failed, 0 not attempted.**" in summary
    assert ("company.team", "legacy") not in FakeServers.flows

    code, outputs, _, log = action(command="plan", comment="true", delete="true")
    assert code == 0 and outputs["has-changes"] == "false" and outputs["unchanged"] == "5", log
    assert len(FakeServers.comments) == 1
    assert "No changes: the server matches git." in FakeServers.comments[0]["body"]
