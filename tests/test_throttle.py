"""apply backs off when the server says it is saturated (429 / 503): fewer writes in flight, the
refused change tried again later, and a change refused too often fails on its own."""

from __future__ import annotations

import threading

import pytest

from kestra_sync.applying.apply import DONE, FAILED, apply_plan
from kestra_sync.applying.throttle import Throttle
from kestra_sync.errors import ApiError, ServerError
from kestra_sync.models import FlowRef, RemoteFlow
from kestra_sync.planning.plan import CREATE, UPDATE, Change, Plan


def test_a_refusal_halves_the_writes_in_flight_and_successes_give_them_back():
    throttle = Throttle(16, recover_after=2)
    assert throttle.allowed == 16
    throttle.refused(0)
    assert throttle.allowed == 8
    throttle.refused(0)
    throttle.refused(0)
    throttle.refused(0)
    throttle.refused(0)
    assert throttle.allowed == 1  # never below one
    for _ in range(4):
        throttle.succeeded()
    assert throttle.allowed == 3
    for _ in range(100):
        throttle.succeeded()
    assert throttle.allowed == 16  # never above the configured parallelism


def test_the_wait_grows_with_each_refusal_of_the_same_change_and_is_capped():
    throttle = Throttle(4, base_delay=1.0, max_delay=5.0)
    waits = [throttle.refused(attempt) for attempt in range(6)]
    assert 0.5 <= waits[0] <= 1.0
    assert 2.0 <= waits[2] <= 4.0
    assert all(w <= 5.0 for w in waits)


def test_only_429_and_503_are_retried_and_only_so_many_times():
    throttle = Throttle(4, retries=2)
    assert throttle.should_retry(429, 0) and throttle.should_retry(503, 1)
    assert not throttle.should_retry(503, 2)
    assert not throttle.should_retry(500, 0) and not throttle.should_retry(422, 0)


class Saturated:
    """A client whose server refuses the first ``refusals`` creates with ``status``."""

    tenant = "main"

    def __init__(self, refusals: int, status: int = 429):
        self.refusals = refusals
        self.status = status
        self.lock = threading.Lock()
        self.in_flight = 0
        self.refused = 0
        self.created: list[str] = []

    def search_flows(self, namespace, include_children=False):
        return []  # apply lists each namespace before writing: nothing there yet

    def upsert(self, source, namespace, flow_id):
        with self.lock:
            if self.refused < self.refusals:
                self.refused += 1
                cls = ServerError if self.status >= 500 else ApiError
                raise cls(
                    f"POST /flows: {self.status}", status=self.status, method="POST", path="/"
                )
            self.in_flight += 1
        try:
            threading.Event().wait(0.01)
        finally:
            with self.lock:
                self.in_flight -= 1
                self.created.append(flow_id)

        class Result:
            action = "created"
            flow = RemoteFlow(namespace, flow_id, 1)

        return Result()


def plan_of(n: int) -> Plan:
    return Plan(
        [
            Change(CREATE, FlowRef("main", "ns", f"f{i:02d}"), source=f"id: f{i:02d}")
            for i in range(n)
        ]
    )


def test_refused_creates_are_applied_later_with_fewer_in_flight():
    client = Saturated(refusals=6)
    throttle = Throttle(8, base_delay=0.01, recover_after=1000)
    result = apply_plan(plan_of(30), client, parallelism=8, throttle=throttle)
    assert result.ok, [o.error for o in result.outcomes if o.error]
    assert sorted(client.created) == [f"f{i:02d}" for i in range(30)]
    assert throttle.allowed == 1  # 8 -> 4 -> 2 -> 1, and no success streak long enough to grow


def test_a_change_refused_every_time_fails_alone_with_the_servers_answer():
    client = Saturated(refusals=3, status=503)
    throttle = Throttle(1, retries=2, base_delay=0.01)
    result = apply_plan(plan_of(2), client, parallelism=1, throttle=throttle)
    first, second = result.outcomes
    assert first.status == FAILED and "503" in first.error
    assert second.status == DONE


# -- one layer resends a refused write: the throttle, not the client as well -----------------


@pytest.fixture
def rsps():
    from tests.test_client import mocked_http

    yield from mocked_http()


def http_client():
    from kestra_sync.client import KestraClient
    from tests.test_client import URL

    return KestraClient(URL, retries=3, backoff=0)


def listed(rsps, *flows) -> None:
    """apply lists the namespace again before its first write there."""
    from tests.test_client import FLOWS, flow_json

    items = [flow_json(fid=fid, revision=rev) for fid, rev in flows]
    rsps.get(f"{FLOWS}/search", json={"results": items, "total": len(items)})


def calls(rsps, method: str) -> int:
    return sum(1 for call in rsps.calls if call.request.method == method)


SOURCE = "id: hello\nnamespace: company.team\n"


