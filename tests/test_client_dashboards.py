"""The dashboards calls of the client (client/dashboards.py) against a mocked server: an id
that cannot be put in a URL is never sent, whether a listing or a saved plan carries it."""

from __future__ import annotations

import json

import pytest
import responses

from kestra_sync.client import KestraClient
from kestra_sync.errors import IncompleteListingError, PlanError
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


def _pages(pages: dict[int, tuple[list[str], int]]):
    """A listing answering each page number with (ids, total)."""

    def answer(request):
        from urllib.parse import parse_qs, urlsplit

        query = parse_qs(urlsplit(request.url).query)
        assert query["size"] == ["100"]
        ids, total = pages[int(query["page"][0])]
        return 200, {}, json.dumps({"results": [{"id": i} for i in ids], "total": total})

    responses.add_callback(responses.GET, BOARDS, callback=answer)


@responses.activate
def test_every_page_of_the_listing_is_read(client):
    first = [f"d{i:03}" for i in range(100)]
    _pages({1: (first, 130), 2: ([f"e{i:02}" for i in range(30)], 130)})
    assert client.list_dashboards() == first + [f"e{i:02}" for i in range(30)]


@pytest.mark.parametrize(
    "pages, why",
    [
        # A server that ignores `page` answers page 1 again: never taken as 200 dashboards.
        (
            {1: ([f"d{i}" for i in range(100)], 200), 2: ([f"d{i}" for i in range(100)], 200)},
            "listed twice",
        ),
        (
            {1: ([f"d{i}" for i in range(100)], 150), 2: ([f"e{i}" for i in range(50)], 151)},
            "the count changed from 150 to 151",
        ),
        (
            {1: ([f"d{i}" for i in range(100)], 150), 2: ([f"e{i}" for i in range(10)], 150)},
            "page 2 held 10 dashboards, 110 of 150",
        ),
        ({1: ([f"d{i}" for i in range(3)], 2)}, "got 3 dashboards but the server counted 2"),
    ],
)
@responses.activate
def test_a_listing_that_cannot_be_proven_complete_is_refused(client, pages, why):
    _pages(pages)
    with pytest.raises(IncompleteListingError, match=why):
        client.list_dashboards()
