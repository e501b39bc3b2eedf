"""The flow endpoints over real HTTP: shapes, revision rules, listing, search, validate, export.

Citations: docs/kestra-api.md and Kestra's sources (FlowController, AbstractJdbcFlowRepository,
HasSource, FlowService) read at erickirt/kestra 8ecd8337.
"""

from __future__ import annotations

import io
import zipfile

from .conftest import YAML, flow_yaml


def test_create_returns_200_flow_with_source_api_facts_3_1(api):
    src = flow_yaml()
    r = api.create(src)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == "hello" and body["namespace"] == "company.team"
    assert body["revision"] == 1
    assert body["source"] == src
    assert body["tenantId"] == "main"
    assert body["disabled"] is False and body["deleted"] is False
    # the create response is built before the timestamp is set (AbstractJdbcFlowRepository.save)
    assert "updated" not in body


def test_source_is_stored_byte_for_byte_api_facts_7(api):
    src = "# leading comment\nid: hello\r\nnamespace: company.team   \n\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: |2-\n        indented\n# trailing comment\n\n\n"
    assert api.create(src).status_code == 200
    got = api.get("/company.team/hello", params={"source": "true"}).json()
    assert got["source"] == src


def test_get_without_source_has_no_source_key_api_facts_4_3(api):
    api.create(flow_yaml())
    body = api.get("/company.team/hello").json()
    assert "source" not in body
    assert body["updated"].endswith("Z")
    assert body["tasks"] == [
        {"id": "log", "type": "io.kestra.plugin.core.log.Log", "message": "hi"}
    ]


def test_json_omits_nulls_and_keeps_flags_api_facts_10(api):
    api.create(flow_yaml())
    body = api.get("/company.team/hello").json()
    assert "description" not in body and "labels" not in body and "triggers" not in body
    assert {"tenantId", "disabled", "deleted", "revision"} <= body.keys()


def test_labels_map_and_list_both_serialize_as_key_value_list_api_facts_6(api):
    api.create(flow_yaml("a", extra="labels:\n  team: data\n  tier: 1\n"))
    api.create(flow_yaml("b", extra="labels:\n  - key: team\n    value: data\n"))
    a = api.get("/company.team/a").json()
    b = api.get("/company.team/b").json()
    assert a["labels"] == [{"key": "team", "value": "data"}, {"key": "tier", "value": "1"}]
    assert b["labels"] == [{"key": "team", "value": "data"}]


def test_disabled_flag_comes_from_the_yaml(api):
    api.create(flow_yaml(extra="disabled: true\n"))
    assert api.get("/company.team/hello").json()["disabled"] is True


def test_update_bumps_revision_and_returns_flow_with_source_api_facts_4_2(api):
    api.create(flow_yaml())
    src2 = flow_yaml(extra="description: changed\n")
    r = api.update("company.team", "hello", src2)
    assert r.status_code == 200
    assert r.json()["revision"] == 2
    assert r.json()["source"] == src2
    assert r.json()["description"] == "changed"


def test_identical_source_does_not_bump_revision_api_facts_7(api):
    src = flow_yaml()
    api.create(src)
    r = api.update("company.team", "hello", src)
    assert r.status_code == 200
    assert r.json()["revision"] == 1
    assert "updated" in r.json()  # the existing row is returned as stored


def test_first_revision_line_is_ignored_when_comparing_sources_api_facts_7(api):
    src = flow_yaml()
    api.create(src)
    r = api.update("company.team", "hello", "revision: 7\n" + src)
    assert r.json()["revision"] == 1
    assert api.get("/company.team/hello", params={"source": "true"}).json()["source"] == src


def test_trailing_newline_counts_as_a_change_api_facts_7(api):
    src = flow_yaml()
    api.create(src)
    assert api.update("company.team", "hello", src + "\n").json()["revision"] == 2


