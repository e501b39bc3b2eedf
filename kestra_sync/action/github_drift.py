"""The one pull request (or issue) that carries the server's drift: found, opened, updated,
closed through GitHub's REST API.

Found again on every run, never opened twice: a pull request by its head branch (``GET
/repos/{repo}/pulls?state=open&head=OWNER:BRANCH``), an issue by the hidden marker its body
starts with (``GET /repos/{repo}/issues?state=open``, page by page; pull requests, which that
listing also returns, are skipped). Opened with ``POST /repos/{repo}/pulls`` or ``POST
/repos/{repo}/issues``, updated and closed with ``PATCH /repos/{repo}/issues/{number}`` (a pull
request is an issue there too), with a comment saying why it was closed. REST reference:
docs.github.com/rest/pulls/pulls and docs.github.com/rest/issues/issues.

The token is only ever in the Authorization header; errors name the method, the path and the
status (``report.github_comment.check_reply``).
"""

from __future__ import annotations

from typing import Any

import requests

from ..report.github_comment import (
    DEFAULT_API_URL,
    MAX_BODY,
    MAX_PAGES,
    CommentError,
    check_reply,
    github_session,
)

NEEDS = "`permissions: contents: write` and `pull-requests: write` (or `issues: write`)"


class DriftThread:
    """Pull requests and issues of one repository, for the drift report."""

    def __init__(self, api_url: str, repo: str, token: str, *, timeout: float = 30):
        self.base = (api_url or DEFAULT_API_URL).rstrip("/")
        self.repo = repo
        self.timeout = timeout
        self.session = github_session(token)

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            resp = self.session.request(
                method, f"{self.base}{path}", timeout=self.timeout, **kwargs
            )
        except requests.RequestException as err:
            raise CommentError(f"GitHub API {method} {path}: {type(err).__name__}") from None
        check_reply(resp, method, path, NEEDS)
        return resp

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._call(method, path, **kwargs)
        try:
            return resp.json()
        except ValueError:
            raise CommentError(f"GitHub API {method} {path}: reply is not JSON") from None

    def open_pull(self, branch: str) -> dict | None:
        """The open pull request whose head is ``branch`` of this repository."""
        owner = self.repo.split("/")[0]
        found = self._json(
            "GET",
            f"/repos/{self.repo}/pulls",
            params={"state": "open", "head": f"{owner}:{branch}", "per_page": 100},
        )
        return next((p for p in found if isinstance(p, dict)), None) if found else None

    def open_issue(self, marker: str) -> dict | None:
        """The open issue (not a pull request) whose body starts with ``marker``."""
        path = f"/repos/{self.repo}/issues"
        params: dict | None = {"state": "open", "per_page": 100}
        url: str | None = f"{self.base}{path}"
        for _ in range(MAX_PAGES):
            if not url:
                break
            try:
                resp = self.session.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as err:
                raise CommentError(f"GitHub API GET {path}: {type(err).__name__}") from None
            check_reply(resp, "GET", path, NEEDS)
            try:
                issues = resp.json()
            except ValueError:
                raise CommentError(f"GitHub API GET {path}: reply is not JSON") from None
            for issue in issues if isinstance(issues, list) else []:
                body = (issue.get("body") or "").lstrip()
                if "pull_request" not in issue and body.startswith(marker):
                    return issue
            url, params = resp.links.get("next", {}).get("url"), None
        return None

    def open_new(self, title: str, body: str, *, head: str | None, base: str | None) -> dict:
        """A new pull request (``head`` into ``base``), or an issue when ``head`` is None."""
        if head is None:
            return self._json(
                "POST", f"/repos/{self.repo}/issues", json={"title": title, "body": fit(body)}
            )
        return self._json(
            "POST",
            f"/repos/{self.repo}/pulls",
            json={"title": title, "body": fit(body), "head": head, "base": base},
        )

    def update(self, number: int, title: str, body: str) -> dict:
        return self._json(
            "PATCH",
            f"/repos/{self.repo}/issues/{number}",
            json={"title": title, "body": fit(body)},
        )

    def close(self, number: int, why: str) -> dict:
        """Say why, then close."""
        self._json("POST", f"/repos/{self.repo}/issues/{number}/comments", json={"body": why})
        return self._json("PATCH", f"/repos/{self.repo}/issues/{number}", json={"state": "closed"})


def fit(body: str) -> str:
    """A body GitHub accepts (it refuses longer ones)."""
    if len(body) <= MAX_BODY:
        return body
    note = "\n\n_…cut to fit GitHub's size limit; see the job summary._\n"
    return body[: MAX_BODY - len(note)] + note
