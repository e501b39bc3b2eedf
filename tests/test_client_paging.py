"""Every paged listing of the client is refused when it cannot be proven complete
(client/wire.read_pages): the apps and test-suite listings, too, not only flows, KV pairs and
dashboards. A listing with a hole would make the plan create over, or never keep, what it
missed."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from kestra_sync.client import KestraClient
from kestra_sync.errors import IncompleteListingError

URL = "http://kestra.test:8080"
API = f"{URL}/api/v1/main"
NS = "company.team"
APPS_PAGE = 100
SUITES_PAGE = 1000


@pytest.fixture
def client():
    with KestraClient(URL, retries=0) as c:
        yield c


def pages(answers: dict[int, tuple[list[dict], object]]):
    def answer(request):
        page = int(parse_qs(urlsplit(request.url).query)["page"][0])
        results, total = answers[page]
        return 200, {}, json.dumps({"results": results, "total": total})

    return answer


def apps(first: int, count: int) -> list[dict]:
    return [{"uid": f"u{i}", "id": f"a{i}", "namespace": NS} for i in range(first, first + count)]


def suites(first: int, count: int) -> list[dict]:
    return [
        {"id": f"s{i}", "namespace": NS, "flowId": "f", "source": "id: s\n"}
        for i in range(first, first + count)
    ]


@pytest.mark.parametrize(
    "answers, why",
    [
        ({1: (apps(0, APPS_PAGE), 150), 2: (apps(100, 51), 151)}, "changed from 150 to 151"),
        ({1: (apps(0, APPS_PAGE), 250), 2: (apps(0, APPS_PAGE), 250)}, "'u0' was listed twice"),
    ],
)
@responses.activate
def test_an_apps_listing_that_moves_or_repeats_is_refused(client, answers, why):
    responses.add_callback(responses.GET, f"{API}/apps/search", callback=pages(answers))
    with pytest.raises(IncompleteListingError, match=why):
        client.list_apps(NS)


@responses.activate
def test_an_apps_listing_with_a_boolean_total_is_not_a_page(client):
    responses.add_callback(
        responses.GET, f"{API}/apps/search", callback=pages({1: (apps(0, 1), True)})
    )
    with pytest.raises(Exception, match=r"expected a page of apps \{results, total\}"):
        client.list_apps(NS)


@pytest.mark.parametrize(
    "answers, why",
    [
        (
            {1: (suites(0, SUITES_PAGE), 1500), 2: (suites(1000, 500), 1501)},
            "changed from 1500 to 1501",
        ),
        (
            {1: (suites(0, SUITES_PAGE), 2500), 2: (suites(0, SUITES_PAGE), 2500)},
            "'s0' was listed twice",
        ),
    ],
)
@responses.activate
def test_a_test_suites_listing_that_moves_or_repeats_is_refused(client, answers, why):
    responses.add_callback(responses.GET, f"{API}/tests/search", callback=pages(answers))
    with pytest.raises(IncompleteListingError, match=why):
        client.list_test_suites(NS)


@responses.activate
def test_a_whole_listing_is_read_across_pages(client):
    answers = {1: (apps(0, APPS_PAGE), 130), 2: (apps(100, 30), 130)}
    responses.add_callback(responses.GET, f"{API}/apps/search", callback=pages(answers))
    assert [a["id"] for a in client.list_apps(NS)] == [f"a{i}" for i in range(130)]
