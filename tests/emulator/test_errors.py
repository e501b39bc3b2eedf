"""Error answers: the 422 envelope and its exact texts, 404s, 415, tenant and auth rules.

Citations: docs/kestra-api.md; Kestra's ErrorController, YamlParser,
KestraConstraintViolationException, PluginDeserializer, AuthenticationFilter,
TenantValidationFilter (erickirt/kestra 8ecd8337).
"""

from __future__ import annotations

import requests

from .conftest import YAML, Api, flow_yaml


def test_create_existing_id_returns_422_envelope_api_facts_4_1(api):
    api.create(flow_yaml())
    r = api.create(flow_yaml())
    assert r.status_code == 422
    assert r.reason == "Invalid entity"
    assert r.json() == {
        "message": "Invalid entity: flow.id: Flow id already exists",
        "_links": {"self": {"href": "/api/v1/main/flows", "templated": False}},
        "_embedded": {"errors": [{"message": "Flow id already exists", "path": "flow.id"}]},
    }


def test_validation_error_wins_over_existence_check_api_facts_4_1(api):
    api.create(flow_yaml())
    r = api.create("id: hello\nnamespace: company.team\ntasks: []\n")
    assert r.status_code == 422
    assert r.json()["message"] == "Invalid entity: tasks: must not be empty\n"


def test_recreate_after_delete_succeeds_api_facts_4_1(api):
    api.create(flow_yaml())
    api.delete("company.team", "hello")
    assert api.create(flow_yaml()).status_code == 200


def test_multi_violation_message_one_line_each_api_facts_5(api):
    r = api.create("id: -bad\nnamespace: Company\ntasks: []\n")
    assert r.status_code == 422
    assert r.json()["message"] == (
        'Invalid entity: id: must match "^[a-zA-Z0-9][a-zA-Z0-9._-]*"\n'
        'namespace: must match "^[a-z0-9][a-z0-9._-]*"\n'
        "tasks: must not be empty\n"
    )
    assert [e["path"] for e in r.json()["_embedded"]["errors"]] == ["id", "namespace", "tasks"]


def test_missing_id_is_must_not_be_null_and_blank_api_facts_6(api):
    r = api.create("namespace: company.team\ntasks:\n  - id: a\n    type: x.Y\n")
    assert r.json()["message"] == "Invalid entity: id: must not be null\nid: must not be blank\n"


def test_id_longer_than_100_is_size_violation_api_facts_6(api):
    r = api.create(flow_yaml("a" * 101))
    assert r.json()["message"] == "Invalid entity: id: size must be between 1 and 100\n"


def test_namespace_longer_than_150_is_size_violation_api_facts_6(api):
    r = api.create(flow_yaml("a", "n" * 151))
    assert r.json()["message"] == "Invalid entity: namespace: size must be between 1 and 150\n"


def test_task_without_type_is_invalid_type_null_kestra_plugindeserializer(api):
    r = api.create("id: a\nnamespace: company.team\ntasks:\n  - id: t1\n")
    assert r.status_code == 422
    body = r.json()
    assert body["message"] == "Invalid entity: Invalid type: <null>"
    paths = {e["path"] for e in body["_embedded"]["errors"]}
    assert paths == {'io.kestra.core.models.flows.FlowWithSource["tasks"]->java.util.ArrayList[0]'}
    assert body["_embedded"]["errors"][0]["message"] == "Invalid type: <null>"


def test_task_without_id_is_must_not_be_null_kestra_taskinterface(api):
    r = api.create(
        "id: a\nnamespace: company.team\ntasks:\n  - type: io.kestra.plugin.core.log.Log\n"
    )
    assert (
        r.json()["message"]
        == "Invalid entity: tasks[0].id: must not be null\ntasks[0].id: must not be blank\n"
    )


