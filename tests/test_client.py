"""KestraClient operations against mocked HTTP (responses): what goes out, what comes back.

Error mapping and secrets: test_client_errors.py; retries and timeouts: test_client_retries.py;
pure wire rules (same-source, validate split): test_client_wire.py.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pytest
import responses

from kestra_sync.client import KestraClient
from kestra_sync.errors import (
    AlreadyExistsError,
    ConfigError,
    IncompleteListingError,
    InputError,
    NotFoundError,
    UnexpectedResponseError,
)
from kestra_sync.settings.config import Settings
from tests.support.http_mock import FLOWS, SOURCE, URL, flow_json, make_zip, mocked_http, query


@pytest.fixture(autouse=True)
def rsps():
    yield from mocked_http()


@pytest.fixture
def client():
    return KestraClient(URL, username="admin@kestra.io", password="Secret123", retries=0)


# -- create / update / get / delete ---------------------------------------------------------


def test_a_cookie_the_server_sets_is_sent_back_on_later_requests(rsps, client):
    """As a requests Session does: a load balancer's sticky-session cookie keeps working."""
    rsps.get(f"{FLOWS}/distinct-namespaces", json=[], headers={"Set-Cookie": "LB=node-2; Path=/"})
    client.distinct_namespaces()
    client.distinct_namespaces()
    assert "Cookie" not in rsps.calls[0].request.headers
    assert rsps.calls[1].request.headers["Cookie"] == "LB=node-2"


def test_query_parameters_keep_their_order_and_repeats(rsps, client):
    rsps.get(f"{FLOWS}/search", json={"results": [], "total": 0})
    client.search_flows("company.team")
    url = rsps.calls[0].request.url
    assert url.split("?", 1)[1] == (
        "page=1&size=10000&sort=namespace%3Aasc&sort=id%3Aasc"
        "&filters%5Bnamespace%5D%5BEQUALS%5D=company.team"
    )


def test_create_sends_the_source_verbatim_as_utf8_yaml(rsps, client):
    rsps.post(FLOWS, json=flow_json(source=SOURCE, revision=1))
    flow = client.create_flow(SOURCE)
    req = rsps.calls[0].request
    assert req.body == SOURCE.encode("utf-8")  # CRLF, comment, non-ASCII all untouched
    assert req.headers["Content-Type"] == "application/x-yaml"
    assert req.headers["Accept"] == "application/json"
    assert req.headers["User-Agent"].startswith("kestra-sync/")
    expected = base64.b64encode(b"admin@kestra.io:Secret123").decode()
    assert req.headers["Authorization"] == f"Basic {expected}"
    assert (flow.namespace, flow.id, flow.revision, flow.source) == (
        "company.team",
        "hello",
        1,
        SOURCE,
    )
    assert flow.tenant == "main"


def test_create_reply_without_source_keeps_the_sent_source(rsps, client):
    rsps.post(FLOWS, json=flow_json(revision=4))
    assert client.create_flow(SOURCE).source == SOURCE


def test_update_puts_to_the_quoted_flow_path(rsps, client):
    rsps.put(f"{FLOWS}/company.team/hello", json=flow_json(revision=2, source=SOURCE))
    flow = client.update_flow("company.team", "hello", SOURCE)
    assert flow.revision == 2
    assert rsps.calls[0].request.body == SOURCE.encode("utf-8")


def test_every_path_segment_is_quoted_so_an_id_cannot_change_the_route(rsps):
    c = KestraClient(URL, tenant="t/x", retries=0)
    rsps.get(f"{URL}/api/v1/t%2Fx/flows/a%2Fb/c%3Fd%23e%20f", json=flow_json())
    c.get_flow("a/b", "c?d#e f")
    assert rsps.calls[0].request.path_url.startswith("/api/v1/t%2Fx/flows/a%2Fb/c%3Fd%23e%20f?")


def test_get_flow_asks_for_source_revision_and_deleted(rsps, client):
    rsps.get(f"{FLOWS}/company.team/hello", json=flow_json(revision=3, source=SOURCE, deleted=True))
    flow = client.get_flow("company.team", "hello", revision=3, allow_deleted=True)
    assert dict(query(rsps.calls[0])) == {"source": "true", "revision": "3", "allowDeleted": "true"}
    assert flow.deleted is True and flow.source == SOURCE


