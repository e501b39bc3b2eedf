"""How many writes apply keeps in flight: all it may while the server keeps up, fewer as soon as
it says it cannot (429 Too Many Requests, 503 Service Unavailable).

Additive increase, multiplicative decrease, as TCP does: a refusal halves the number of
concurrent writes (never below one) and the refused change waits before it is tried again; every
``recover_after`` successes in a row give one slot back, up to the configured parallelism. So a
high default parallelism costs a server that is already busy one refused request per worker,
not a failed apply.

Retrying a refused write is safe: a 429 or 503 means the server did not take it (and were it
otherwise, creates go through the client's upsert, which finds the flow there and reports it
unchanged; updates and deletes are idempotent).
"""

from __future__ import annotations

import random
import threading

THROTTLE_STATUSES = (429, 503)


class Throttle:
    def __init__(
        self,
        limit: int,
        *,
        retries: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 10.0,
        recover_after: int = 8,
    ):
        self.limit = max(1, limit)
        self.retries = retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.recover_after = max(1, recover_after)
        self._allowed = self.limit
        self._streak = 0
        self._lock = threading.Lock()

    @property
    def allowed(self) -> int:
        """How many writes may be in flight now."""
        with self._lock:
            return self._allowed

    def succeeded(self) -> None:
        with self._lock:
            self._streak += 1
            if self._streak >= self.recover_after and self._allowed < self.limit:
                self._allowed += 1
                self._streak = 0

    def refused(self, attempt: int, retry_after: float | None = None) -> float:
        """Record a 429/503 for a change's ``attempt`` (0 for its first try); return how long
        that change should wait before its next try (exponential, with jitter), and never less
        than the server's ``Retry-After`` (seconds, already capped by the client)."""
        with self._lock:
            self._allowed = max(1, self._allowed // 2)
            self._streak = 0
        delay = min(self.max_delay, self.base_delay * (2**attempt))
        delay *= 0.5 + random.random() / 2  # noqa: S311 - jitter, not security
        return max(delay, retry_after or 0.0)

    def should_retry(self, status: int | None, attempt: int) -> bool:
        return status in THROTTLE_STATUSES and attempt < self.retries
