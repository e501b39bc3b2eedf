"""apply_plan: every change gets an outcome, order respects references, failures are contained."""

from kestra_sync.applying.apply import DONE, FAILED, NOT_ATTEMPTED, apply_plan
from kestra_sync.errors import ServerError, TransportError
from kestra_sync.models import FlowRef, RemoteFlow
from kestra_sync.planning.plan import CREATE, DELETE, UNCHANGED, UPDATE, Change, Plan, Scope
from kestra_sync.planning.references import referenced_flows
from tests.support.fake_client import FakeClient, caller_of, change


def test_every_change_is_applied_and_unchanged_ones_are_not_touched():
    client = FakeClient(existing={"b": 3, "c": 1})
    plan = Plan(
        [
            change(CREATE, "a"),
            change(UPDATE, "b", revision=3),
            change(DELETE, "c", revision=1),
            change(UNCHANGED, "d"),
        ]
    )
    result = apply_plan(plan, client)
    assert result.ok
    assert {o.change.ref.id: (o.result, o.revision) for o in result.outcomes} == {
        "a": ("created", 1),
        "b": ("updated", 4),
        "c": ("deleted", None),
    }
    assert client.writes()[-1] == ("delete", "c")  # deletes run last
    assert all(flow_id != "d" for _, flow_id in client.calls)
    # One listing before the writes, one read of the scope before the deletes: not per flow.
    assert [op for op, _ in client.calls if op in ("list", "read")] == ["list", "read"]


def test_a_subflow_target_is_created_before_its_caller():
    client = FakeClient()
    plan = Plan([change(CREATE, "caller", caller_of("zz-target")), change(CREATE, "zz-target")])
    apply_plan(plan, client, parallelism=4)
    assert [c[1] for c in client.writes()] == ["zz-target", "caller"]


def test_one_failure_does_not_stop_independent_writes_but_stops_every_delete():
    boom = ServerError("POST /api/v1/main/flows: 500", status=500, method="POST", path="/x")
    client = FakeClient(fail={"b": boom}, existing={"z": 1})
    plan = Plan(
        [
            change(CREATE, "a"),
            change(CREATE, "b"),
            change(CREATE, "c"),
            change(DELETE, "z", revision=1),
        ]
    )
    result = apply_plan(plan, client)
    assert not result.ok
    assert result.counts() == {DONE: 2, FAILED: 1, NOT_ATTEMPTED: 1}
    failed = result.by_status(FAILED)[0]
    assert failed.change.ref.id == "b" and "500" in failed.error
    skipped = result.by_status(NOT_ATTEMPTED)[0]
    assert skipped.change.ref.id == "z"
    assert "nothing is deleted after a failed or skipped write (ns/b)" in skipped.error
    assert ("delete", "z") not in client.calls


def test_dependents_of_a_failed_flow_are_not_attempted_and_say_why():
    boom = ServerError("500", status=500, method="POST", path="/x")
    client = FakeClient(fail={"target": boom})
    plan = Plan([change(CREATE, "caller", caller_of("target")), change(CREATE, "target")])
    result = apply_plan(plan, client)
    caller = next(o for o in result.outcomes if o.change.ref.id == "caller")
    assert caller.status == NOT_ATTEMPTED
    assert "depends on ns/target, which failed" in caller.error
    assert ("upsert", "caller") not in client.calls


def test_fail_fast_stops_submitting_after_the_first_failure():
    boom = ServerError("500", status=500, method="POST", path="/x")
    client = FakeClient(fail={"a": boom})
    plan = Plan([change(CREATE, i) for i in "abcd"])
    result = apply_plan(plan, client, parallelism=1, fail_fast=True)
    assert [o.status for o in result.outcomes] == [
        FAILED,
        NOT_ATTEMPTED,
        NOT_ATTEMPTED,
        NOT_ATTEMPTED,
    ]
    assert "--fail-fast" in result.outcomes[1].error


