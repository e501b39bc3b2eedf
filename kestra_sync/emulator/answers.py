"""What a route answers: ``Answer`` (status, reason phrase, body, content type, headers), built
from JSON or from a ``Rejection`` (Kestra's error envelope, errors.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import shapes
from .errors import Rejection


@dataclass
class Answer:
    status: int
    reason: str | None = None
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_answer(
    status: int, reason: str | None, payload: Any, headers: dict[str, str] | None = None
) -> Answer:
    return Answer(status, reason, shapes.dumps(payload), "application/json", headers or {})


def ok(payload: Any) -> Answer:
    return json_answer(200, None, payload)


def rejected(rej: Rejection, href: str) -> Answer:
    """The answer for a Rejection; ``href`` is the request's path and query (``_links.self``)."""
    body = rej.body(href)
    if body is None:
        return Answer(rej.status, rej.reason, b"", None, rej.headers)
    return json_answer(rej.status, rej.reason, body, rej.headers)
