"""A loopback stand-in for GitHub's issue comments API (``FakeGitHub``, served by
``fake_github``), and the environment GitHub gives the Action's `run` step for an event
(``action_env``), so that Action tests run its real entry point as GitHub would."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

from tests.support.cli import ROOT

COMMENTS_PATH = re.compile(r"^/repos/acme/flows/issues/\d+/comments$")


class FakeGitHub(BaseHTTPRequestHandler):
    """GitHub's issue comments API: list, create, update."""

    comments: list[dict] = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def do_GET(self):
        if COMMENTS_PATH.match(urlparse(self.path).path):
            return self._reply(200, self.comments)
        return self._reply(404, {"message": "Not Found"})

    def do_POST(self):
        if not COMMENTS_PATH.match(urlparse(self.path).path):
            return self._reply(404, {"message": "Not Found"})
        n = len(self.comments) + 1
        comment = {"id": n, "body": self._body()["body"], "html_url": f"http://gh/c/{n}"}
        self.comments.append(comment)
        return self._reply(201, comment)

    def do_PATCH(self):
        comment = self.comments[int(urlparse(self.path).path.rsplit("/", 1)[1]) - 1]
        comment["body"] = self._body()["body"]
        return self._reply(200, comment)


@contextlib.contextmanager
def fake_github() -> Iterator[str]:
    """Serve ``FakeGitHub`` (with no comments yet) on 127.0.0.1; yields its API URL."""
    FakeGitHub.comments = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def action_env(
    tmp: Path, workspace: Path, github: str, *, event_name: str = "pull_request", number: int = 7
) -> dict[str, str]:
    """The variables GitHub sets for the Action's `run` step on ``event_name`` (a pull request
    numbered ``number``), with fresh output and summary files in ``tmp``; add the step's
    ``INPUT_*`` variables to it."""
    event = tmp / "event.json"
    event.write_text(json.dumps({"number": number, "pull_request": {"number": number}}))
    for name in ("out", "summary.md"):
        (tmp / name).write_text("")
    return {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "acme/flows",
        "GITHUB_API_URL": github,
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(tmp),
    }


def run_action(step_env: dict[str, str], /, **inputs: str) -> tuple[int, str]:
    """Runs the Action's entry point as its `run` step does, with ``step_env`` (``action_env``'s)
    and the step's inputs (``delete_cap`` for the input ``delete-cap``); returns the exit code
    and the log it printed."""
    import io

    from kestra_sync.action import run as ghaction

    named = {ghaction.input_env_name(k.replace("_", "-")): v for k, v in inputs.items()}
    out = io.StringIO()
    code = ghaction.main({**step_env, **named}, stdout=out)
    return code, out.getvalue()


def step_outputs(tmp: Path) -> dict[str, str]:
    """The outputs the step wrote to ``$GITHUB_OUTPUT`` (``action_env``'s ``tmp/out``)."""
    return dict(
        line.split("=", 1) for line in (tmp / "out").read_text().splitlines() if "=" in line
    )