def test_get_flow_without_source(rsps, client):
    rsps.get(f"{FLOWS}/company.team/hello", json=flow_json())
    flow = client.get_flow("company.team", "hello", source=False)
    assert dict(query(rsps.calls[0])) == {"source": "false"}
    assert flow.source is None


def test_get_missing_flow_raises_not_found(rsps, client):
    rsps.get(
        f"{FLOWS}/company.team/nope",
        status=404,
        json={"message": "Not Found", "_links": {"self": {"href": "/x", "templated": False}}},
    )
    with pytest.raises(NotFoundError) as e:
        client.get_flow("company.team", "nope")
    assert e.value.status == 404
    assert str(e.value) == "GET /api/v1/main/flows/company.team/nope: 404 Not Found"


def test_delete_accepts_204_without_body(rsps, client):
    rsps.delete(f"{FLOWS}/company.team/hello", status=204)
    assert client.delete_flow("company.team", "hello") is None


def test_delete_accepts_200_as_the_spec_also_lists_it(rsps, client):
    rsps.delete(f"{FLOWS}/company.team/hello", status=200, body="")
    assert client.delete_flow("company.team", "hello") is None


def test_delete_of_a_missing_flow_raises_unless_missing_ok(rsps, client):
    rsps.delete(f"{FLOWS}/company.team/gone", status=404, json={"message": "Not Found"})
    with pytest.raises(NotFoundError):
        client.delete_flow("company.team", "gone")
    client.delete_flow("company.team", "gone", missing_ok=True)


# -- listings ----------------------------------------------------------------------------------


def test_list_namespace_parses_flows_and_normalises_both_label_shapes(rsps, client):
    rsps.get(
        f"{FLOWS}/company.team",
        json=[
            flow_json(fid="a", labels=[{"key": "team", "value": "data"}]),
            flow_json(fid="b", labels={"team": "data", "tier": 1}, disabled=True),
            flow_json(fid="c", updated="2026-02-19T10:00:00Z"),
        ],
    )
    flows = client.list_namespace("company.team")
    assert [f.id for f in flows] == ["a", "b", "c"]
    assert flows[0].labels == [{"key": "team", "value": "data"}]
    assert flows[1].labels == [{"key": "team", "value": "data"}, {"key": "tier", "value": 1}]
    assert flows[1].disabled is True
    assert flows[2].labels == [] and flows[2].updated == "2026-02-19T10:00:00Z"


def test_list_namespace_reply_that_is_not_a_list_is_unexpected(rsps, client):
    rsps.get(f"{FLOWS}/company.team", json={"results": []})
    with pytest.raises(UnexpectedResponseError):
        client.list_namespace("company.team")


def _page(results, total):
    return {"results": results, "total": total}


def test_search_reads_every_page_until_total(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a"), flow_json(fid="b")], 5))
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="c"), flow_json(fid="d")], 5))
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="e")], 5))
    flows = client.search_flows("company.team", page_size=2)
    assert [f.id for f in flows] == ["a", "b", "c", "d", "e"]
    pages = [dict(query(c))["page"] for c in rsps.calls]
    assert pages == ["1", "2", "3"]  # 1-based
    q = query(rsps.calls[0])
    assert ("filters[namespace][EQUALS]", "company.team") in q
    assert ("size", "2") in q
    assert ("sort", "namespace:asc") in q and ("sort", "id:asc") in q


def test_search_with_children_uses_the_prefix_filter(rsps, client):
    rsps.get(
        f"{FLOWS}/search",
        json=_page([flow_json(ns="company"), flow_json(ns="company.team", fid="x")], 2),
    )
    flows = client.search_flows("company", include_children=True)
    assert len(flows) == 2
    assert ("filters[namespace][PREFIX]", "company") in query(rsps.calls[0])


def test_search_without_namespace_lists_the_tenant(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([], 0))
    assert client.search_flows() == []
    assert not [k for k, _ in query(rsps.calls[0]) if k.startswith("filters")]


