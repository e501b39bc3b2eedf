"""One sticky pull-request comment, updated in place instead of adding a new one per push.

The comment is found by a hidden HTML marker at the start of its body, e.g.
``<!-- kestra-sync:plan:main -->`` (the pattern of mshick/add-pr-comment's ``message-id`` and
tfcmt): list the PR's issue comments page by page (``GET /repos/{repo}/issues/{n}/comments``,
``Link: rel="next"``), PATCH the first whose body starts with the marker, else POST a new one.

REST endpoints (docs.github.com/rest/issues/comments): list ``GET
/repos/{owner}/{repo}/issues/{issue_number}/comments`` (per_page max 100), create ``POST`` to the
same path, update ``PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}``. The API base
comes from ``$GITHUB_API_URL`` so GitHub Enterprise Server works. The token needs
``pull-requests: write`` (or ``issues: write``); pull requests from forks get a read-only token,
so callers treat a failure here as a warning, never as a failed plan.

Never logs or returns the token; error messages carry only method, path and status.
"""

from __future__ import annotations

import re

import requests

DEFAULT_API_URL = "https://api.github.com"
MAX_PAGES = 50  # 5,000 comments: a bound on the search, never an endless loop
MAX_BODY = 65_536  # GitHub rejects longer comment bodies
_KEY = re.compile(r"[^A-Za-z0-9._-]+")


class CommentError(Exception):
    """The comment could not be read or written (message without any secret)."""


def marker_for(kind: str, key: str) -> str:
    """The hidden marker, e.g. ``<!-- kestra-sync:plan:main -->``; ``key`` is sanitised so it
    can never close the HTML comment early."""
    key = re.sub(r"-{2,}", "-", _KEY.sub("-", key)).strip("-") or "default"
    return f"<!-- kestra-sync:{kind}:{key} -->"


def github_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "kestra-sync-action",
        }
    )
    return session


def check_reply(
    resp: requests.Response,
    method: str,
    path: str,
    needs: str = "`permissions: pull-requests: write`; pull requests from forks only get a "
    "read-only token",
) -> None:
    """Raise a CommentError for an HTTP error: method, path, status, GitHub's message (cut),
    and for 401/403/404 what the token ``needs``."""
    if resp.status_code >= 400:
        try:
            data = resp.json()
        except ValueError:
            data = None
        message = str(data.get("message", ""))[:200] if isinstance(data, dict) else ""
        hint = ""
        if resp.status_code in (401, 403, 404):
            hint = f" (the token needs {needs})"
        raise CommentError(
            f"GitHub API {method} {path}: HTTP {resp.status_code}"
            + (f": {message}" if message else "")
            + hint
        )


def find_comment(
    session: requests.Session, api_url: str, repo: str, number: int, marker: str, *, timeout=30
) -> dict | None:
    """The first comment of PR ``number`` whose body starts with ``marker``, or None."""
    path = f"/repos/{repo}/issues/{number}/comments"
    url: str | None = f"{api_url.rstrip('/')}{path}"
    params: dict | None = {"per_page": 100}
    for _ in range(MAX_PAGES):
        if not url:
            break
        try:
            resp = session.get(url, params=params, timeout=timeout)
        except requests.RequestException as err:
            raise CommentError(f"GitHub API GET {path}: {type(err).__name__}") from None
        check_reply(resp, "GET", path)
        try:
            comments = resp.json()
        except ValueError:
            raise CommentError(f"GitHub API GET {path}: reply is not JSON") from None
        for comment in comments if isinstance(comments, list) else []:
            body = comment.get("body") or ""
            if body.lstrip().startswith(marker):
                return comment
        url = resp.links.get("next", {}).get("url")
        params = None  # the next link already carries the query
    return None


def upsert_comment(
    api_url: str,
    repo: str,
    number: int,
    token: str,
    marker: str,
    body: str,
    *,
    timeout: float = 30,
    session: requests.Session | None = None,
    create: bool = True,
) -> tuple[str, str]:
    """Create or update the one comment carrying ``marker``; returns (action, html_url) with
    action "created" or "updated", or ("skipped", "") when there is none and ``create`` is
    false."""
    if not body.startswith(marker):
        body = f"{marker}\n{body}"
    if len(body) > MAX_BODY:
        note = "\n\n_…cut to fit GitHub's comment size limit; see the job summary._\n"
        body = body[: MAX_BODY - len(note)] + note
    session = session or github_session(token)
    api_url = api_url or DEFAULT_API_URL
    existing = find_comment(session, api_url, repo, number, marker, timeout=timeout)
    if existing:
        method, path = "PATCH", f"/repos/{repo}/issues/comments/{existing['id']}"
        action = "updated"
    elif not create:
        return "skipped", ""
    else:
        method, path = "POST", f"/repos/{repo}/issues/{number}/comments"
        action = "created"
    try:
        resp = session.request(
            method, f"{api_url.rstrip('/')}{path}", json={"body": body}, timeout=timeout
        )
    except requests.RequestException as err:
        raise CommentError(f"GitHub API {method} {path}: {type(err).__name__}") from None
    check_reply(resp, method, path)
    try:
        data = resp.json()
    except ValueError:
        data = None
    return action, (str(data.get("html_url", "")) if isinstance(data, dict) else "")
