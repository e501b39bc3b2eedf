"""The emulator's own control API, ``/_emulator/*`` (not Kestra's): faults, reset, stats,
latency and the outcomes of flow test runs (testsuites.py), for tests and benchmarks. Guarded by the API's credentials when there are some
(server.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from . import testsuites
from .answers import Answer, json_answer
from .dashboards import store_of as dashboards_of
from .resources import store_of


def control(h: Any, method: str, path: str, body: bytes) -> Answer:
    srv = h.server
    try:
        payload = json.loads(body.decode("utf-8")) if body else {}
    except ValueError:
        return json_answer(400, None, {"message": "body must be JSON"})
    if path == "/_emulator/faults" and method == "POST":
        try:
            if not isinstance(payload, dict):
                raise TypeError("expected a JSON object")
            fault = srv.faults.add(**payload)
        except (TypeError, ValueError, re.error) as err:
            return json_answer(400, None, {"message": f"bad fault: {err}"})
        return json_answer(200, None, fault.to_dict())
    if path == "/_emulator/faults" and method == "GET":
        return json_answer(200, None, srv.faults.pending())
    if path == "/_emulator/faults" and method == "DELETE":
        srv.faults.clear()
        return Answer(204, None, b"", None)
    if path == "/_emulator/reset" and method == "POST":
        srv.store.reset()
        store_of(srv).reset()
        dashboards_of(srv).reset()
        testsuites.store_of(srv).reset()
        srv.faults.clear()
        srv.stats.reset()
        return Answer(204, None, b"", None)
    if path == "/_emulator/test-outcomes" and method == "POST":
        return testsuites.set_outcome(srv, payload)
    if path == "/_emulator/stats" and method == "GET":
        return json_answer(200, None, srv.stats.snapshot())
    if path == "/_emulator/stats" and method == "DELETE":
        srv.stats.reset()
        return Answer(204, None, b"", None)
    if path == "/_emulator/latency" and method == "POST":
        try:
            ms = float(payload.get("ms", 0)) if isinstance(payload, dict) else None
        except (TypeError, ValueError):
            ms = None
        if ms is None or not 0 <= ms < float("inf"):
            return json_answer(400, None, {"message": 'expected {"ms": a number >= 0}'})
        srv.config.latency = ms / 1000.0
        return json_answer(200, None, {"ms": srv.config.latency * 1000.0})
    return json_answer(404, None, {"message": f"unknown control route {method} {path}"})