def test_create_update_delete_recreate_numbering_1_2_3_4_api_facts_7(api):
    assert api.create(flow_yaml()).json()["revision"] == 1
    assert (
        api.update("company.team", "hello", flow_yaml(extra="description: x\n")).json()["revision"]
        == 2
    )
    assert api.delete("company.team", "hello").status_code == 204
    assert api.create(flow_yaml()).json()["revision"] == 4
    revs = api.get("/company.team/hello/revisions").json()
    assert [r["revision"] for r in revs] == [1, 2, 4]
    all_revs = api.get("/company.team/hello/revisions", params={"allowDelete": "true"}).json()
    assert [(r["revision"], r["deleted"]) for r in all_revs] == [
        (1, False),
        (2, False),
        (3, True),
        (4, False),
    ]
    assert all("source" in r for r in all_revs)


def test_delete_returns_204_empty_and_second_delete_404_api_facts_4_4(api):
    api.create(flow_yaml())
    r = api.delete("company.team", "hello")
    assert r.status_code == 204 and r.content == b""
    assert api.delete("company.team", "hello").status_code == 404
    assert api.get("/company.team/hello").status_code == 404


def test_get_allow_deleted_and_explicit_revision_api_facts_4_3(api):
    api.create(flow_yaml())
    api.delete("company.team", "hello")
    deleted = api.get("/company.team/hello", params={"allowDeleted": "true"}).json()
    assert deleted["deleted"] is True and deleted["revision"] == 2
    assert "updated" not in deleted  # toDeleted() is persisted through toFlow(), which drops it
    r1 = api.get("/company.team/hello", params={"revision": "1", "source": "true"}).json()
    assert r1["revision"] == 1 and r1["deleted"] is False


def test_list_namespace_is_exact_and_without_source_api_facts_3_5(api):
    api.create(flow_yaml("a", "company.team"))
    api.create(flow_yaml("b", "company.team.sub"))
    api.create(flow_yaml("c", "company.team"))
    api.delete("company.team", "c")
    body = api.get("/company.team").json()
    assert [f["id"] for f in body] == ["a"]
    assert "source" not in body[0]


def test_search_paging_is_1_based_with_total_api_facts_4_5(api):
    for i in range(5):
        api.create(flow_yaml(f"f{i}", "company.team"))
    p1 = api.get("/search", params={"page": 1, "size": 2}).json()
    p3 = api.get("/search", params={"page": 3, "size": 2}).json()
    assert p1["total"] == 5 and [f["id"] for f in p1["results"]] == ["f0", "f1"]
    assert [f["id"] for f in p3["results"]] == ["f4"]
    assert all("source" not in f for f in p1["results"])


def test_search_excludes_deleted_flows_api_facts_4_5(api):
    api.create(flow_yaml("a"))
    api.create(flow_yaml("b"))
    api.delete("company.team", "b")
    assert [f["id"] for f in api.get("/search").json()["results"]] == ["a"]


def test_search_namespace_filters_equals_prefix_starts_with_api_facts_4_5(api):
    api.create(flow_yaml("a", "company"))
    api.create(flow_yaml("b", "company.team"))
    api.create(flow_yaml("c", "companyx"))

    def ids(**params):
        return sorted(f["id"] for f in api.get("/search", params=params).json()["results"])

    assert ids(**{"filters[namespace][EQUALS]": "company"}) == ["a"]
    assert ids(**{"filters[namespace][PREFIX]": "company"}) == ["a", "b"]
    assert ids(**{"filters[namespace][STARTS_WITH]": "company"}) == ["a", "b", "c"]
    assert ids(**{"filters[q][EQUALS]": "B"}) == ["b"]


def test_search_sort_desc_api_facts_4_5(api):
    for fid in ("a", "c", "b"):
        api.create(flow_yaml(fid))
    res = api.get("/search", params={"sort": "id:desc"}).json()["results"]
    assert [f["id"] for f in res] == ["c", "b", "a"]


def test_search_page_zero_is_422_min_constraint(api):
    r = api.get("/search", params={"page": 0})
    assert r.status_code == 422
    assert (
        r.json()["message"]
        == "Invalid entity: searchFlows.page: must be greater than or equal to 1"
    )


def test_search_bad_filter_operation_is_400_invalid_query_filters(api):
    r = api.get("/search", params={"filters[q][PREFIX]": "x"})
    assert r.status_code == 400
    assert r.json()["message"].startswith(
        "Invalid query filters: Provided query filters are invalid: Operation PREFIX"
    )


