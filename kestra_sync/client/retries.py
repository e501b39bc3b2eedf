"""The retry policy of the client: which requests urllib3 resends, after which statuses, and
how long a server's Retry-After may make it wait."""

from __future__ import annotations

from typing import Any

import requests
import urllib3.exceptions
from urllib3.util.retry import Retry

# Retried: throttling and gateway errors, which pass. 500 is not retried: Kestra maps any unexpected
# exception to 500 "Internal server error: ..." (ErrorController), which a retry will not fix.
RETRY_STATUSES = (429, 502, 503, 504)
# Idempotent methods only. A PUT repeated with the same source is a no-op on the server (same
# source -> same revision, docs/kestra-api.md); a repeated DELETE answers 404 (see delete_flow).
# POST create is never retried blindly: a timed-out POST may have been applied, and re-running
# the upsert (create -> 422 already exists -> compare -> PUT) converges safely instead.
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})
# Statuses that say the request was not processed (RFC 6585 §4 429 Too Many Requests; RFC 9110
# §15.6.4 503 Service Unavailable: "currently unable to handle the request"): even a create is
# resent for them, after Retry-After. Should a proxy have passed it on after all, the resent
# create meets 422 "already exists" and the upsert compares and converges.
NOT_PROCESSED = frozenset({429, 503})
WRITES = frozenset({"POST", "PUT", "DELETE"})


class CappedRetry(Retry):
    """urllib3 ``Retry`` that honours ``Retry-After`` (429/503) but never sleeps longer than
    ``RETRY_AFTER_MAX`` seconds, so a misconfigured proxy cannot stall a CI job for an hour."""

    RETRY_AFTER_MAX = 30.0

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method == "POST" and status_code in NOT_PROCESSED:
            return True  # increment() still enforces the number of retries
        return super().is_retry(method, status_code, has_retry_after)

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.RETRY_AFTER_MAX)


class RefusalsToCaller(CappedRetry):
    """``CappedRetry`` that does not resend a write refused with 429/503: the caller does,
    with fewer writes in flight (apply's throttle). Otherwise a refused create was resent by
    both layers, up to (1 + 3) x (1 + 5) sends. Reads, gateway errors and failed connections
    are retried as by ``CappedRetry``. (urllib3 makes each next Retry with ``type(self)``.)"""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method in WRITES and status_code in NOT_PROCESSED:
            return False
        return super().is_retry(method, status_code, has_retry_after)


def make_retry(
    retries: int, backoff: float, methods: frozenset[str], kind: type[CappedRetry] = CappedRetry
) -> Retry:
    # Connect errors are retried for every method (urllib3 does so regardless of
    # allowed_methods): nothing reached the server, so even a POST is safe to resend.
    return kind(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=methods,
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the final response back; we map its status ourselves
    )


def retry_after(resp: requests.Response) -> float | None:
    """The reply's Retry-After in seconds (delta or HTTP date), capped as the client's own
    retries cap it; None when absent or unreadable."""
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = CappedRetry().parse_retry_after(value)
    except urllib3.exceptions.InvalidHeader:
        return None
    return min(seconds, CappedRetry.RETRY_AFTER_MAX)