def test_search_short_page_before_total_is_an_error_not_a_partial_list(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a"), flow_json(fid="b")], 5))
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="c")], 5))
    with pytest.raises(IncompleteListingError) as e:
        client.search_flows("company.team", page_size=2)
    assert "3 of 5" in str(e.value)
    assert e.value.hint


def test_search_total_changing_between_pages_is_an_error(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a"), flow_json(fid="b")], 3))
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="c"), flow_json(fid="d")], 4))
    with pytest.raises(IncompleteListingError, match="changed from 3 to 4"):
        client.search_flows("company.team", page_size=2)


def test_search_empty_page_before_total_is_an_error(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([], 1))
    with pytest.raises(IncompleteListingError):
        client.search_flows("company.team")


def test_search_more_results_than_total_is_an_error(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a"), flow_json(fid="b")], 1))
    with pytest.raises(IncompleteListingError):
        client.search_flows("company.team")


def test_search_result_seen_twice_is_an_error(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a")], 2))
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a")], 2))
    with pytest.raises(IncompleteListingError, match="two pages"):
        client.search_flows("company.team", page_size=1)


def test_search_refuses_results_outside_the_namespace_filter(rsps, client):
    # A server too old for filters[...] ignores them and lists the whole tenant: deleting
    # from that list would touch other namespaces.
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(ns="other")], 1))
    with pytest.raises(UnexpectedResponseError, match="ignored the filter"):
        client.search_flows("company.team")


def test_search_child_is_out_of_scope_without_include_children(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(ns="company.teamx")], 1))
    with pytest.raises(UnexpectedResponseError):
        client.search_flows("company.team", include_children=True)


def test_search_reply_without_total_is_unexpected(rsps, client):
    rsps.get(f"{FLOWS}/search", json=[flow_json()])
    with pytest.raises(UnexpectedResponseError):
        client.search_flows("company.team")


# -- export ------------------------------------------------------------------------------------

A_DASHED = "id: b-c\nnamespace: a.x\ntasks: []\n"
A_DOTTED = "revision: 7\nid: c\nnamespace: a.x-b\ntasks: []\n"


def test_export_identifies_flows_by_their_yaml_not_the_ambiguous_entry_name(rsps, client):
    # "a.x-b-c.yml" could be ns a.x / id b-c or ns a.x-b / id c: only the YAML can tell.
    rsps.get(
        f"{FLOWS}/export/by-query",
        body=make_zip({"a.x-b-c.yml": A_DOTTED, "a.y-z.yml": A_DASHED}),
        content_type="application/octet-stream",
    )
    sources = client.export_sources("a", include_children=True)
    assert sources == {("a.x-b", "c"): A_DOTTED, ("a.x", "b-c"): A_DASHED}
    assert ("filters[namespace][PREFIX]", "a") in query(rsps.calls[0])
    assert rsps.calls[0].request.headers["Accept"] == "application/octet-stream"


def test_export_returns_sources_verbatim_including_a_stored_revision_line(rsps, client):
    text = "revision: 3\r\nid: hello\r\nnamespace: company.team\r\n# trailing comment\r\n\r\n"
    rsps.get(f"{FLOWS}/export/by-query", body=make_zip({"company.team-hello.yml": text}))
    assert client.export_sources("company.team") == {("company.team", "hello"): text}
    assert ("filters[namespace][EQUALS]", "company.team") in query(rsps.calls[0])


def test_export_takes_a_known_identity_only_for_exactly_the_same_text(rsps, client):
    """A plan passes the identities it read from the local files: a server source
    byte-identical to a file is not read again, one that differs by a byte (here its final
    newline) is read for itself. (The hint below names another id so that its use shows.)"""
    local = "id: hello\nnamespace: company.team\ntasks: []\n"
    known = {local: ("company.team", "as-hinted")}
    rsps.get(f"{FLOWS}/export/by-query", body=make_zip({"company.team-hello.yml": local}))
    assert client.export_sources("company.team", known=known) == {
        ("company.team", "as-hinted"): local
    }
    near = local.rstrip("\n")
    rsps.get(f"{FLOWS}/export/by-query", body=make_zip({"company.team-hello.yml": near}))
    assert client.export_sources("company.team", known=known) == {("company.team", "hello"): near}