def test_bad_task_id_line_uses_task_id_but_path_keeps_index_kestra_constraint_exception(api):
    r = api.create("id: a\nnamespace: company.team\ntasks:\n  - id: my.task\n    type: x.Y\n")
    body = r.json()
    assert (
        body["message"] == 'Invalid entity: my.task.id: must match "^[a-zA-Z0-9][a-zA-Z0-9_-]*"\n'
    )
    assert body["_embedded"]["errors"][0]["path"] == "tasks[0].id"


def test_duplicate_task_ids_is_class_level_violation_kestra_flowvalidator(api):
    r = api.create(
        "id: a\nnamespace: company.team\ntasks:\n  - id: t\n    type: x.Y\n  - id: t\n    type: x.Y\n"
    )
    assert (
        r.json()["message"] == "Invalid entity: : Invalid Flow: Duplicate task id with name [t]\n"
    )


def test_unknown_task_type_is_accepted_known_gap(api):
    assert (
        api.create(
            "id: a\nnamespace: n\ntasks:\n  - id: t\n    type: io.kestra.invalid\n"
        ).status_code
        == 200
    )


def test_unknown_property_is_unrecognized_field_errorcontrollertest(api):
    r = api.create(flow_yaml(extra="unknown: properties\n"))
    body = r.json()
    assert body["message"].startswith(
        'Invalid entity: Unrecognized field "unknown" (class io.kestra.core.models.flows.FlowWithSource), not marked as ignorable'
    )
    assert (
        body["_embedded"]["errors"][0]["path"]
        == 'io.kestra.core.models.flows.FlowWithSource["unknown"]'
    )


def test_yaml_syntax_error_is_illegal_genericflow_source_api_facts_5(api):
    r = api.create("id: a\n  namespace: b\n")
    assert r.status_code == 422 and r.reason == "Invalid entity"
    body = r.json()
    assert body["message"].startswith(
        "Invalid entity: Illegal genericflow source: YAML parsing error: "
    )
    assert body["message"].endswith("(at line 2)")
    assert body["_embedded"]["errors"][0]["path"] == "yaml"


def test_non_mapping_body_is_illegal_genericflow_source_api_facts_5(api):
    for src in ("- a\n- b\n", "hello\n", "42\n"):
        r = api.create(src)
        assert r.status_code == 422
        assert r.json()["message"].startswith(
            "Invalid entity: Illegal genericflow source: YAML parsing error: "
        )
        assert "io.kestra.core.models.flows.GenericFlow" in r.json()["message"]


def test_duplicate_yaml_key_is_rejected_strict_duplicate_detection_api_facts_5(api):
    r = api.create("id: a\nid: b\nnamespace: n\ntasks:\n  - id: t\n    type: x.Y\n")
    assert "YAML parsing error: Duplicate field 'id'" in r.json()["message"]


def test_blank_body_is_no_content_to_map_kestra_genericflow_fromyaml(api):
    # GenericFlow.fromYaml parses before FlowService.create's blank check (KNOWN_GAPS)
    r = api.create("   \n")
    assert r.status_code == 422
    assert r.json()["message"].startswith(
        "Invalid entity: Illegal genericflow source: YAML parsing error: No content to map due to end-of-input"
    )


def test_empty_body_is_required_body_422_inferred(api):
    r = api.create("")
    assert r.status_code == 422
    assert r.json()["message"] == "Invalid route params: Required Body [flow] not specified"


def test_wrong_content_type_is_415_api_facts_5(api):
    r = api.session.post(api.base, data=flow_yaml(), headers={"Content-Type": "application/json"})
    assert r.status_code == 415
    r = api.session.post(
        api.base, data=flow_yaml(), headers={"Content-Type": "application/x-yaml; charset=utf-8"}
    )
    assert r.status_code == 200


def test_put_missing_flow_is_404_before_parsing_api_facts_4_2(api):
    r = api.update("company.team", "nope", "not: [valid")
    assert r.status_code == 404
    assert r.json()["message"] == "Not Found"


def test_put_deleted_flow_is_404_api_facts_4_2(api):
    api.create(flow_yaml())
    api.delete("company.team", "hello")
    assert api.update("company.team", "hello", flow_yaml()).status_code == 404


