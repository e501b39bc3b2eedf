"""The dashboards calls of the client (client/dashboards.py) against a mocked server: an id
that cannot be put in a URL is never sent, whether a listing or a saved plan carries it."""

from __future__ import annotations

import pytest
import responses

from kestra_sync.client import KestraClient
from kestra_sync.errors import PlanError
from kestra_sync.kinds import read_listings

URL = "http://kestra.test:8080"
BOARDS = f"{URL}/api/v1/main/dashboards"


@pytest.fixture
def client():
    with KestraClient(URL, retries=0) as c:
        yield c


@pytest.mark.parametrize("bad", ["..", ".", ""])
@responses.activate
def test_a_dot_segment_id_from_a_saved_plan_is_never_sent(client, bad):
    # `dashboards/..` would reach the server as DELETE /api/v1/main/ (the HTTP library
    # resolves dot segments); no request at all may leave.
    for call in (
        lambda: client.delete_dashboard(bad),
        lambda: client.update_dashboard(bad, "id: x\ntitle: T\n"),
    ):
        with pytest.raises(PlanError, match="cannot be put in a URL"):
            call()
    assert len(responses.calls) == 0


@responses.activate
def test_a_listing_naming_dotdot_fails_the_tenants_dashboards_and_reads_nothing_else(client):
    responses.get(BOARDS, json={"results": [{"id": "ops"}, {"id": ".."}], "total": 2})
    responses.get(f"{BOARDS}/ops", json={"id": "ops", "sourceCode": "id: ops\ntitle: O\n"})
    (listing,) = read_listings(client, [("dashboard", "main", "", True)])
    # The listing failed (so nothing of the tenant's dashboards is deleted or created over),
    # saying which id and what to do; the tenant's root was never requested.
    assert listing.items == []
    assert listing.error is not None and "dashboard id '..'" in listing.error
    assert [c.request.url.split("?")[0] for c in responses.calls] == [BOARDS, f"{BOARDS}/ops"]