def test_export_entry_with_unreadable_yaml_is_keyed_by_name_when_namespace_is_exact(rsps, client):
    broken = "id: hello\nnamespace: company.team\ntasks: [\n"
    rsps.get(
        f"{FLOWS}/export/by-query",
        body=make_zip({"company.team-hel-lo.yml": broken, "company.team.old.yml": broken}),
    )
    assert client.export_sources("company.team") == {
        ("company.team", "hel-lo"): broken,
        ("company.team", "old"): broken,  # the pre-0.21 "{ns}.{id}.yml" naming
    }


def test_export_entry_with_unreadable_yaml_is_left_out_when_children_are_included(rsps, client):
    rsps.get(f"{FLOWS}/export/by-query", body=make_zip({"a.b-c.yml": "id: [\n"}))
    assert client.export_sources("a", include_children=True) == {}


def test_export_of_an_empty_namespace(rsps, client):
    rsps.get(f"{FLOWS}/export/by-query", body=make_zip({}))
    assert client.export_sources("company.team") == {}


def test_export_that_is_not_a_zip_is_unexpected(rsps, client):
    rsps.get(f"{FLOWS}/export/by-query", body=b"PK?garbage", content_type="application/zip")
    with pytest.raises(UnexpectedResponseError, match="not a zip"):
        client.export_sources("company.team")


def test_export_answered_by_a_login_page_says_so(rsps, client):
    rsps.get(f"{FLOWS}/export/by-query", body="<html>login</html>", content_type="text/html")
    with pytest.raises(UnexpectedResponseError, match="HTML page .*a proxy or login page"):
        client.export_sources("company.team")


def test_export_outside_the_filter_is_refused(rsps, client):
    rsps.get(f"{FLOWS}/export/by-query", body=make_zip({"x-y.yml": "id: y\nnamespace: x\n"}))
    with pytest.raises(UnexpectedResponseError, match="ignored the filter"):
        client.export_sources("company.team")


# -- namespace_flows ---------------------------------------------------------------------------


def test_namespace_flows_joins_search_and_export_in_two_requests(rsps, client):
    a = "id: a\nnamespace: company.team\n"
    b = "id: b\nnamespace: company.team\n"
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a", revision=2), flow_json(fid="b")], 2))
    rsps.get(
        f"{FLOWS}/export/by-query",
        body=make_zip({"company.team-a.yml": a, "company.team-b.yml": b}),
    )
    flows = client.namespace_flows("company.team")
    assert [(f.id, f.revision, f.source) for f in flows] == [("a", 2, a), ("b", 1, b)]
    assert len(rsps.calls) == 2


def test_namespace_flows_fetches_a_flow_missing_from_the_export(rsps, client):
    b = "id: b\nnamespace: company.team\n"
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a"), flow_json(fid="b")], 2))
    rsps.get(f"{FLOWS}/export/by-query", body=make_zip({"company.team-a.yml": "id: a\n"}))
    rsps.get(f"{FLOWS}/company.team/b", json=flow_json(fid="b", source=b))
    # entry "company.team-a.yml" has no namespace in its YAML: keyed by its name
    flows = client.namespace_flows("company.team")
    assert [f.source for f in flows] == ["id: a\n", b]
    assert [c.request.method + " " + urlsplit(c.request.url).path for c in rsps.calls][-1] == (
        "GET /api/v1/main/flows/company.team/b"
    )


def test_namespace_flows_falls_back_to_gets_when_export_names_collide(rsps, client):
    # Flows a.x/b-c and a.x-b/c both export as "a.x-b-c.yml"; Java's ZipOutputStream refuses
    # a duplicate entry, so the real server answers 500 for the whole export.
    rsps.get(
        f"{FLOWS}/search",
        json=_page([flow_json(ns="a.x", fid="b-c"), flow_json(ns="a.x-b", fid="c")], 2),
    )
    rsps.get(
        f"{FLOWS}/export/by-query",
        status=500,
        json={"message": "Internal server error: duplicate entry: a.x-b-c.yml"},
    )
    rsps.get(f"{FLOWS}/a.x/b-c", json=flow_json(ns="a.x", fid="b-c", source="s1"))
    rsps.get(f"{FLOWS}/a.x-b/c", json=flow_json(ns="a.x-b", fid="c", source="s2"))
    flows = client.namespace_flows("a", include_children=True)
    assert [f.source for f in flows] == ["s1", "s2"]


