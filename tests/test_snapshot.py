"""read_snapshot: a failure about one namespace stays there; one about the server stops the read."""

import pytest

from kestra_sync.errors import AuthError, ServerError, TransportError
from kestra_sync.models import RemoteFlow
from kestra_sync.planning.plan import Scope
from kestra_sync.planning.snapshot import read_snapshot


class CountingClient:
    tenant = "main"

    def __init__(self, fail):
        self.fail = fail  # namespace -> exception
        self.calls = []

    def namespace_flows(self, namespace, include_children=False, known=None):
        self.calls.append(namespace)
        if namespace in self.fail:
            raise self.fail[namespace]
        return [RemoteFlow(namespace, "a", 1, source="id: a\n")]


SCOPES = [Scope("main", f"company.ns{i}") for i in range(5)]


@pytest.mark.parametrize(
    "error",
    [
        TransportError("cannot reach http://127.0.0.1:1: connection refused"),
        AuthError("401 Unauthorized", status=401, method="GET", path="/x"),
    ],
)
def test_an_unreachable_server_or_a_401_is_one_error_and_stops_reading(error):
    client = CountingClient({"company.ns0": error})
    with pytest.raises(type(error)):
        read_snapshot(client, SCOPES, parallelism=1)
    assert client.calls == ["company.ns0"]  # not four more rounds of retries


def test_a_failure_in_one_namespace_blocks_only_that_one():
    boom = ServerError("503", status=503, method="GET", path="/x")
    client = CountingClient({"company.ns1": boom})
    snapshot = read_snapshot(client, SCOPES, parallelism=1)
    assert [lst.scope.namespace for lst in snapshot.failed()] == ["company.ns1"]
    assert len(client.calls) == 5
    assert all(lst.flows for lst in snapshot.listings if not lst.error)
