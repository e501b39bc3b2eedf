"""The emulator's flow-test endpoints: Enterprise only (OSS answers 404 as an OSS server does),
the TestSuite life cycle, run outcomes set through the control API, and the run's answer per
version (a list of one before 1.0, knowledge.TESTS_RUN_ANSWERS_ONE)."""

from __future__ import annotations

import pytest
import requests

YAML = {"Content-Type": "application/x-yaml"}
SUITE = (
    "id: smoke\nnamespace: company.team\nflowId: etl\ntestCases:\n"
    "  - id: a\n    type: io.kestra.core.tests.flow.UnitTest\n"
    "    assertions: [{taskId: t, value: 1, equalTo: 1, isNotNull: true}]\n"
    "  - id: b\n    type: io.kestra.core.tests.flow.UnitTest\n    disabled: true\n"
    "    assertions: []\n"
)


def suites_url(emu) -> str:
    return f"{emu.url}/api/v1/main/tests"


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", ""),
        ("GET", "/search"),
        ("GET", "/company.team/smoke"),
        ("PUT", "/company.team/smoke"),
        ("DELETE", "/company.team/smoke"),
        ("POST", "/company.team/smoke/run"),
    ],
)
def test_oss_has_no_tests_api(emulator, method, path):
    answer = requests.request(
        method, suites_url(emulator) + path, data=SUITE, headers=YAML, timeout=5
    )
    assert answer.status_code == 404


def test_a_suite_is_created_read_updated_listed_and_deleted(make_emulator):
    emu = make_emulator(edition="ee")
    url = suites_url(emu)
    created = requests.post(url, data=SUITE, headers=YAML, timeout=5)
    assert created.status_code == 200
    suite = created.json()
    assert (suite["id"], suite["flowId"], suite["source"]) == ("smoke", "etl", SUITE)
    # Properties are written as their expression (Property.PropertySerializer): text.
    assert suite["testCases"][0]["assertions"][0] == {
        "taskId": "t",
        "value": "1",
        "equalTo": "1",
        "isNotNull": "true",
    }
    assert "description" not in suite  # null fields are left out
    again = requests.post(url, data=SUITE, headers=YAML, timeout=5)
    assert again.status_code == 422
    changed = SUITE.replace("flowId: etl", "flowId: load")
    put = requests.put(f"{url}/company.team/smoke", data=changed, headers=YAML, timeout=5)
    assert put.status_code == 200 and put.json()["flowId"] == "load"
    listed = requests.get(
        f"{url}/search",
        params={"namespace": "company", "includeChildNamespaces": "false"},
        timeout=5,
    ).json()
    assert listed == {"results": [], "total": 0}
    listed = requests.get(f"{url}/search", params={"namespace": "company"}, timeout=5).json()
    assert [s["id"] for s in listed["results"]] == ["smoke"] and listed["total"] == 1
    assert requests.delete(f"{url}/company.team/smoke", timeout=5).status_code == 200
    assert requests.delete(f"{url}/company.team/smoke", timeout=5).status_code == 404
    assert requests.get(f"{url}/company.team/smoke", timeout=5).status_code == 404


def test_a_suite_missing_what_the_model_requires_is_refused(make_emulator):
    emu = make_emulator(edition="ee")
    answer = requests.post(suites_url(emu), data="id: x\nnamespace: a\n", headers=YAML, timeout=5)
    assert answer.status_code == 422
    paths = {e["path"] for e in answer.json()["_embedded"]["errors"]}
    assert paths == {"testSuite.flowId", "testSuite.testCases"}


def test_a_run_answers_the_outcomes_set_through_the_control_api(make_emulator):
    emu = make_emulator(edition="ee")
    requests.post(suites_url(emu), data=SUITE, headers=YAML, timeout=5).raise_for_status()
    run_url = f"{suites_url(emu)}/company.team/smoke/run"
    passed = requests.post(run_url, json={}, timeout=5).json()
    assert passed["state"] == "SUCCESS"
    assert [(c["testId"], c["state"]) for c in passed["results"]] == [
        ("a", "SUCCESS"),
        ("b", "SKIPPED"),
    ]
    control = f"{emu.url}/_emulator/test-outcomes"
    outcome = {"namespace": "company.team", "id": "smoke", "cases": {"a": "FAILED"}, "actual": 2}
    requests.post(control, json=outcome, timeout=5).raise_for_status()
    failed = requests.post(run_url, json={}, timeout=5).json()
    assert failed["state"] == "FAILED"
    check = failed["results"][0]["assertionResults"][0]
    assert (check["isSuccess"], check["actual"]) == (False, 2)
    read = requests.get(f"{suites_url(emu)}/results/{failed['id']}", timeout=5).json()
    assert read == failed
    bad = requests.post(control, json={**outcome, "state": "PASSED"}, timeout=5)
    assert bad.status_code == 400
    requests.post(f"{emu.url}/_emulator/reset", timeout=5).raise_for_status()
    assert requests.post(run_url, json={}, timeout=5).status_code == 404


def test_before_1_0_a_run_answers_a_list_and_no_result_is_read_by_id(make_emulator):
    emu = make_emulator(edition="ee", version="0.22")
    requests.post(suites_url(emu), data=SUITE, headers=YAML, timeout=5).raise_for_status()
    answer = requests.post(f"{suites_url(emu)}/company.team/smoke/run", json={}, timeout=5).json()
    assert isinstance(answer, list) and answer[0]["testSuiteId"] == "smoke"
    assert (
        requests.get(f"{suites_url(emu)}/results/{answer[0]['id']}", timeout=5).status_code == 404
    )
