"""apply_plan's scheduler at scale and through chains of dependencies (library level, no HTTP)."""

import _thread
import signal
import threading
import time
from dataclasses import replace

import pytest

from kestra_sync.applying.apply import DONE, FAILED, NOT_ATTEMPTED, apply_plan
from kestra_sync.errors import ServerError
from kestra_sync.models import FlowRef
from kestra_sync.planning.plan import CREATE, DELETE, UNCHANGED, Change, Plan
from kestra_sync.report.applytext import render_apply
from tests.support.fake_client import FakeClient, caller_of, change


def test_thousands_of_changes_schedule_in_linear_time():
    """The scheduler used to scan every pending change after each completion, and every write
    for each pending delete: 4,000 creates and 100 deletes spent 100 s in bookkeeping alone
    (0.2 s now). A generous bound still catches the quadratic version by far. CPU time of this
    process, not wall time: other processes on a loaded machine do not count."""
    deletes = [f"d{i:03d}" for i in range(100)]
    plan = Plan(
        [change(CREATE, f"f{i:05d}") for i in range(3000)]
        + [change(DELETE, d, revision=1) for d in deletes]
    )
    client = FakeClient(existing=dict.fromkeys(deletes, 1))
    start = time.process_time()  # every thread of this process: the workers' CPU counts too
    result = apply_plan(plan, client, parallelism=4)
    assert time.process_time() - start < 5
    assert result.counts() == {DONE: 3100, FAILED: 0, NOT_ATTEMPTED: 0}
    first_delete = next(i for i, (op, _) in enumerate(client.writes()) if op == "delete")
    assert first_delete == 3000  # deletes still run after every write


def test_a_failure_blocks_the_whole_chain_above_it_and_says_why():
    boom = ServerError("500", status=500, method="POST", path="/x")
    client = FakeClient(fail={"c": boom})
    chain = (
        caller_of("b").replace("id: caller", "id: a"),
        caller_of("c").replace("id: caller", "id: b"),
    )
    plan = Plan([change(CREATE, "a", chain[0]), change(CREATE, "b", chain[1]), change(CREATE, "c")])
    seen = []
    result = apply_plan(plan, client, on_outcome=lambda o: seen.append(o.change.ref.id))
    errors = {o.change.ref.id: (o.status, o.error) for o in result.outcomes}
    assert errors["c"][0] == FAILED
    assert errors["b"] == (NOT_ATTEMPTED, "not attempted: it depends on ns/c, which failed")
    assert errors["a"] == (
        NOT_ATTEMPTED,
        "not attempted: it depends on ns/b, which was not applied",
    )
    assert sorted(seen) == ["a", "b", "c"]  # the progress display hears of every change
    assert [op for op, _ in client.writes()] == ["upsert"]


def test_cancel_starts_nothing_new_and_reports_the_rest_as_interrupted():
    cancel = threading.Event()
    plan = Plan([change(CREATE, f"f{i}") for i in range(5)])
    result = apply_plan(
        plan, FakeClient(), parallelism=1, cancel=cancel, on_outcome=lambda o: cancel.set()
    )
    assert result.interrupted
    assert result.counts() == {DONE: 1, FAILED: 0, NOT_ATTEMPTED: 4}
    assert result.outcomes[1].error == "not attempted: the apply was interrupted"
    text = render_apply(result)
    # counted, not listed one per line (issue 11 item 12: hundreds of lines after Ctrl-C)
    assert "Apply: 1 done, 0 failed, 4 not attempted." in text
    assert "(4 not attempted)" in text
    assert "Not attempted:" not in text and "ns/f4" not in text


def test_a_subflow_in_its_own_namespace_written_as_an_expression_is_ordered_too():
    """`namespace: "{{ flow.namespace }}"` is a common way to call a sibling flow; it used to
    hide the dependency, so the caller could be created before its target."""
    source = caller_of("zz-target").replace(
        "    namespace: ns\n", '    namespace: "{{ flow.namespace }}"\n'
    )
    client = FakeClient()
    plan = Plan([change(CREATE, "caller", source), change(CREATE, "zz-target")])
    apply_plan(plan, client, parallelism=4)
    assert [c[1] for c in client.writes()] == ["zz-target", "caller"]


