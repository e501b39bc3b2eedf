"""apply_plan stops when the server is gone (issue 9, item 7): after a few changes in a row
could not reach it, the rest are not attempted, with the reason; an HTTP error or a success in
between starts the count again."""

from kestra_sync.applying.apply import DONE, FAILED, NOT_ATTEMPTED, UNREACHABLE_STOP, apply_plan
from kestra_sync.errors import ServerError, TransportError
from kestra_sync.planning.plan import CREATE, Plan
from tests.support.fake_client import FakeClient, change

REFUSED = TransportError(
    "POST /api/v1/main/flows: cannot reach http://k:8080: connection refused (after 3 retries)",
    unreachable=True,
)


class DeadAfter(FakeClient):
    """Answers the first ``alive`` calls, then behaves like a server that is gone."""

    def __init__(self, alive):
        super().__init__()
        self.alive = alive

    def upsert(self, source, namespace, flow_id):
        with self.lock:
            self.alive -= 1
            dead = self.alive < 0
        if dead:
            self._call("upsert", flow_id)
            raise REFUSED
        return super().upsert(source, namespace, flow_id)


def test_after_a_few_unreachable_changes_in_a_row_the_rest_is_not_attempted():
    plan = Plan([change(CREATE, f"f{i:03d}") for i in range(176)])
    client = DeadAfter(alive=10)
    result = apply_plan(plan, client, parallelism=1)
    counts = result.counts()
    assert counts == {DONE: 10, FAILED: UNREACHABLE_STOP, NOT_ATTEMPTED: 176 - 10 - 3}
    writes = [call for call in client.calls if call[0] == "upsert"]  # besides one listing
    assert len(writes) == 10 + UNREACHABLE_STOP  # nothing sent after the stop
    rest = result.by_status(NOT_ATTEMPTED)
    assert {o.error for o in rest} == {
        "not attempted: the server could not be reached for 3 changes in a row (last: "
        f"{REFUSED.message}); the apply stopped, re-run it once the server is back"
    }
    # A refused create was never sent: the report does not say it may have been applied.
    assert all("may have been applied" not in o.error for o in result.by_status(FAILED))


def test_http_errors_do_not_count_as_unreachable():
    boom = ServerError("POST /x: 500 Internal Server Error", status=500, method="POST", path="/x")
    plan = Plan([change(CREATE, f"f{i}") for i in range(6)])
    result = apply_plan(plan, FakeClient(fail={f"f{i}": boom for i in range(6)}), parallelism=1)
    assert result.counts() == {DONE: 0, FAILED: 6, NOT_ATTEMPTED: 0}


def test_a_success_in_between_starts_the_count_again():
    fail = {f"f{i}": REFUSED for i in (0, 1, 3, 4, 6, 7)}
    plan = Plan([change(CREATE, f"f{i}") for i in range(9)])
    result = apply_plan(plan, FakeClient(fail=fail), parallelism=1)
    assert result.counts() == {DONE: 3, FAILED: 6, NOT_ATTEMPTED: 0}
