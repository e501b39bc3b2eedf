"""Flow tests (Enterprise only): the ``/api/v1/{tenant}/tests`` endpoints, served by the ``ee``
edition; the ``oss`` edition answers 404, as an OSS server (which has no TestSuiteController)
does. Routes and shapes: the TestSuites operations of Kestra's OpenAPI description
(docs/kestra-api.md): TestSuite (id, namespace, flowId, source, testCases, disabled),
TestSuiteRunResult (id, testSuiteId, namespace, flowId, state, startDate, endDate, results) and
UnitTestResult (testId, testType, executionId, url, state, assertionResults, errors).

The emulator cannot run flows: a run answers, for each test case, the outcome a test set
through the control API (``POST /_emulator/test-outcomes``), SUCCESS by default, SKIPPED for a
disabled case; ``delay`` seconds make the run answer late (a timeout to test). How Kestra
aggregates the cases into the suite's state is not described; the emulator's rule (FAILED
over ERROR over SUCCESS, SKIPPED when every case was) is in KNOWN_GAPS, as is the message of
a suite refused on create (the emulator checks the model's required fields only).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import yaml

from ..rules import knowledge as K
from . import rules
from .answers import Answer, json_answer, ok
from .errors import ConstraintViolations, Violation, method_not_allowed

PREFIX = "/api/v1/{tenant}/tests"
_CREATE_LOCK = threading.Lock()
STATES = ("SUCCESS", "FAILED", "ERROR", "SKIPPED")


class TestSuiteStore:
    """Suites by (tenant, namespace, id), run results by id, outcomes set by tests."""

    __test__ = False

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.suites: dict[tuple[str, str, str], dict] = {}
        self.results: dict[str, dict] = {}
        self.outcomes: dict[tuple[str, str, str], dict] = {}

    def reset(self) -> None:
        with self.lock:
            self.suites.clear()
            self.results.clear()
            self.outcomes.clear()


def store_of(server: Any) -> TestSuiteStore:
    with _CREATE_LOCK:
        if not hasattr(server, "test_suites"):
            server.test_suites = TestSuiteStore()
        return server.test_suites


def match(method: str, segs: list[str]) -> tuple[str, dict[str, str]] | None:
    """``segs``: the path segments after ``/api/v1/{tenant}/tests``."""
    if segs and segs[-1] == "":
        segs = segs[:-1]
    if not segs:
        return PREFIX, {}
    if segs in (["search"], ["run"]) or (len(segs) == 2 and segs[0] == "results"):
        params = {"id": segs[1]} if segs[0] == "results" else {}
        return PREFIX + ("/results/{id}" if params else "/" + segs[0]), params
    if len(segs) == 2:
        return PREFIX + "/{namespace}/{id}", {"namespace": segs[0], "id": segs[1]}
    if len(segs) == 3 and segs[2] == "run":
        return PREFIX + "/{namespace}/{id}/run", {"namespace": segs[0], "id": segs[1]}
    return None


def dispatch(handler: Any, method: str, route: str, p: dict[str, str], body: bytes) -> Answer:
    if handler.server.config.edition != "ee":
        raise rules.not_found()  # OSS has no TestSuiteController
    endpoints = {
        ("POST", PREFIX): _create,
        ("GET", PREFIX + "/search"): _search,
        ("GET", PREFIX + "/{namespace}/{id}"): _get,
        ("PUT", PREFIX + "/{namespace}/{id}"): _update,
        ("DELETE", PREFIX + "/{namespace}/{id}"): _delete,
        ("POST", PREFIX + "/{namespace}/{id}/run"): _run,
        ("GET", PREFIX + "/results/{id}"): _result,
    }
    endpoint = endpoints.get((method, route))
    if endpoint is None:
        allowed = sorted(m for (m, r) in endpoints if r == route)
        if not allowed:
            raise rules.not_found()
        raise method_not_allowed(method, handler.href, allowed)
    return endpoint(handler, store_of(handler.server), p, body)


def _parse(body: bytes) -> dict:
    """The suite a YAML body declares, or the 422 for one the model refuses."""
    try:
        data = yaml.safe_load(body.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise ConstraintViolations([Violation("testSuite", f"Invalid YAML: {err}")]) from None
    if not isinstance(data, dict):
        raise ConstraintViolations([Violation("testSuite", "must be an object")])
    missing = [k for k in ("id", "namespace", "flowId", "testCases") if not data.get(k)]
    if missing:
        raise ConstraintViolations(
            [Violation(f"testSuite.{k}", "must not be null") for k in missing]
        )
    return data


def _no_nulls(value: Any) -> Any:
    """Kestra's JSON leaves null fields out (JacksonMapper's NON_NULL inclusion)."""
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]
    return value


def _property(value: Any) -> str:
    """A ``Property`` as Kestra writes it: its expression, a JSON string (PropertySerializer in
    kestra-io/kestra core/.../models/property/Property.java at 009573e8); a list or map is
    kept as its JSON text, a scalar as its text."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _served_case(case: Any) -> Any:
    """A test case as the server answers it: every Assertion field but ``taskId`` and a task
    fixture's ``description`` are Properties (core/.../test/flow/Assertion.java, TaskFixture)."""
    if not isinstance(case, dict):
        return case
    out = dict(case)
    out["assertions"] = [
        {k: v if k == "taskId" or v is None else _property(v) for k, v in a.items()}
        if isinstance(a, dict)
        else a
        for a in case.get("assertions") or []
    ]
    fixtures = case.get("fixtures")
    if isinstance(fixtures, dict) and isinstance(fixtures.get("tasks"), list):
        out["fixtures"] = {
            **fixtures,
            "tasks": [
                {**t, "description": _property(t["description"])}
                if isinstance(t, dict) and t.get("description") is not None
                else t
                for t in fixtures["tasks"]
            ],
        }
    return out