def test_a_bug_in_a_worker_is_raised_to_the_caller_not_swallowed_or_hung():
    """Workers take their own next change (kestra_sync/applying/scheduler.py): an exception that is
    not a failed change (here the progress display breaks) must end apply_plan with that
    exception, promptly, not leave the other workers waiting forever."""
    plan = Plan([change(CREATE, f"f{i}") for i in range(50)])

    def broken_display(outcome):
        raise RuntimeError("display broke")

    finished = []

    def run():
        try:
            apply_plan(plan, FakeClient(), parallelism=4, on_outcome=broken_display)
        except RuntimeError as err:
            finished.append(str(err))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert finished == ["display broke"]


class _CountingClient(FakeClient):
    """Records the most writes it ever saw in flight at once."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.in_flight = self.most = self.started = 0
        self.count_lock = threading.Lock()
        # The first two writes wait for each other: writes do run side by side, whatever
        # the machine's load (a scheduler that ran one at a time breaks the barrier).
        self.first_two = threading.Barrier(2, timeout=10)

    def upsert(self, *args, **kw):
        with self.count_lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.started += 1
            first = self.started <= 2
        if first:
            self.first_two.wait()
        time.sleep(0.002)  # long enough for the other workers to start theirs
        try:
            return super().upsert(*args, **kw)
        finally:
            with self.count_lock:
                self.in_flight -= 1


def test_no_more_writes_in_flight_than_the_parallelism_or_the_throttle_allows():
    from kestra_sync.applying.throttle import Throttle

    plan = Plan([change(CREATE, f"f{i:03d}") for i in range(200)])
    client = _CountingClient()
    apply_plan(plan, client, parallelism=8)
    assert 1 < client.most <= 8

    throttle = Throttle(8, recover_after=10**6)  # successes never give the slots back
    throttle.refused(0)  # a 429 halved what may be in flight: 4
    client = _CountingClient()
    result = apply_plan(plan, client, parallelism=8, throttle=throttle)
    assert result.counts()[DONE] == 200
    assert 1 < client.most <= 4


def test_each_namespace_is_listed_once_before_its_first_write_even_when_read_ahead():
    """apply lists a namespace right before its first write there (the guard against a flow
    changed since the plan), and reads the next namespaces ahead so that workers do not wait
    for it (apply._Listings). Ahead or not: one listing per namespace written, none for a
    namespace the apply does not write in, and every listing before that namespace's writes."""
    from kestra_sync.models import FlowRef
    from kestra_sync.planning.plan import Change

    plan = Plan(
        [
            Change(CREATE, FlowRef("main", f"team{n % 12:02d}", f"f{n:03d}"), source="")
            for n in range(240)
        ]
        + [Change(UNCHANGED, FlowRef("main", "untouched", "u"), source="")]
    )
    client = FakeClient()
    client.upsert = _upsert_recording_namespace(client)
    result = apply_plan(plan, client, parallelism=8)
    assert result.counts()[DONE] == 240
    listed = [ns for op, ns in client.calls if op == "list"]
    assert sorted(listed) == [f"team{n:02d}" for n in range(12)]
    first_write = {}
    for index, (op, ns) in enumerate(client.calls):
        if op == "upsert-in":
            first_write.setdefault(ns, index)
    first_list = {ns: client.calls.index(("list", ns)) for ns in listed}
    assert all(first_list[ns] < first_write[ns] for ns in first_write)


def _upsert_recording_namespace(client):
    original = client.upsert

    def upsert(source, namespace, flow_id):
        with client.lock:
            client.calls.append(("upsert-in", namespace))
        return original(source, namespace, flow_id)

    return upsert


def _apply_in_a_thread(**kwargs):
    """apply_plan on a daemon thread; what it returned or raised, or "hung" when it has not
    returned long after it could have (a hang is the failure these tests look for)."""
    got = {}

    def go():
        try:
            got["result"] = apply_plan(**kwargs)
        except BaseException as err:  # noqa: BLE001 - handed to the test
            got["error"] = err

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(60)
    return "hung" if thread.is_alive() else got