def test_put_id_or_namespace_mismatch_is_422_illegal_update_api_facts_4_2(api):
    api.create(flow_yaml())
    r = api.update("company.team", "hello", flow_yaml("other"))
    assert r.status_code == 422
    assert r.json()["message"] == "Invalid entity: flow.id: Illegal flow id update"
    r = api.update("company.team", "hello", flow_yaml("hello", "company.other"))
    assert r.json()["message"] == "Invalid entity: flow.namespace: Illegal namespace update"
    r = api.update("company.team", "hello", flow_yaml("x", "company.other"))
    assert r.json()["message"] == (
        "Invalid entity: flow.id: Illegal flow id update, flow.namespace: Illegal namespace update"
    )


def test_get_missing_flow_is_404_json_error(api):
    r = api.get("/company.team/nope")
    assert r.status_code == 404
    assert r.json() == {
        "message": "Not Found",
        "_links": {"self": {"href": "/api/v1/main/flows/company.team/nope", "templated": False}},
    }


def test_oss_other_tenant_is_400_api_facts_2(emulator):
    r = requests.get(f"{emulator.url}/api/v1/acme/flows/search")
    assert r.status_code == 400
    assert r.json()["message"] == "Bad Request: Tenant must be 'main' for OSS version"


def test_oss_basic_auth_401_has_empty_body_and_www_authenticate_api_facts_2(make_emulator):
    emu = make_emulator(users={"admin@kestra.io": "Admin1234"})
    url = f"{emu.url}/api/v1/main/flows/search"
    r = requests.get(url)
    assert r.status_code == 401 and r.content == b""
    assert r.headers["WWW-Authenticate"] == "Basic"
    assert requests.get(url, auth=("admin@kestra.io", "wrong")).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer abc"}).status_code == 401
    assert requests.get(url, auth=("admin@kestra.io", "Admin1234")).status_code == 200
    r = requests.get(url, headers={"Referer": "http://x/ui/login"})
    assert r.status_code == 401 and "WWW-Authenticate" not in r.headers


def test_ee_accepts_any_valid_tenant_bearer_and_basic_with_per_tenant_state(make_emulator):
    emu = make_emulator(edition="ee", users={"root@root.com": "Root!1234"}, tokens=["tok"])
    acme = Api(emu, "acme")
    acme.session.headers["Authorization"] = "Bearer tok"
    other = Api(emu, "other", auth=("root@root.com", "Root!1234"))
    try:
        assert acme.create(flow_yaml()).json()["tenantId"] == "acme"
        assert other.get("/company.team/hello").status_code == 404
        assert other.create(flow_yaml()).json()["revision"] == 1
        assert (
            requests.get(
                f"{emu.url}/api/v1/acme/flows/search", headers={"Authorization": "Bearer bad"}
            ).status_code
            == 401
        )
    finally:
        acme.close()
        other.close()


def test_unknown_route_is_404(api, emulator):
    assert requests.get(f"{emulator.url}/api/v1/main/flows/a/b/c/d").status_code == 404
    r = requests.patch(f"{emulator.url}/api/v1/main/flows/a/b", data="x", headers=YAML)
    assert r.status_code == 405


def test_duplicate_task_and_trigger_ids_join_in_one_flowvalidator_message(api):
    r = api.create(
        "id: a\nnamespace: n\ntasks:\n  - id: t\n    type: x.Y\n  - id: t\n    type: x.Y\n"
        "triggers:\n  - id: s\n    type: x.S\n  - id: s\n    type: x.S\n"
    )
    assert r.json()["message"] == (
        "Invalid entity: : Invalid Flow: Duplicate task id with name [t], Duplicate trigger id with name [s]\n"
    )
    assert r.json()["_embedded"]["errors"][0]["path"] == ""


def test_task_in_a_flowable_child_list_without_type_is_invalid_type(api):
    r = api.create(
        "id: a\nnamespace: n\ntasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n      - id: c\n"
    )
    assert r.json()["message"] == "Invalid entity: Invalid type: <null>"