def _model(data: dict, tenant: str, source: str) -> dict:
    return _no_nulls(
        {
            "id": data["id"],
            "namespace": data["namespace"],
            "flowId": data["flowId"],
            "description": data.get("description"),
            "source": source,
            "testCases": [_served_case(c) for c in data["testCases"]],
            "disabled": bool(data.get("disabled", False)),
            "deleted": False,
            "tenantId": tenant,
        }
    )


def _create(h: Any, store: TestSuiteStore, p: dict[str, str], body: bytes) -> Answer:
    data = _parse(body)
    key = (p["tenant"], data["namespace"], data["id"])
    with store.lock:
        if key in store.suites:
            raise ConstraintViolations([Violation("testSuite.id", "Test suite id already exists")])
        store.suites[key] = _model(data, p["tenant"], body.decode("utf-8"))
        return ok(store.suites[key])


def _update(h: Any, store: TestSuiteStore, p: dict[str, str], body: bytes) -> Answer:
    data = _parse(body)
    key = (p["tenant"], p["namespace"], p["id"])
    if (data["namespace"], data["id"]) != (p["namespace"], p["id"]):
        raise ConstraintViolations([Violation("testSuite.id", "Illegal test suite id update")])
    with store.lock:
        if key not in store.suites:
            raise rules.not_found()
        store.suites[key] = _model(data, p["tenant"], body.decode("utf-8"))
        return ok(store.suites[key])


def _get(h: Any, store: TestSuiteStore, p: dict[str, str], body: bytes) -> Answer:
    with store.lock:
        suite = store.suites.get((p["tenant"], p["namespace"], p["id"]))
    if suite is None:
        raise rules.not_found()
    return ok(suite)


def _delete(h: Any, store: TestSuiteStore, p: dict[str, str], body: bytes) -> Answer:
    with store.lock:
        if store.suites.pop((p["tenant"], p["namespace"], p["id"]), None) is None:
            raise rules.not_found()
    return ok({})