def test_namespace_flows_flow_only_in_export_is_an_error(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([], 0))
    rsps.get(
        f"{FLOWS}/export/by-query",
        body=make_zip({"company.team-new.yml": "id: new\nnamespace: company.team\n"}),
    )
    with pytest.raises(IncompleteListingError, match="company.team/new"):
        client.namespace_flows("company.team")


def test_namespace_flows_flow_gone_before_its_get_is_an_error(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a")], 1))
    rsps.get(f"{FLOWS}/export/by-query", body=make_zip({}))
    rsps.get(f"{FLOWS}/company.team/a", status=404, json={"message": "Not Found"})
    with pytest.raises(IncompleteListingError, match="gone"):
        client.namespace_flows("company.team")


def test_namespace_flows_flow_changed_before_its_get_is_an_error(rsps, client):
    rsps.get(f"{FLOWS}/search", json=_page([flow_json(fid="a", revision=1)], 1))
    rsps.get(f"{FLOWS}/export/by-query", body=make_zip({}))
    rsps.get(f"{FLOWS}/company.team/a", json=flow_json(fid="a", revision=2, source="id: a\n"))
    with pytest.raises(IncompleteListingError, match="revision 1 -> 2"):
        client.namespace_flows("company.team")


def test_distinct_namespaces(rsps, client):
    rsps.get(f"{FLOWS}/distinct-namespaces", json=["company", "company.team"])
    assert client.distinct_namespaces() == ["company", "company.team"]


def test_distinct_namespaces_with_a_query(rsps, client):
    rsps.get(f"{FLOWS}/distinct-namespaces", json=["company.team"])
    client.distinct_namespaces(q="team")
    assert dict(query(rsps.calls[0])) == {"q": "team"}


# -- validate ----------------------------------------------------------------------------------


def _validate_echo(request):
    """A validate endpoint that splits like Kestra does and echoes each piece's id."""
    from kestra_sync.client.wire import flow_identity, split_like_server

    pieces = split_like_server(request.body.decode("utf-8"))
    items = []
    for i, piece in enumerate(pieces):
        ns, fid = flow_identity(piece)
        item = {"index": i, "outdated": False, "deprecationPaths": [], "warnings": [], "infos": []}
        if fid is None:
            item["constraints"] = "Validation error: id: must not be null\n"
        else:
            item.update(flow=fid, namespace=ns)
        items.append(item)
    return (200, {"Content-Type": "application/json"}, json.dumps(items))


def test_validate_batches_and_maps_every_result_back_to_its_input(rsps, client):
    rsps.add_callback(responses.POST, f"{FLOWS}/validate", callback=_validate_echo)
    sources = [
        "id: f0\nnamespace: n\n",
        "---\nid: f1\nnamespace: n\n",  # a leading marker would shift later indexes
        "id: f2\nnamespace: n\n...\n",
        "",  # empty: reported locally
        "id: f4\nnamespace: n\n---\nid: extra\nnamespace: n\n",  # two documents: local
        "namespace: n\n",  # invalid: server says so
        "# comment\n---\nid: f6\nnamespace: n\n",
    ]
    results = client.validate_flows(sources, batch_size=2)
    assert [r.index for r in results] == list(range(7))
    assert [r.flow for r in results] == ["f0", "f1", "f2", None, None, None, "f6"]
    assert [r.valid for r in results] == [True, True, True, False, False, False, True]
    assert results[3].constraints == "empty flow source"
    assert "more than one YAML document" in results[4].constraints
    assert results[5].constraints.startswith("Validation error:")
    assert len(rsps.calls) == 3  # 5 sendable sources in batches of 2
    assert all(c.request.headers["Content-Type"] == "application/x-yaml" for c in rsps.calls)


def test_validate_parses_every_field(rsps, client):
    rsps.post(
        f"{FLOWS}/validate",
        json=[
            {
                "index": 0,
                "namespace": "n",
                "flow": "f",
                "outdated": True,
                "deprecationPaths": ["tasks[0].x"],
                "warnings": ["w"],
                "infos": ["i"],
                "filename": "f.yml",
            }
        ],
    )
    (r,) = client.validate_flows(["id: f\nnamespace: n\n"])
    assert (r.outdated, r.deprecation_paths, r.warnings, r.infos, r.filename) == (
        True,
        ["tasks[0].x"],
        ["w"],
        ["i"],
        "f.yml",
    )


def test_validate_result_count_mismatch_is_an_error_not_a_wrong_mapping(rsps, client):
    rsps.post(f"{FLOWS}/validate", json=[{"index": 0, "outdated": False}])
    with pytest.raises(UnexpectedResponseError, match="sent 2 flows"):
        client.validate_flows(["id: a\n", "id: b\n"])


def test_validate_nothing_sends_nothing(rsps, client):
    assert client.validate_flows([]) == []
    assert len(rsps.calls) == 0


# -- upsert ------------------------------------------------------------------------------------

EXISTS = {
    "message": "Invalid entity: flow.id: Flow id already exists",
    "_links": {"self": {"href": "/api/v1/main/flows", "templated": False}},
    "_embedded": {"errors": [{"message": "Flow id already exists", "path": "flow.id"}]},
}
ITEM = f"{FLOWS}/company.team/hello"


def test_upsert_creates_a_new_flow(rsps, client):
    rsps.post(FLOWS, json=flow_json(source=SOURCE))
    result = client.upsert(SOURCE)
    assert (result.action, result.flow.revision, result.previous_revision) == ("created", 1, None)
    assert len(rsps.calls) == 1


def test_upsert_existing_same_source_is_unchanged_and_writes_nothing(rsps, client):
    rsps.post(FLOWS, status=422, json=EXISTS)
    rsps.get(ITEM, json=flow_json(revision=5, source="revision: 5\n" + SOURCE))
    result = client.upsert(SOURCE)
    assert (result.action, result.flow.revision, result.previous_revision) == ("unchanged", 5, 5)
    assert [c.request.method for c in rsps.calls] == ["POST", "GET"]


def test_upsert_existing_different_source_is_updated(rsps, client):
    rsps.post(FLOWS, status=422, json=EXISTS)
    rsps.get(ITEM, json=flow_json(revision=5, source=SOURCE + "\n"))  # a newline counts
    rsps.put(ITEM, json=flow_json(revision=6, source=SOURCE))
    result = client.upsert(SOURCE)
    assert (result.action, result.flow.revision, result.previous_revision) == ("updated", 6, 5)
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "PUT"]
    assert rsps.calls[2].request.body == SOURCE.encode("utf-8")