def test_a_progress_callback_that_raises_on_a_blocked_delete_does_not_hang_the_apply():
    """The delete guard settles the deletes it blocks through on_outcome (the CLI's progress
    display). When that raised, the guard never said it was over: every other worker waited
    for it forever and apply never returned. It must raise the callback's error instead."""
    boom = ServerError("500", status=500, method="POST", path="/x")
    client = FakeClient(fail={"a": boom}, existing={"c": 1})
    plan = Plan([change(CREATE, "a"), change(DELETE, "c", revision=1)])

    def on_outcome(outcome):
        if outcome.change.action == DELETE:
            raise RuntimeError("the progress display broke")

    got = _apply_in_a_thread(plan=plan, client=client, parallelism=2, on_outcome=on_outcome)
    assert got != "hung", "apply_plan never returned"
    assert str(got["error"]) == "the progress display broke"
    assert [op for op, _ in client.writes()] == ["upsert"]  # and nothing was deleted


def test_a_second_ctrl_c_does_not_wait_for_a_namespace_listed_ahead():
    """Namespaces are listed ahead in the background (_Listings). A second Ctrl-C (here a
    KeyboardInterrupt in the thread that called apply_plan) must not wait for such a listing
    that the server holds: apply_plan used to shut its pool down and wait, and Python waits for
    a pool's threads again at exit, so the process stayed until the client's timeout."""
    held_listing = threading.Event()
    release = threading.Event()

    class HoldsListingOfZ(FakeClient):
        def search_flows(self, namespace, include_children=False):
            if namespace == "z":
                held_listing.set()
                release.wait()
            return super().search_flows(namespace, include_children)

    once = threading.Lock()

    def on_outcome(outcome):
        assert held_listing.wait(30), "namespace z was not listed ahead"
        if once.acquire(blocking=False):  # one Ctrl-C: a later outcome must not send another
            _thread.interrupt_main()  # what the CLI's handler does on a second Ctrl-C

    guard = threading.Timer(60, release.set)  # only ends a hang: the test fails then
    guard.start()
    # interrupt_main() calls the process's SIGINT handler: Python's own, which raises
    # KeyboardInterrupt in this thread, as in the CLI (a test runner may have put its own).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    plan = Plan([change(CREATE, "f1"), change(CREATE, "g1")])
    plan.changes[1] = replace(plan.changes[1], ref=replace(plan.changes[1].ref, namespace="z"))
    ahead = [t for t in threading.enumerate() if t.name.startswith("kestra-sync-listing")]
    try:
        with pytest.raises(KeyboardInterrupt):
            apply_plan(plan, HoldsListingOfZ(), parallelism=1, on_outcome=on_outcome)
        assert not release.is_set(), "apply_plan waited for the held listing"
        left = [t for t in threading.enumerate() if t.name.startswith("kestra-sync-listing")]
        assert all(t.daemon for t in left if t not in ahead)  # never holds the process at exit
    finally:
        signal.signal(signal.SIGINT, previous)
        release.set()
        guard.cancel()


def test_a_kv_delete_after_an_interrupted_flow_apply_says_it_was_interrupted():
    """Namespace files and KV pairs are deleted after the flows (the one scheduler of applying/apply.py). A
    Ctrl-C during the flows left the KV delete saying "a write failed", which nothing had."""

    class WithKv(FakeClient):
        def put_kv(self, namespace, key, value, ttl):
            self._call("put_kv", key)

        def delete_kv(self, namespace, key):
            self._call("delete_kv", key)
            return True

    cancel = threading.Event()
    write = Change(CREATE, FlowRef("main", "ns", "k1", "kv"), payload={"value": 1, "ttl": None})
    gone = Change(DELETE, FlowRef("main", "ns", "k0", "kv"))
    plan = Plan([write, gone] + [change(CREATE, f"f{i}") for i in range(3)])

    def on_outcome(outcome):
        if outcome.change.kind == "flow":
            cancel.set()  # Ctrl-C once the first flow is written

    client = WithKv()
    result = apply_plan(plan, client, parallelism=1, cancel=cancel, on_outcome=on_outcome)
    assert result.interrupted
    errors = {o.change.ref.id: o.error for o in result.outcomes if o.error}
    assert errors == dict.fromkeys(["f1", "f2", "k0"], "not attempted: the apply was interrupted")
    assert ("delete_kv", "k0") not in client.writes()
