"""The Action's `run-tests` input end to end: its entry point runs the real CLI against the EE
emulator and posts to the loopback stand-in for GitHub's API. A passing run reports each test
case in the job summary and the pull-request comment; a failing one fails the step, keeps the
deploy, annotates the failed suite and gives the rollback command; a bad input is refused."""

from __future__ import annotations

import requests

from tests.support.github import FakeGitHub, action_env, run_action, step_outputs

NS = "company.team"
FLOW = (
    "id: orders\nnamespace: company.team\ntasks:\n"
    "  - id: load\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"
)
SUITE = (
    "id: orders-smoke\nnamespace: company.team\nflowId: orders\ntestCases:\n"
    "  - id: loads\n    type: io.kestra.core.tests.flow.UnitTest\n"
    "    assertions: [{taskId: load, value: 1, equalTo: 1}]\n"
)
GH_TOKEN = "ghs_flow_tests_token_1234"


def make_repo(tmp_path, message: str = "v1"):
    repo = tmp_path / "repo"
    folder = repo / "flows" / "company" / "team"
    (folder / "_tests").mkdir(parents=True, exist_ok=True)
    (repo / "kestra-sync.yml").write_text("directory: flows\nlayout: nested\n")
    (folder / "orders.yml").write_text(FLOW.format(message=message))
    (folder / "_tests" / "orders-smoke.yml").write_text(SUITE)
    return repo


def action(tmp_path, repo, github, server, **inputs):
    env = {
        **action_env(tmp_path, repo, github, number=9),
        "INPUT_SERVER": server,
        "INPUT_GITHUB_TOKEN": GH_TOKEN,
        "INPUT_SHOW_SERVER": "true",
    }
    code, log = run_action(env, command="apply", comment="true", **inputs)
    return code, log, step_outputs(tmp_path), (tmp_path / "summary.md").read_text()


def test_run_tests_reports_each_case_in_the_summary_and_the_comment(
    github, make_emulator, tmp_path, monkeypatch
):
    kestra = make_emulator(edition="ee")
    repo = make_repo(tmp_path)
    monkeypatch.chdir(repo)
    code, log, outputs, summary = action(tmp_path, repo, github, kestra.url, run_tests="true")
    assert code == 0, log
    assert (outputs["tests-passed"], outputs["tests-failed"]) == ("1", "0")
    assert "#### Flow tests" in summary and "**1 suite(s) passed, 0 failed.**" in summary
    assert "| ✅ | `company.team/orders-smoke` | `orders` | `loads` | SUCCESS |" in summary
    (comment,) = FakeGitHub.comments
    assert "| ✅ | `company.team/orders-smoke` | `orders` | `loads` | SUCCESS |" in comment["body"]


def test_a_failed_test_fails_the_step_and_says_how_to_roll_back(
    github, make_emulator, tmp_path, monkeypatch
):
    kestra = make_emulator(edition="ee")
    repo = make_repo(tmp_path)
    monkeypatch.chdir(repo)
    assert action(tmp_path, repo, github, kestra.url)[0] == 0  # deployed, tests not run
    requests.post(
        f"{kestra.url}/_emulator/test-outcomes",
        json={"namespace": NS, "id": "orders-smoke", "state": "FAILED", "message": "0 rows"},
        timeout=5,
    ).raise_for_status()
    make_repo(tmp_path, message="v2")
    code, log, outputs, summary = action(
        tmp_path, repo, github, kestra.url, run_tests="true", test_timeout="30"
    )
    assert code == 1
    assert (outputs["applied"], outputs["tests-failed"]) == ("1", "1")
    assert "::error title=kestra-sync apply --run-tests::flow test company.team/orders-smoke" in log
    assert "1 flow test suite(s) failed after the deploy, which was not undone" in summary
    assert "```sh\ngit checkout HEAD~1 && kestra-sync apply\n```" in summary
    assert (
        "| ❌ | `company.team/orders-smoke` | `orders` | `loads` |"
        in FakeGitHub.comments[-1]["body"]
    )
    flow = requests.get(
        f"{kestra.url}/api/v1/main/flows/{NS}/orders", params={"source": "true"}, timeout=5
    ).json()
    assert "message: v2" in flow["source"]  # the deploy stays


def test_test_timeout_without_run_tests_is_refused(github, make_emulator, tmp_path, monkeypatch):
    kestra = make_emulator(edition="ee")
    repo = make_repo(tmp_path)
    monkeypatch.chdir(repo)
    code, log, _, summary = action(tmp_path, repo, github, kestra.url, test_timeout="30")
    assert code != 0
    assert "input `test-timeout` needs `run-tests: true`" in log + summary
    assert requests.get(f"{kestra.url}/api/v1/main/flows/{NS}/orders", timeout=5).status_code == 404


def test_a_failed_suites_annotation_names_its_failed_cases_not_its_skipped_ones():
    from types import SimpleNamespace

    from kestra_sync.action.run import _report_tests
    from kestra_sync.applying.testrun import CaseResult, SuiteResult, TestRun

    cases = [CaseResult("broken", "FAILED", "0 rows"), CaseResult("off", "SKIPPED")]
    run = TestRun([SuiteResult("main", NS, "orders-smoke", "orders", "FAILED", cases)])
    ctx = SimpleNamespace(runner=SimpleNamespace(set_output=lambda *a: None), failure="")
    annotations: list = []
    _report_tests(ctx, run, annotations)  # type: ignore[arg-type]
    (note,) = annotations
    assert (
        note.message == "flow test company.team/orders-smoke (flow orders) FAILED: broken: 0 rows"
    )