def test_literal_routes_win_over_namespace_route_api_facts_3(api):
    api.create(flow_yaml("a", "search"))
    # GET /search is the search endpoint, not the listing of namespace "search"
    assert "results" in api.get("/search").json()
    assert api.get("/distinct-namespaces").json() == ["search"]


def test_distinct_namespaces_excludes_deleted(api):
    api.create(flow_yaml("a", "x.one"))
    api.create(flow_yaml("b", "x.two"))
    api.delete("x.two", "b")
    assert api.get("/distinct-namespaces").json() == ["x.one"]


def test_validate_splits_multi_doc_and_reports_items_api_facts_4_7(api):
    good = flow_yaml("ok")
    bad = "id: nok\nnamespace: company.team\ntasks: []\n"
    r = api.session.post(api.base + "/validate", data=good + "---\n" + bad, headers=YAML)
    assert r.status_code == 200
    items = r.json()
    assert items[0] == {
        "index": 0,
        "flow": "ok",
        "namespace": "company.team",
        "outdated": False,
        "deprecationPaths": [],
        "warnings": [],
        "infos": [],
    }
    assert items[1]["index"] == 1 and items[1]["flow"] == "nok"
    assert items[1]["constraints"] == "Validation error: tasks: must not be empty\n"


def test_validate_syntax_error_is_illegal_flow_source_item(api):
    r = api.session.post(api.base + "/validate", data="id: [x\n", headers=YAML)
    item = r.json()[0]
    assert item["constraints"].startswith("Illegal flow source: YAML parsing error:")
    assert item["outdated"] is False and "flow" not in item


def test_validate_outdated_when_revision_is_not_next_api_facts_4_7(api):
    api.create(flow_yaml())
    r = api.session.post(api.base + "/validate", data="revision: 5\n" + flow_yaml(), headers=YAML)
    assert r.json()[0]["outdated"] is True
    r = api.session.post(api.base + "/validate", data="revision: 2\n" + flow_yaml(), headers=YAML)
    assert r.json()[0]["outdated"] is False


def test_export_by_query_zip_entries_ns_dash_id_yml_verbatim_kestra_flowcontroller(api):
    src = "# keep me\n" + flow_yaml("a", "company.team")
    api.create(src)
    api.create(flow_yaml("b", "other"))
    r = api.get("/export/by-query", params={"filters[namespace][EQUALS]": "company.team"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"] == 'attachment; filename="flows.zip"'
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.namelist() == ["company.team-a.yml"]
        # HasSource.asZipFile writes source() verbatim: no revision line is injected
        assert z.read("company.team-a.yml").decode() == src


def test_export_by_ids_zip_entries_ns_dot_id_yaml_and_404_on_unknown(api):
    api.create(flow_yaml("a"))
    r = api.session.post(
        api.base + "/export/by-ids", json=[{"namespace": "company.team", "id": "a"}]
    )
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert z.namelist() == ["company.team.a.yaml"]
    r = api.session.post(
        api.base + "/export/by-ids", json=[{"namespace": "company.team", "id": "zz"}]
    )
    assert r.status_code == 404
    assert r.json()["message"] == "Not Found: No value present"


def test_delete_by_ids_counts_and_writes_deleted_revisions_api_facts_3_17(api):
    api.create(flow_yaml("a"))
    api.create(flow_yaml("b"))
    r = api.session.delete(
        api.base + "/delete/by-ids",
        json=[{"namespace": "company.team", "id": "a"}, {"namespace": "company.team", "id": "b"}],
    )
    assert r.status_code == 200 and r.json() == {"count": 2}
    assert api.get("/search").json()["total"] == 0
    assert api.get("/company.team/a", params={"allowDeleted": "true"}).json()["revision"] == 2


def test_tenant_alias_api_v1_flows_maps_to_main_api_facts_2(api, emulator):
    api.create(flow_yaml())
    r = api.session.get(f"{emulator.url}/api/v1/flows/company.team/hello")
    assert r.status_code == 200 and r.json()["tenantId"] == "main"


def test_tenant_alias_gotcha_other_controller_wins_api_facts_2(api, emulator):
    r = api.session.get(f"{emulator.url}/api/v1/flows/kv")
    assert r.status_code == 400
    assert r.json()["message"] == "Bad Request: Tenant must be 'main' for OSS version"
