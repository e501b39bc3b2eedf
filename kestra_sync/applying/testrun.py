"""`apply --run-tests`: after the deploy, run the flow test suites of what this apply changed
(a suite created or updated, or a suite of a flow created or updated), wait for them within a
bounded time, and say each test case's result. A failed test fails the run but undoes nothing:
the flows stay deployed, and the report names the command that deploys the previous commit.

Kestra runs a suite with ``POST /api/v1/{tenant}/tests/{namespace}/{id}/run`` and answers once
it has run, with a TestSuiteRunResult (client/testsuites.py). The suites run side by side (as
many at once as --parallelism); a suite with no answer when the time is up is reported as timed
out (the server may still be running it; its result then shows in Kestra's UI).
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import KestraSyncError, NotFoundError
from ..kinds.testsuites import ENTERPRISE_HINT, tested_flow
from ..models import FLOW, FlowRef
from ..planning.plan import CREATE, UNCHANGED, UPDATE, Change
from .scheduler import DONE

PASSING = ("SUCCESS", "SKIPPED")  # TestState values that do not fail the run
TIMEOUT = "TIMEOUT"  # no answer within --test-timeout
NOT_RUN = "NOT_RUN"  # not run: the suite or its flow was not deployed by this apply
MAX_MESSAGE = 300


@dataclass
class CaseResult:
    id: str
    state: str  # TestState: SUCCESS, FAILED, ERROR, SKIPPED
    message: str = ""  # why it did not pass: the failed assertion or the error
    url: str | None = None  # the execution in Kestra's UI


@dataclass
class SuiteResult:
    tenant: str
    namespace: str
    id: str
    flow_id: str
    state: str  # TestState, or TIMEOUT / NOT_RUN
    cases: list[CaseResult] = field(default_factory=list)
    error: str = ""  # why the suite has no result (TIMEOUT, NOT_RUN, a failed request)

    @property
    def passed(self) -> bool:
        return self.state in PASSING and all(c.state in PASSING for c in self.cases)

    @property
    def name(self) -> str:
        return f"{self.namespace}/{self.id}"


@dataclass
class TestRun:
    __test__ = False  # not a pytest class, whatever its name

    suites: list[SuiteResult] = field(default_factory=list)
    timeout: float = 0.0
    rollback: str = ""  # the command that deploys the previous commit

    @property
    def ok(self) -> bool:
        return all(s.passed for s in self.suites)

    def counts(self) -> dict[str, int]:
        passed = sum(1 for s in self.suites if s.passed)
        return {"passed": passed, "failed": len(self.suites) - passed}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "timeout_seconds": self.timeout,
            "rollback": self.rollback,
            "summary": self.counts(),
            "suites": [{**asdict(s), "passed": s.passed} for s in self.suites],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestRun:
        suites = []
        for s in data.get("suites") or []:
            cases = [CaseResult(**c) for c in s.get("cases") or []]
            fields = {k: s[k] for k in ("tenant", "namespace", "id", "flow_id", "state", "error")}
            suites.append(SuiteResult(**fields, cases=cases))
        return cls(suites, float(data.get("timeout_seconds") or 0), data.get("rollback") or "")


def suites_to_run(
    changes: list[Change], outcomes: dict[FlowRef, Any]
) -> list[SuiteResult | Change]:
    """The suites of what this apply changed, in the plan's order: a ``Change`` to run, or a
    ``SuiteResult`` saying why it is not run (it, or the flow it tests, was not deployed)."""
    flow_writes = {
        c.ref: outcomes.get(c.ref)
        for c in changes
        if c.kind == FLOW and c.action in (CREATE, UPDATE)
    }
    out: list[SuiteResult | Change] = []
    for change in changes:
        flow = tested_flow(change)
        if flow is None or change.action not in (CREATE, UPDATE, UNCHANGED):
            continue
        if change.action == UNCHANGED and flow not in flow_writes:
            continue  # neither the suite nor its flow changed
        own = outcomes.get(change.ref)
        flow_outcome = flow_writes.get(flow)
        why = ""
        if change.action != UNCHANGED and (own is None or own.status != DONE):
            why = "not run: the suite was not deployed" + (f" ({own.error})" if own else "")
        elif flow_outcome is not None and flow_outcome.status != DONE:
            why = f"not run: its flow {flow.namespace}/{flow.id} was not deployed"
        if why:
            out.append(_result(change, NOT_RUN, error=why))
        else:
            out.append(change)
    return out


def _result(change: Change, state: str, **kw: Any) -> SuiteResult:
    ref = change.ref
    flow_id = change.payload["flowId"] if isinstance(change.payload, dict) else ""
    return SuiteResult(ref.tenant, ref.namespace, ref.id, flow_id, state, **kw)


def read_result(change: Change, data: dict[str, Any]) -> SuiteResult:
    """A TestSuiteRunResult as this report keeps it."""
    cases = []
    for case in data.get("results") or []:
        if not isinstance(case, dict):
            continue
        state = str(case.get("state") or "ERROR")
        url = case.get("url") if isinstance(case.get("url"), str) else None
        cases.append(CaseResult(str(case.get("testId") or "?"), state, _why(case), url))
    return _result(change, str(data.get("state")), cases=cases)


def _why(case: dict[str, Any]) -> str:
    """One line on why a test case did not pass: its errors, else its failed assertions."""
    if case.get("state") in PASSING:
        return ""
    words = [str(e.get("message")) for e in case.get("errors") or [] if isinstance(e, dict)]
    for check in case.get("assertionResults") or []:
        if not isinstance(check, dict) or check.get("isSuccess"):
            continue
        task = f"task {check['taskId']}: " if check.get("taskId") else ""
        text = (
            f"{task}{check.get('operator')} expected {check.get('expected')!r}, "
            f"got {check.get('actual')!r}"
        )
        if check.get("errorMessage"):
            text += f" ({check['errorMessage']})"
        words.append(text)
    text = "; ".join(words) or "no reason given"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def run_suites(
    todo: list[SuiteResult | Change],
    client_for: Callable[[str], Any],
    *,
    timeout: float,
    parallelism: int = 4,
) -> list[SuiteResult]:
    """Run every suite of ``todo`` (see ``suites_to_run``), at most ``parallelism`` at once;
    return when all have answered or ``timeout`` seconds have passed. Daemon threads: a suite
    still running when the time is up does not hold the process."""
    deadline = time.monotonic() + timeout
    slots = threading.Semaphore(max(1, parallelism))
    done = threading.Condition()
    results: dict[int, SuiteResult] = {}

    def run(index: int, change: Change) -> None:
        if not slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return
        try:
            result = _run_one(change, client_for(change.ref.tenant))
        finally:
            slots.release()
        with done:
            results[index] = result
            done.notify_all()

    pending = [(i, c) for i, c in enumerate(todo) if isinstance(c, Change)]
    for index, change in pending:
        threading.Thread(target=run, args=(index, change), daemon=True).start()
    with done:
        while len(results) < len(pending) and time.monotonic() < deadline:
            done.wait(max(0.0, min(0.5, deadline - time.monotonic())))
        finished = dict(results)
    out = []
    for index, item in enumerate(todo):
        if isinstance(item, SuiteResult):
            out.append(item)
        elif index in finished:
            out.append(finished[index])
        else:
            why = (
                f"no result within {timeout:g} s (--test-timeout): the server may still be "
                "running it; its result will show in Kestra's Tests page"
            )
            out.append(_result(item, TIMEOUT, error=why))
    return out


def _run_one(change: Change, client: Any) -> SuiteResult:
    ref = change.ref
    try:
        return read_result(change, client.run_test_suite(ref.namespace, ref.id))
    except NotFoundError:
        why = (
            f"the server answered 404 to the run of {ref.namespace}/{ref.id}: the suite is not "
            f"there, or the server is not Kestra Enterprise ({ENTERPRISE_HINT})"
        )
        return _result(change, "ERROR", error=why)
    except KestraSyncError as err:
        return _result(change, "ERROR", error=f"the run could not be started: {err.message}")
    except Exception as err:  # noqa: BLE001 - a bug must not lose the other suites' results
        return _result(change, "ERROR", error=f"the run could not be started: {err}")


def rollback_command(git: dict[str, Any] | None, extra_args: list[str]) -> str:
    """The command that deploys the commit before this one (what ran before this apply)."""
    commit = (git or {}).get("commit")
    previous = f"{commit[:12]}~1" if commit else "HEAD~1"
    args = "".join(f" {shlex.quote(a)}" for a in extra_args)  # a command to paste in a shell
    return f"git checkout {previous} && kestra-sync apply{args}"
