"""Oracle 1 for flow tests (Enterprise): the real CLI plans, applies with --run-tests, updates,
pulls and deletes a test suite against the EE emulator through the recording proxy, and a
run's result is read back by id; every request and every successful answer is validated
against Kestra's OpenAPI description of each release (tests/data/openapi/), as for the other
kinds (test_openapi_emulator.py, whose declared gaps apply here too)."""

from __future__ import annotations

import pytest
import requests

from kestra_sync.rules.knowledge import EMULATOR_PROFILES, TESTS_RUN_ANSWERS_ONE

from .openapi_oracle import check
from .recorder import RecordingProxy
from .scenario import flow, must, new_repo
from .tally import OPENAPI
from .test_openapi_emulator import DECLARED_GAPS

USER, PASSWORD = "admin@kestra.io", "Admin1234"
NS = "company.oracle"
SUITE = (
    "id: etl-smoke\nnamespace: company.oracle\nflowId: etl\ntestCases:\n"
    "  - id: logs\n    type: io.kestra.core.tests.flow.UnitTest\n"
    "    fixtures:\n      inputs: {day: '2026-01-01'}\n"
    "    assertions:\n      - taskId: log\n        value: '{{ outputs.log }}'\n"
    "        isNotNull: true\n"
)


@pytest.mark.parametrize("profile", EMULATOR_PROFILES)
def test_flow_test_exchanges_match_kestras_openapi(request, profile, make_emulator, tmp_path):
    emu = make_emulator(version=profile, edition="ee", users={USER: PASSWORD})
    with RecordingProxy(emu.url) as proxy:
        env = {"KESTRA_URL": proxy.url, "KESTRA_USERNAME": USER, "KESTRA_PASSWORD": PASSWORD}
        repo = new_repo(tmp_path / "repo", env)
        repo.write("etl.yml", NS, flow("etl", NS))
        repo.write("_tests/etl-smoke.yml", NS, SUITE)
        must(repo.run("apply", "--auto-approve", "--run-tests"), "apply --run-tests")
        repo.write("_tests/etl-smoke.yml", NS, SUITE.replace("isNotNull", "isNull: false\n#"))
        repo.write("etl.yml", NS, flow("etl", NS, message="v2"))
        must(repo.run("apply", "--auto-approve", "--run-tests"), "apply an update")
        pulled = new_repo(tmp_path / "pulled", env)
        must(pulled.run("pull", "--namespace", NS), "pull")
        run = requests.post(
            f"{proxy.url}/api/v1/main/tests/{NS}/etl-smoke/run",
            json={},
            auth=(USER, PASSWORD),
            timeout=10,
        ).json()
        if emu.config.has(TESTS_RUN_ANSWERS_ONE):  # a result is read back by id from 1.0
            requests.get(
                f"{proxy.url}/api/v1/main/tests/results/{run['id']}",
                auth=(USER, PASSWORD),
                timeout=10,
            ).raise_for_status()
        (repo.ns_dir(NS) / "_tests" / "etl-smoke.yml").unlink()
        must(
            repo.run("apply", "--auto-approve", "--delete", "--allow-empty-namespace"),
            "apply --delete",
        )
    tests = [e for e in proxy.exchanges if e.target.startswith("/api/v1/main/tests")]
    result = check(profile, tests, DECLARED_GAPS)
    record = (profile, result.requests, result.answers, len(result.gaps))
    request.node.user_properties.append((OPENAPI, record))
    assert not result.findings, "\n".join(str(f)[-900:] for f in result.findings)
    # search, create, run (x3), update, delete: each one checked at least once
    assert result.requests >= 8 and result.answers >= 8
    assert {e.method for e in tests} == {"GET", "POST", "PUT", "DELETE"}
