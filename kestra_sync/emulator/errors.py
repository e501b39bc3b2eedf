"""The error answers of the emulated server: ``Rejection`` (status, reason phrase, JSON body) and
jakarta's ``ConstraintViolationException`` as ``ConstraintViolations``, with the envelope Kestra's
``ErrorController`` builds (Micronaut ``JsonError``, docs/kestra-api.md). Pure: no I/O, no state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rejection(Exception):
    """An error answer: status, HTTP reason phrase, JSON body (None = empty body)."""

    status: int
    reason: str
    message: str | None = None
    errors: list[dict[str, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, href: str) -> dict[str, Any] | None:
        """The Micronaut ``JsonError`` body (ErrorController.jsonError)."""
        if self.message is None:
            return None
        out: dict[str, Any] = {
            "message": self.message,
            "_links": {"self": {"href": href, "templated": False}},
        }
        if self.errors is not None:
            out["_embedded"] = {"errors": self.errors}
        return out


@dataclass
class Violation:
    """One constraint violation: the line of the message and the ``path`` of ``_embedded.errors``."""

    path: str
    message: str
    line_path: str | None = (
        None  # KestraConstraintViolationException replaces tasks[i] by the task id
    )


class ConstraintViolations(Exception):
    """A jakarta ``ConstraintViolationException``. ``message`` set = explicit exception message."""

    def __init__(
        self, violations: list[Violation], message: str | None = None, kestra: bool = False
    ):
        super().__init__(message)
        self.violations = violations
        self.explicit_message = message
        self.kestra = kestra  # KestraConstraintViolationException: one "path: msg\n" line each

    @property
    def text(self) -> str:
        if self.explicit_message is not None:
            return self.explicit_message
        if self.kestra:
            return "".join(f"{v.line_path or v.path}: {v.message}\n" for v in self.violations)
        # jakarta ConstraintViolationException(Set): "path: msg" joined by ", "
        return ", ".join(f"{v.path}: {v.message}" for v in self.violations)

    def to_rejection(self) -> Rejection:
        # ErrorController.error(ConstraintViolationException): "Invalid entity: " + message, 422
        return Rejection(
            422,
            "Invalid entity",
            "Invalid entity: " + self.text,
            [{"message": v.message, "path": v.path} for v in self.violations],
        )


def illegal_argument(msg: str) -> Rejection:
    """ErrorController: IllegalArgumentException -> 422 "Illegal argument: <msg>"."""
    return Rejection(422, "Illegal argument", "Illegal argument: " + msg)


def not_found(msg: str | None = None) -> Rejection:
    """404: body-less (null/NOT_FOUND from the controller) or NoSuchElementException."""
    return Rejection(404, "Not Found", "Not Found" + (": " + msg if msg else ""))


def invalid_filters(problems: list[str]) -> Rejection:
    """400 for ``filters[...]`` a search does not take (the flow search and the KV listing
    answer alike): "Invalid query filters: Provided query filters are invalid: <f op>, ..."."""
    return Rejection(
        400,
        "Invalid query filters",
        "Invalid query filters: Provided query filters are invalid: " + ", ".join(problems),
    )


def method_not_allowed(method: str, href: str, allowed: list[str]) -> Rejection:
    """Micronaut's 405 for a known URI asked with another method (body text inferred)."""
    return Rejection(
        405,
        "Method Not Allowed",
        f"Method Not Allowed: Method [{method}] not allowed for URI [{href.split('?')[0]}]. "
        f"Allowed methods: [{', '.join(allowed)}]",
    )
