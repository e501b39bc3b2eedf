"""KestraClient's Enterprise calls (apps, namespaces, secrets) against mocked HTTP: a server
without them says so in one clear error, app listings are read whole and exactly, and a
secret's value never reaches an error message."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from kestra_sync.client import KestraClient
from kestra_sync.client.enterprise import EnterpriseOnlyError
from kestra_sync.errors import IncompleteListingError, InputError, PlanError, ServerError

URL = "http://kestra.test:8080"
API = f"{URL}/api/v1/main"
NS = "company.team"


@pytest.fixture
def client():
    with KestraClient(URL, retries=0) as c:
        yield c


@responses.activate
def test_a_server_without_the_apps_api_is_named_as_not_enterprise(client):
    responses.get(f"{API}/apps/search", status=404, json={"message": "Page Not Found"})
    with pytest.raises(EnterpriseOnlyError) as err:
        client.list_apps(NS)
    assert err.value.message.startswith(
        "apps need Kestra Enterprise: the server has no such endpoint (404); is it Kestra OSS?"
    )


@responses.activate
def test_the_edition_is_asked_once_and_oss_is_refused(client):
    responses.get(f"{URL}/api/v1/configs", json={"version": "1.3.2", "edition": "OSS"})
    for _ in range(2):
        with pytest.raises(EnterpriseOnlyError, match="apps need Kestra Enterprise and this"):
            client.require_enterprise("apps")
    assert len(responses.calls) == 1


@responses.activate
def test_apps_are_listed_page_by_page_and_only_the_namespace_itself_is_kept(client, monkeypatch):
    monkeypatch.setattr("kestra_sync.client.enterprise.APPS_PAGE", 2)
    pages = {
        "1": [{"uid": "u1", "id": "a", "namespace": NS}, {"uid": "u2", "id": "b", "namespace": NS}],
        "2": [{"uid": "u3", "id": "c", "namespace": NS + ".child"}],
    }

    def answer(request):
        query = dict(parse_qsl(urlsplit(request.url).query))
        assert query["namespace"] == NS and query["filters[namespace][EQUALS]"] == NS
        return 200, {}, json.dumps({"results": pages[query["page"]], "total": 3})

    responses.add_callback(responses.GET, f"{API}/apps/search", callback=answer)
    assert [a["id"] for a in client.list_apps(NS)] == ["a", "b"]


@responses.activate
def test_an_app_listing_with_a_hole_is_refused(client, monkeypatch):
    monkeypatch.setattr("kestra_sync.client.enterprise.APPS_PAGE", 2)
    responses.get(
        f"{API}/apps/search",
        json={"results": [{"uid": "u1", "id": "a", "namespace": NS}], "total": 5},
    )
    with pytest.raises(IncompleteListingError, match="list of apps is incomplete"):
        client.list_apps(NS)


@responses.activate
def test_a_secret_echoed_by_a_failing_server_is_redacted(client):
    value = "pa55-W0rd-Never-Shown"
    responses.put(f"{API}/namespaces/{NS}/secrets", status=500, json={"message": f"bad {value}"})
    with pytest.raises(ServerError) as err:
        client.put_secret(NS, "DB_PASSWORD", value)
    assert value not in str(err.value) + (err.value.hint or "")
    assert "bad ***" in err.value.message


@responses.activate
def test_a_namespace_the_server_does_not_keep_is_created(client):
    responses.put(f"{API}/namespaces/{NS}", status=404, json={"message": "Not Found"})
    responses.post(f"{API}/namespaces", json={"id": NS, "deleted": False})
    client.put_namespace(NS, {"id": NS, "description": "d"})
    assert [c.request.method for c in responses.calls] == ["PUT", "POST"]
    assert responses.calls[1].request.body == b'{"id": "company.team", "description": "d"}'


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_app_source(".."),
        lambda c: c.delete_app("."),
        lambda c: c.get_test_suite(NS, ".."),
        lambda c: c.delete_test_suite(NS, ".."),
        lambda c: c.run_test_suite(NS, ".."),
        # An empty id addresses the collection (`apps/`, `tests/ns/`), not an item.
        lambda c: c.delete_app(""),
        lambda c: c.delete_test_suite(NS, ""),
    ],
)
@responses.activate
def test_an_id_of_dots_from_a_listing_or_a_saved_plan_is_never_sent(client, call):
    """``apps/..`` or ``tests/ns/..`` would be resolved to another resource by the HTTP library."""
    with pytest.raises(PlanError, match="cannot be put in a URL"):
        call(client)
    assert len(responses.calls) == 0


@responses.activate
def test_a_secret_whose_value_is_the_connections_own_token_is_never_sent():
    """Whatever variable it comes from (an environment's `token_env`, which no list of names
    can know): the namespace's flows would read the deploy's token."""
    with KestraClient(URL, token="the-deploy-token-42", retries=0) as c:
        with pytest.raises(InputError, match="holds the token or password kestra-sync"):
            c.put_secret(NS, "K", "the-deploy-token-42")
        assert len(responses.calls) == 0
        responses.put(f"{API}/namespaces/{NS}/secrets", json={})
        c.put_secret(NS, "K", "another-value")
        assert json.loads(responses.calls[0].request.body) == {"key": "K", "value": "another-value"}