def test_a_write_whose_flow_moved_since_the_plan_is_skipped_and_says_so():
    client = FakeClient(existing={"upd": 3, "new": 1})
    plan = Plan(
        [
            change(UPDATE, "upd", revision=2),  # someone wrote revision 3 since the plan
            change(UPDATE, "vanished", revision=2),  # someone deleted it
            change(CREATE, "new"),  # someone created it
            change(CREATE, "ok"),
        ]
    )
    result = apply_plan(plan, client)
    errors = {o.change.ref.id: o.error for o in result.by_status(NOT_ATTEMPTED)}
    assert errors == {
        "upd": "not attempted: changed on the server since the plan (revision 2 -> 3)",
        "vanished": "not attempted: changed on the server since the plan (deleted meanwhile)",
        "new": "not attempted: changed on the server since the plan (created meanwhile, "
        "revision 1)",
    }
    assert client.writes() == [("upsert", "ok")]


def test_update_of_a_flow_deleted_after_the_check_recreates_it_and_a_missing_delete_converges():
    class GoneBeforePut(FakeClient):
        def update_flow(self, namespace, flow_id, source):
            self.existing.pop(flow_id, None)  # deleted between the listing and the PUT
            return super().update_flow(namespace, flow_id, source)

    client = GoneBeforePut(existing={"a": 2})
    result = apply_plan(Plan([change(UPDATE, "a", revision=2)]), client)
    assert [(o.change.ref.id, o.result) for o in result.outcomes] == [("a", "created")]
    gone = apply_plan(Plan([change(DELETE, "gone", revision=1)]), FakeClient())
    assert [(o.change.ref.id, o.result) for o in gone.outcomes] == [("gone", "already deleted")]


def test_update_that_the_server_found_identical_is_reported_unchanged():
    class SameRevision(FakeClient):
        def update_flow(self, namespace, flow_id, source):
            return RemoteFlow(namespace, flow_id, 5)

    result = apply_plan(Plan([change(UPDATE, "a", revision=5)]), SameRevision(existing={"a": 5}))
    assert result.outcomes[0].result == "unchanged"


def test_a_create_lost_in_transit_says_a_rerun_converges():
    lost = TransportError("POST http://127.0.0.1:1/api/v1/main/flows: connection dropped")
    result = apply_plan(Plan([change(CREATE, "a")]), FakeClient(fail={"a": lost}))
    assert "re-run converges" in result.outcomes[0].error


def test_a_flow_id_key_spelled_with_an_escape_is_still_a_reference():
    # referenced_flows skips flows whose text cannot hold a flowId key; an escape can.
    source = (
        "id: x\nnamespace: ns\ntasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Subflow\n"
        '    namespace: other\n    "flow\\x49d": child\n'
    )
    assert "flowId" not in source
    assert referenced_flows(source, "main") == {FlowRef("main", "other", "child")}


def test_references_are_found_in_subflow_tasks_and_flow_triggers():
    source = (
        "id: x\nnamespace: ns\ntasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Subflow\n"
        "    namespace: other\n    flowId: child\ntriggers:\n  - id: t\n"
        "    type: io.kestra.plugin.core.trigger.Flow\n    preconditions:\n      id: p\n"
        "      flows:\n        - namespace: up\n          flowId: stream\n"
    )
    assert referenced_flows(source, "main") == {
        FlowRef("main", "other", "child"),
        FlowRef("main", "up", "stream"),
    }


class WithFiles(FakeClient):
    """Flows plus one namespace file, ``/x.py``."""

    def export_namespace_files(self, namespace):
        with self.lock:
            self.calls.append(("list files", namespace))
        return {"/x.py": b"x"}

    def delete_namespace_file(self, namespace, path):
        self._call("delete file", path)


def test_flows_are_deleted_before_the_files_they_may_have_used():
    """One scheduler for every kind: deletes run last, flows first, then files and KV pairs,
    however many workers (a flow that stops using a file is gone before the file)."""
    from kestra_sync.kinds.nsfiles import digest

    file = Change(DELETE, FlowRef("main", "ns", "/x.py", "file"), server_digest=digest(b"x"))
    flows = [change(DELETE, f"old{i}", revision=1) for i in range(6)]
    client = WithFiles(existing={f"old{i}": 1 for i in range(6)})
    result = apply_plan(Plan([file, *flows], scopes=[Scope("main", "ns")]), client, parallelism=4)
    assert result.ok, [o.error for o in result.outcomes]
    order = [c for c in client.writes() if c[0] != "list files"]
    assert order[-1] == ("delete file", "/x.py")
    assert sorted(order[:-1]) == [("delete", f"old{i}") for i in range(6)]
