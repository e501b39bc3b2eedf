"""apply_plan's scheduler at scale and through chains of dependencies (library level, no HTTP)."""

import threading
import time

from kestra_sync.apply import DONE, FAILED, NOT_ATTEMPTED, apply_plan
from kestra_sync.errors import ServerError
from kestra_sync.plan import CREATE, DELETE, Plan
from kestra_sync.report.applytext import render_apply
from tests.test_apply import FakeClient, caller_of, change


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