@pytest.mark.parametrize("status", [429, 503])
def test_a_create_refused_every_time_is_sent_once_per_throttle_attempt(rsps, status):
    from tests.test_client import FLOWS

    listed(rsps)
    rsps.post(FLOWS, status=status, json={"message": "busy"})
    plan = Plan([Change(CREATE, FlowRef("main", "company.team", "hello"), source=SOURCE)])
    throttle = Throttle(4, retries=2, base_delay=0.001)
    (outcome,) = apply_plan(plan, http_client(), parallelism=4, throttle=throttle).outcomes
    assert outcome.status == FAILED and str(status) in outcome.error
    # The first try and the throttle's 2 retries; the client resends none of them (it used
    # to resend each 3 times more: 12 creates).
    assert calls(rsps, "POST") == 3
    assert "retries)" not in outcome.error  # no claim of the client's own retries


def test_an_update_refused_once_is_sent_twice_and_applied(rsps):
    from tests.test_client import FLOWS, flow_json

    listed(rsps, ("hello", 1))
    rsps.put(f"{FLOWS}/company.team/hello", status=503)
    rsps.put(f"{FLOWS}/company.team/hello", json=flow_json(revision=2))
    change = Change(
        UPDATE, FlowRef("main", "company.team", "hello"), source=SOURCE, server_revision=1
    )
    throttle = Throttle(4, retries=2, base_delay=0.001)
    (outcome,) = apply_plan(Plan([change]), http_client(), throttle=throttle).outcomes
    assert (outcome.status, outcome.result, outcome.revision) == (DONE, "updated", 2)
    assert calls(rsps, "PUT") == 2
    assert throttle.allowed < 4  # the refusal reached the throttle: fewer writes in flight


def test_reads_during_an_apply_are_still_retried_by_the_client(rsps):
    from tests.test_client import FLOWS, flow_json

    rsps.get(f"{FLOWS}/search", status=503)  # the listing before the first write
    listed(rsps)
    rsps.post(FLOWS, json=flow_json(revision=1))
    plan = Plan([Change(CREATE, FlowRef("main", "company.team", "hello"), source=SOURCE)])
    (outcome,) = apply_plan(plan, http_client(), throttle=Throttle(4)).outcomes
    assert outcome.status == DONE
    assert calls(rsps, "GET") == 2 and calls(rsps, "POST") == 1


def test_outside_apply_the_client_still_resends_a_refused_create(rsps):
    from tests.test_client import FLOWS, flow_json

    rsps.post(FLOWS, status=429)
    rsps.post(FLOWS, json=flow_json(revision=1))
    client = http_client()
    assert client.create_flow(SOURCE).revision == 1
    assert calls(rsps, "POST") == 2
    rsps.post(FLOWS, status=429)
    with pytest.raises(ApiError):
        client.leaving_refusals_to_caller().create_flow(SOURCE)
    assert calls(rsps, "POST") == 3


def test_the_throttle_waits_at_least_what_the_server_asks_in_retry_after(rsps, monkeypatch):
    from kestra_sync.applying import apply as apply_module
    from tests.test_client import FLOWS, flow_json

    slept: list[float] = []
    monkeypatch.setattr(apply_module.time, "sleep", slept.append)
    listed(rsps)
    rsps.post(FLOWS, status=429, headers={"Retry-After": "4"})
    rsps.post(FLOWS, status=503, headers={"Retry-After": "3600"})  # capped like the client's
    rsps.post(FLOWS, json=flow_json(revision=1))
    plan = Plan([Change(CREATE, FlowRef("main", "company.team", "hello"), source=SOURCE)])
    throttle = Throttle(4, retries=3, base_delay=0.001)
    (outcome,) = apply_plan(plan, http_client(), throttle=throttle).outcomes
    assert outcome.status == DONE and calls(rsps, "POST") == 3
    assert slept == [4.0, 30.0]


def test_refused_writes_tried_again_keep_to_what_the_throttle_allows():
    """README: after a 429, fewer writes in flight. Four creates are refused together (the
    throttle drops 4 -> 2 -> 1 -> 1); each refused change used to keep its worker and send
    itself again after its own wait, so all four retries could be in the server at once while
    the throttle allowed one. A retry in the server waits (barrier) for a second one: with the
    throttle kept, none comes, and the barrier gives up."""
    refused_together = threading.Barrier(4, timeout=30)
    second_in_flight = threading.Barrier(2, timeout=2)
    lock = threading.Lock()
    in_flight, most = [0], [0]

    class RefusesTheFirstRound:
        tenant = "main"

        def search_flows(self, namespace, include_children=False):
            return []

        def upsert(self, source, namespace, flow_id):
            with lock:
                first = flow_id not in seen
                seen.add(flow_id)
            if first:
                refused_together.wait()
                raise ApiError("POST /flows: 429", status=429, method="POST", path="/")
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            try:
                second_in_flight.wait()
            except threading.BrokenBarrierError:
                pass  # alone in the server, as it should be
            finally:
                with lock:
                    in_flight[0] -= 1

            class Result:
                action = "created"
                flow = RemoteFlow(namespace, flow_id, 1)

            return Result()

    seen: set[str] = set()
    throttle = Throttle(4, base_delay=0.001, recover_after=1000)
    result = apply_plan(plan_of(4), RefusesTheFirstRound(), parallelism=4, throttle=throttle)
    assert result.ok, [o.error for o in result.outcomes if o.error]
    assert throttle.allowed == 1
    assert most[0] == 1
