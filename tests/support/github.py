"""A loopback stand-in for GitHub's issue comments, issues and pull requests API (``FakeGitHub``, served by
``fake_github``), and the environment GitHub gives the Action's `run` step for an event
(``action_env``), so that Action tests run its real entry point as GitHub would."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlparse

from tests.support.cli import ROOT

COMMENTS_PATH = re.compile(r"^/repos/acme/flows/issues/(\d+)/comments$")
COMMENT_PATH = re.compile(r"^/repos/acme/flows/issues/comments/(\d+)$")
THREAD_PATH = re.compile(r"^/repos/acme/flows/(issues|pulls)/(\d+)$")
THREADS_PATH = re.compile(r"^/repos/acme/flows/(issues|pulls)$")


class FakeGitHub(BaseHTTPRequestHandler):
    """GitHub's issue comments API (list, create, update), and issues and pull requests
    (list open ones, open, edit, close) numbered in one sequence as on GitHub. ``remote``: a
    bare repository standing for the GitHub one: a pull request from a branch it does not have
    is refused (422), as GitHub refuses it. ``writes`` logs every POST and PATCH."""

    comments: list[dict] = []
    threads: list[dict] = []
    writes: list[tuple[str, str]] = []
    remote: Path | None = None
    # (method, path pattern, status, message): the next matching request is refused so.
    refuse: list[tuple[str, str, int, str]] = []

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

    def _refused(self, method: str) -> bool:
        """Answer a request ``refuse`` names with its status (used once), as GitHub would."""
        path = urlparse(self.path).path
        for rule in self.refuse:
            if rule[0] == method and re.search(rule[1], path):
                self.refuse.remove(rule)
                self._reply(rule[2], {"message": rule[3]})
                return True
        return False

    def do_GET(self):
        if self._refused("GET"):
            return None
        url = urlparse(self.path)
        query = dict(parse_qsl(url.query))
        if match := COMMENTS_PATH.match(url.path):
            number = int(match.group(1))
            return self._reply(200, [c for c in self.comments if c["issue"] == number])
        if match := THREADS_PATH.match(url.path):
            found = [t for t in self.threads if t["state"] == query.get("state", "open")]
            if match.group(1) == "pulls":
                owner, _, branch = query.get("head", ":").partition(":")
                found = [t for t in found if "head" in t and owner == "acme"]
                found = [t for t in found if t["head"]["ref"] == branch]
            return self._reply(200, found)
        return self._reply(404, {"message": "Not Found"})

    def do_POST(self):
        if self._refused("POST"):
            return None
        path = urlparse(self.path).path
        FakeGitHub.writes.append(("POST", path))
        if match := COMMENTS_PATH.match(path):
            n = len(self.comments) + 1
            comment = {"id": n, "issue": int(match.group(1)), "body": self._body()["body"]}
            comment["html_url"] = f"http://gh/c/{n}"
            self.comments.append(comment)
            return self._reply(201, comment)
        if match := THREADS_PATH.match(path):
            return self._open(match.group(1) == "pulls", self._body())
        return self._reply(404, {"message": "Not Found"})

    def _open(self, pull: bool, body: dict):
        if pull and not _has_branch(self.remote, body["head"]):
            return self._reply(422, {"message": "Validation Failed"})
        n = len(self.threads) + 1
        thread = {"number": n, "title": body["title"], "body": body["body"], "state": "open"}
        thread["html_url"] = f"http://gh/acme/flows/{'pull' if pull else 'issues'}/{n}"
        if pull:
            thread |= {"head": {"ref": body["head"]}, "base": {"ref": body["base"]}}
            thread["pull_request"] = {"url": thread["html_url"]}
        self.threads.append(thread)
        return self._reply(201, thread)

    def do_PATCH(self):
        if self._refused("PATCH"):
            return None
        path = urlparse(self.path).path
        FakeGitHub.writes.append(("PATCH", path))
        if match := COMMENT_PATH.match(path):
            comment = self.comments[int(match.group(1)) - 1]
            comment["body"] = self._body()["body"]
            return self._reply(200, comment)
        if match := THREAD_PATH.match(path):
            thread = self.threads[int(match.group(2)) - 1]
            thread.update(self._body())
            return self._reply(200, thread)
        return self._reply(404, {"message": "Not Found"})


def _has_branch(remote: Path | None, branch: str) -> bool:
    if remote is None:
        return True
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=remote,
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@contextlib.contextmanager
def fake_github() -> Iterator[str]:
    """Serve ``FakeGitHub`` (with no comments yet) on 127.0.0.1; yields its API URL."""
    FakeGitHub.comments, FakeGitHub.threads, FakeGitHub.writes = [], [], []
    FakeGitHub.remote, FakeGitHub.refuse = None, []
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
