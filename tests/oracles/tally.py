"""Counts the oracles' outcomes across xdist workers and prints them at the end of the run.

Tests record outcomes in ``request.node.user_properties`` (which xdist sends to the controller
with each report); the hooks below, imported by tests/conftest.py, add them up and print one
line per oracle, e.g. ``conformance: 52 cases passed, 3 declared gaps``."""

from __future__ import annotations

from collections import Counter

import pytest

CONFORMANCE = "oracle-conformance"  # value: "passed" or "gap: <case> [<profile>]: <reason>"
OPENAPI = "oracle-openapi"  # value: (profile, requests, answers, declared gaps)

_conformance: Counter[str] = Counter()
_gaps: list[str] = []
_openapi: list[tuple[str, int, int, int]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" or not report.passed:
        return
    for key, value in report.user_properties:
        if key == CONFORMANCE:
            outcome = "passed" if value == "passed" else "gap"
            _conformance[outcome] += 1
            if outcome == "gap":
                _gaps.append(value[len("gap: ") :])
        elif key == OPENAPI:
            _openapi.append(tuple(value))


def pytest_terminal_summary(terminalreporter) -> None:
    if _openapi:
        per = ", ".join(
            f"{p}: {r} requests/{a} answers ({g} on declared gaps)"
            for p, r, a, g in sorted(_openapi)
        )
        terminalreporter.write_line(f"openapi oracle: {per}")
    if _conformance:
        terminalreporter.write_line(
            f"conformance: {_conformance['passed']} cases passed, "
            f"{_conformance['gap']} declared gaps"
        )
        for gap in sorted(_gaps):
            terminalreporter.write_line(f"  declared gap: {gap}")
