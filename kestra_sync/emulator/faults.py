"""Test knobs: a fault plan (fail or drop the next N matching requests) and request statistics.

These are emulator features, not Kestra behaviour. Both are thread-safe.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

try:  # the parser `re` compiles with (Python 3.11+); `sre_parse` before
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse


# Bounded work per request: a fault's pattern is matched by Python's backtracking `re`, which
# holds the interpreter while it runs (a `(a+)+$` froze the emulator, SIGTERM included). A
# pattern may hold one quantifier, on one character or class, and is matched against paths up
# to this length only: at most about MAX_MATCHED_PATH² steps.
MAX_PATTERN = 200
MAX_MATCHED_PATH = 4096
_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT} | (
    {sre_parse.POSSESSIVE_REPEAT} if hasattr(sre_parse, "POSSESSIVE_REPEAT") else set()
)
_ONE_CHARACTER = {sre_parse.LITERAL, sre_parse.NOT_LITERAL, sre_parse.ANY, sre_parse.IN}


def bounded_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled, or ValueError when matching it could take more than about
    quadratic time: over MAX_PATTERN characters, a back-reference, a quantifier on a group
    (``(a+)+``, ``(a|b)*``) or more than one quantifier."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"path pattern longer than {MAX_PATTERN} characters")
    quantifiers = _count_quantifiers(list(sre_parse.parse(pattern)))
    if quantifiers > 1:
        raise ValueError(
            "path pattern with more than one quantifier (*, +, ?, {m,n}): match a literal "
            r"part instead, e.g. /flows/acme/ or /kv/region$"
        )
    return re.compile(pattern)


def _count_quantifiers(items: list) -> int:
    found = 0
    for op, av in items:
        if op in _REPEATS:
            sub = list(av[2])
            if len(sub) != 1 or sub[0][0] not in _ONE_CHARACTER:
                raise ValueError("path pattern with a quantifier on a group, such as (a+)+")
            found += 1
        elif op is sre_parse.SUBPATTERN:
            found += _count_quantifiers(list(av[-1]))
        elif op is sre_parse.BRANCH:
            found += sum(_count_quantifiers(list(branch)) for branch in av[1])
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
            found += _count_quantifiers(list(av[1]))
        elif op in (sre_parse.GROUPREF, sre_parse.GROUPREF_EXISTS):
            raise ValueError("path pattern with a back-reference")
        elif getattr(sre_parse, "ATOMIC_GROUP", None) is op:
            found += _count_quantifiers(list(av))
    return found


@dataclass
class Fault:
    """Fail the next ``count`` requests whose method and path match.

    ``method`` is an HTTP method or ``*``; ``path`` is a regex searched in the path (no query
    string). ``status`` is the status to answer with; ``drop=True`` closes the connection without
    any response instead. ``retry_after`` adds a ``Retry-After`` header. ``body`` is sent as JSON
    (default: a Micronaut-style ``{"message": ...}``).
    """

    method: str = "*"
    path: str = ".*"
    status: int = 503
    count: int = 1
    retry_after: int | str | None = None
    drop: bool = False
    body: Any = None
    remaining: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        # Checked here so a bad fault is refused when added (a 400 from the control API), not
        # when a request meets it.
        if not isinstance(self.method, str) or not isinstance(self.path, str):
            raise TypeError("method and path must be strings")
        for name in ("status", "count"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an integer")
        if not 100 <= self.status <= 599 or self.count < 1:
            raise ValueError("status must be 100..599 and count at least 1")
        if not isinstance(self.drop, bool):
            raise TypeError("drop must be true or false")
        if self.retry_after is not None and not isinstance(self.retry_after, (int, str)):
            raise TypeError("retry_after must be an integer or a string")
        self.method = self.method.upper()
        self.remaining = self.count
        self._regex = bounded_regex(self.path)

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and self.method in ("*", method.upper())
            and len(path) <= MAX_MATCHED_PATH
            and bool(self._regex.search(path))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "count": self.count,
            "remaining": self.remaining,
            "retry_after": self.retry_after,
            "drop": self.drop,
        }


class FaultPlan:
    """An ordered list of faults; the first matching one with requests left is consumed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        method: str = "*",
        path: str = ".*",
        status: int = 503,
        count: int = 1,
        retry_after: int | str | None = None,
        drop: bool = False,
        body: Any = None,
    ) -> Fault:
        fault = Fault(method, path, status, count, retry_after, drop, body)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one request of the first matching fault, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults if f.remaining > 0]


class Stats:
    """Request counts per ``METHOD route`` (route = the matched endpoint template)."""

    # The last requests in arrival order ("METHOD /path"), for a test to check the order of
    # writes (a rename's create before its delete); bounded, so a benchmark does not grow it.
    RECENT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._recent: deque[str] = deque(maxlen=self.RECENT)

    def record(self, method: str, route: str, path: str = "") -> None:
        with self._lock:
            self._counts[f"{method} {route}"] += 1
            self._recent.append(f"{method} {path or route}")

    def recent(self) -> list[str]:
        with self._lock:
            return list(self._recent)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_route = dict(sorted(self._counts.items()))
        return {"total": sum(by_route.values()), "requests": by_route}

    def count(self, method: str | None = None, route: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for key, n in self._counts.items()
                if (method is None or key.split(" ", 1)[0] == method.upper())
                and (route is None or key.split(" ", 1)[1] == route)
            )

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._recent.clear()
