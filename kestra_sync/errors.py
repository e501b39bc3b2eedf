"""One exception root for everything kestra-sync reports to a user.

The CLI turns a ``KestraSyncError`` into one clear line (plus its ``hint``) and exit code 1;
anything else is a bug and becomes "unexpected error" with exit code 3. Messages must never
contain a password or token: the client builds them from method, path, status and the
server's own message only, never from request headers.
"""

from __future__ import annotations


class KestraSyncError(Exception):
    """An expected failure with a message meant for the user."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(KestraSyncError):
    """Bad flags, environment or config file."""


class InputError(KestraSyncError):
    """A local file or directory that cannot be used as asked."""


class PlanError(KestraSyncError):
    """A plan cannot be made or applied safely (stale saved plan, partial listing, too many deletes)."""


class TransportError(KestraSyncError):
    """The server could not be reached or did not answer in time (after retries).

    ``unreachable``: the server looks down (connection refused, reset or closed, no
    connection), as opposed to slow; an apply stops after a few in a row. ``maybe_applied``:
    a write was sent and its reply never came, so it may have been applied."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        unreachable: bool = False,
        maybe_applied: bool = False,
    ):
        super().__init__(message, hint=hint)
        self.unreachable = unreachable
        self.maybe_applied = maybe_applied


class ApiError(KestraSyncError):
    """The server answered with an error status.

    ``status`` is the HTTP status, ``method``/``path`` locate the request (no query string, no
    credentials), ``server_message`` is the ``message`` of Kestra's JSON error body when there
    is one, and ``body_excerpt`` is the first few hundred characters of the raw body.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        path: str,
        server_message: str | None = None,
        body_excerpt: str = "",
        hint: str | None = None,
    ):
        super().__init__(message, hint=hint)
        self.status = status
        self.method = method
        self.path = path
        self.server_message = server_message
        self.body_excerpt = body_excerpt
        # Seconds the server asked to wait (Retry-After of a 429/503), for a caller that
        # resends the request itself (apply's throttle); None when it did not say.
        self.retry_after: float | None = None


class AuthError(ApiError):
    """401 or 403: credentials missing, wrong, or not allowed."""


class NotFoundError(ApiError):
    """404: the flow (or route) does not exist."""


class BadRequestError(ApiError):
    """400: e.g. a tenant other than ``main`` on an OSS server, or bad query filters."""


class InvalidFlowError(ApiError):
    """422: the server rejected the flow. ``violations`` holds (path, message) pairs from
    ``_embedded.errors`` when the server sent them."""

    def __init__(self, message: str, *, violations: list[tuple[str, str]] | None = None, **kw):
        super().__init__(message, **kw)
        self.violations = violations or []


class AlreadyExistsError(InvalidFlowError):
    """422 whose message says the flow id already exists (the upsert trigger)."""


class ConflictError(ApiError):
    """409: Kestra's ``Illegal state``."""


class ServerError(ApiError):
    """5xx after retries."""


class UnsupportedByServer(KestraSyncError):
    """The server has no API for a kind at all (an Enterprise-only kind on an OSS server):
    it holds none of it (kinds.base.KindUnsupported)."""


class UnexpectedResponseError(KestraSyncError):
    """A 2xx whose body could not be read. For a write this means: applied, reply unreadable."""

    def __init__(
        self, message: str, *, status: int, method: str, path: str, hint: str | None = None
    ):
        super().__init__(message, hint=hint)
        self.status = status
        self.method = method
        self.path = path


class IncompleteListingError(PlanError):
    """A listing of the server's flows could not be proven complete (a short page, a total that
    changed between pages, an export that disagrees with the search). Raised instead of returning
    a partial list, because a caller that deletes what is missing must never act on one."""