def test_upsert_flow_deleted_before_the_put_is_created_again(rsps, client):
    rsps.post(FLOWS, status=422, json=EXISTS)
    rsps.get(ITEM, json=flow_json(revision=5, source="old"))
    rsps.put(ITEM, status=404, json={"message": "Not Found"})
    rsps.post(FLOWS, json=flow_json(revision=7, source=SOURCE))
    result = client.upsert(SOURCE)
    assert (result.action, result.flow.revision) == ("created", 7)
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "PUT", "POST"]


def test_upsert_flow_deleted_before_the_get_is_created_again(rsps, client):
    rsps.post(FLOWS, status=422, json=EXISTS)
    rsps.get(ITEM, status=404, json={"message": "Not Found"})
    rsps.post(FLOWS, json=flow_json(revision=3, source=SOURCE))
    assert client.upsert(SOURCE).action == "created"


def test_upsert_creates_again_only_once(rsps, client):
    rsps.post(FLOWS, status=422, json=EXISTS)
    rsps.get(ITEM, status=404, json={"message": "Not Found"})
    with pytest.raises(AlreadyExistsError):
        client.upsert(SOURCE)
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "POST"]


def test_upsert_reports_unchanged_when_the_server_kept_the_revision(rsps, client):
    rsps.post(FLOWS, status=422, json=EXISTS)
    rsps.get(ITEM, json=flow_json(revision=5, source="different"))
    rsps.put(ITEM, json=flow_json(revision=5, source=SOURCE))
    assert client.upsert(SOURCE).action == "unchanged"