def _search(h: Any, store: TestSuiteStore, p: dict[str, str], body: bytes) -> Answer:
    namespace = h.param("namespace")
    children = (h.param("includeChildNamespaces", "true") or "").lower() != "false"
    flow_id = h.param("flowId")
    page, size = h.int_param("page", 1), h.int_param("size", 10)
    if page < 1 or size < 1:
        raise rules.Rejection(400, "Bad Request", "Bad Request: page and size must be >= 1")

    def wanted(suite: dict) -> bool:
        ns = suite["namespace"]
        if namespace and not (ns == namespace or (children and ns.startswith(namespace + "."))):
            return False
        return flow_id is None or suite["flowId"] == flow_id

    with store.lock:
        found = [
            s for (t, _, _), s in sorted(store.suites.items()) if t == p["tenant"] and wanted(s)
        ]
    return ok({"results": found[(page - 1) * size : page * size], "total": len(found)})


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _run(h: Any, store: TestSuiteStore, p: dict[str, str], body: bytes) -> Answer:
    key = (p["tenant"], p["namespace"], p["id"])
    with store.lock:
        suite = store.suites.get(key)
        outcome = dict(store.outcomes.get(key) or {})
    if suite is None:
        raise rules.not_found()
    started = _now()
    if outcome.get("delay"):
        time.sleep(float(outcome["delay"]))
    cases = [_case_result(h, suite, case, outcome) for case in suite["testCases"]]
    result = {
        "id": uuid.uuid4().hex,
        "testSuiteId": suite["id"],
        "namespace": suite["namespace"],
        "flowId": suite["flowId"],
        "state": _suite_state([c["state"] for c in cases]),
        "startDate": started,
        "endDate": _now(),
        "results": cases,
    }
    with store.lock:
        store.results[result["id"]] = result
    if not h.server.config.has(K.TESTS_RUN_ANSWERS_ONE):
        return ok([result])
    return ok(result)


def _case_result(h: Any, suite: dict, case: dict, outcome: dict) -> dict:
    wanted = (outcome.get("cases") or {}).get(case.get("id"), outcome.get("state", "SUCCESS"))
    state = "SKIPPED" if case.get("disabled") else wanted
    execution = uuid.uuid4().hex[:22]
    failed = state == "FAILED"
    assertion = {
        "operator": "equalTo",
        "expected": outcome.get("expected", "expected"),
        "actual": outcome.get("actual", "actual" if failed else "expected"),
        "isSuccess": not failed,
        "taskId": outcome.get("taskId"),
        "description": None,
        "errorMessage": outcome.get("message") if failed else None,
    }
    errors = (
        [{"message": outcome.get("message", "the execution failed")}] if state == "ERROR" else []
    )
    return _no_nulls(
        {
            "testId": case.get("id"),
            "testType": case.get("type"),
            "executionId": execution,
            "url": f"http://{h.headers.get('Host', 'localhost')}/ui/{suite['tenantId']}/executions/"
            f"{suite['namespace']}/{suite['flowId']}/{execution}",
            "state": state,
            "assertionResults": [] if state in ("SKIPPED", "ERROR") else [assertion],
            "errors": errors,
            "fixtures": case.get("fixtures"),
        }
    )


def _suite_state(states: list[str]) -> str:
    for state in ("FAILED", "ERROR"):
        if state in states:
            return state
    return "SKIPPED" if states and all(s == "SKIPPED" for s in states) else "SUCCESS"


def _result(h: Any, store: TestSuiteStore, p: dict[str, str], body: bytes) -> Answer:
    if not h.server.config.has(K.TESTS_RUN_ANSWERS_ONE):
        raise rules.not_found()  # no getTestResult before 1.0
    with store.lock:
        result = store.results.get(p["id"])
    if result is None:
        raise rules.not_found()
    return ok(result)


def set_outcome(server: Any, payload: Any) -> Answer:
    """``POST /_emulator/test-outcomes`` {tenant?, namespace, id, state?, cases?: {case: state},
    delay?: seconds, message?, expected?, actual?, taskId?}: what the next runs of a suite
    answer."""
    if not isinstance(payload, dict) or not all(
        isinstance(payload.get(k), str) for k in ("namespace", "id")
    ):
        return json_answer(400, None, {"message": "expected {namespace, id, ...}"})
    states = [payload.get("state", "SUCCESS"), *(payload.get("cases") or {}).values()]
    if any(s not in STATES for s in states):
        return json_answer(400, None, {"message": f"a state is one of {', '.join(STATES)}"})
    key = (payload.get("tenant") or "main", payload["namespace"], payload["id"])
    store = store_of(server)
    with store.lock:
        store.outcomes[key] = payload
    return json_answer(200, None, payload)