def test_upsert_uses_given_namespace_and_id(rsps, client):
    rsps.post(FLOWS, status=422, json=EXISTS)
    rsps.get(f"{FLOWS}/ns.x/fid", json=flow_json(ns="ns.x", fid="fid", source="id: fid\n"))
    result = client.upsert("id: fid\n", namespace="ns.x", flow_id="fid")
    assert result.action == "unchanged"


def test_upsert_without_namespace_in_the_source_is_an_input_error(rsps, client):
    with pytest.raises(InputError, match="namespace"):
        client.upsert("id: x\ntasks: []\n")
    assert len(rsps.calls) == 0


def test_upsert_invalid_flow_error_is_raised_as_is(rsps, client):
    from kestra_sync.errors import InvalidFlowError

    rsps.post(
        FLOWS,
        status=422,
        json={"message": "Invalid entity: tasks: must not be empty\n"},
    )
    with pytest.raises(InvalidFlowError) as e:
        client.upsert(SOURCE)
    assert not isinstance(e.value, AlreadyExistsError)


# -- construction ------------------------------------------------------------------------------


def test_from_settings_reads_url_tenant_auth_timeout_and_verify(rsps, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked until a TLS handshake")
    s = Settings(url=URL, tenant="main", token="tok-123", timeout=7.0, verify=str(ca))
    c = KestraClient.from_settings(s)
    assert c.http.timeout == (7.0, 7.0)
    assert c.http.session.verify == str(ca)
    rsps.get(f"{FLOWS}/distinct-namespaces", json=[])
    c.distinct_namespaces()
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer tok-123"


def test_token_wins_over_username_and_password(rsps):
    c = KestraClient(URL, username="u@x.io", password="Passw0rd!", token="tok", retries=0)
    rsps.get(f"{FLOWS}/distinct-namespaces", json=[])
    c.distinct_namespaces()
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer tok"


def test_from_settings_without_url_names_the_flag_and_variable():
    with pytest.raises(ConfigError) as e:
        KestraClient.from_settings(Settings())
    assert "--server" in e.value.hint and "KESTRA_URL" in e.value.hint


@pytest.mark.parametrize("url", ["localhost:8080", "ftp://x", "http://", ""])
def test_invalid_url_is_a_config_error(url):
    with pytest.raises(ConfigError):
        KestraClient(url)


def test_username_without_password_is_a_config_error():
    with pytest.raises(ConfigError, match="both"):
        KestraClient(URL, username="u@x.io")


def test_credentials_in_the_url_become_basic_auth_and_leave_the_url(rsps):
    c = KestraClient("http://me%40x.io:S3cret%21x@kestra.test:8080/", retries=0)
    assert c.base_url == URL and "S3cret" not in repr(c)
    rsps.get(f"{FLOWS}/distinct-namespaces", json=[])
    c.distinct_namespaces()
    expected = base64.b64encode(b"me@x.io:S3cret!x").decode()
    assert rsps.calls[0].request.headers["Authorization"] == f"Basic {expected}"
    assert "S3cret" not in rsps.calls[0].request.url


def test_with_tenant_shares_the_session_and_changes_the_path(rsps, client):
    other = client.with_tenant("acme")
    assert other.http.session is client.http.session
    rsps.get(f"{URL}/api/v1/acme/flows/distinct-namespaces", json=["x"])
    assert other.distinct_namespaces() == ["x"]
    assert client.tenant == "main"


def test_empty_tenant_is_refused():
    with pytest.raises(ConfigError):
        KestraClient(URL, tenant="")


def test_client_is_a_context_manager_that_closes_its_session(monkeypatch):
    closed = []
    with KestraClient(URL) as c:
        monkeypatch.setattr(c.http.session, "close", lambda: closed.append(True))
    assert closed == [True]


def test_from_settings_built_by_load_settings_from_the_environment(rsps, tmp_path):
    from kestra_sync.settings.config import load_settings

    env = {
        "KESTRA_URL": URL + "/",
        "KESTRA_USERNAME": "admin@kestra.io",
        "KESTRA_PASSWORD": "Secret123",
    }
    c = KestraClient.from_settings(load_settings({}, env=env, cwd=tmp_path))
    rsps.get(f"{FLOWS}/distinct-namespaces", json=[])
    c.distinct_namespaces()
    assert rsps.calls[0].request.headers["Authorization"].startswith("Basic ")
