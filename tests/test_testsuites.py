"""Flow tests (Kestra Enterprise), unit by unit: the offline checks of a suite, the write and
delete order against its flow, which suites `apply --run-tests` runs, how a run result is read
and reported, the bounded wait, the client's listing, and namespace_map."""

from __future__ import annotations

import threading

import pytest
import responses

from kestra_sync.applying.apply import DONE, FAILED, Outcome, delete_stage, write_order
from kestra_sync.applying.testrun import (
    NOT_RUN,
    TIMEOUT,
    CaseResult,
    SuiteResult,
    TestRun,
    read_result,
    rollback_command,
    run_suites,
    suites_to_run,
)
from kestra_sync.client import KestraClient
from kestra_sync.errors import NotFoundError, ServerError, UnexpectedResponseError
from kestra_sync.kinds.base import LocalScan
from kestra_sync.kinds.testsuites import (
    KIND,
    check_against_flows,
    digest,
    payload_of,
    rewrite_namespaces,
    suite_problem,
    task_ids,
)
from kestra_sync.models import FlowRef, LocalFlow
from kestra_sync.planning.plan import CREATE, DELETE, UNCHANGED, UPDATE, Change
from kestra_sync.report.applytext import render_tests
from kestra_sync.report.markdown import render_tests_markdown
from kestra_sync.source.environments import map_source

NS = "company.team"
SUITE = (
    "id: smoke\nnamespace: company.team\nflowId: etl\ntestCases:\n"
    "  - id: one\n    type: io.kestra.core.tests.flow.UnitTest\n"
    "    fixtures: {tasks: [{id: extract}], trigger: {id: nightly, type: x}}\n"
    "    assertions: [{taskId: load, value: 1, equalTo: 1}]\n"
)
FLOW = {
    "id": "etl",
    "namespace": NS,
    "tasks": [
        {"id": "extract", "type": "Log"},
        {"id": "branch", "type": "If", "then": [{"id": "load", "type": "Log"}]},
    ],
    "triggers": [{"id": "nightly", "type": "Schedule"}],
}


def flow_ref(fid: str = "etl") -> FlowRef:
    return FlowRef("main", NS, fid)


def suite_ref(sid: str = "smoke") -> FlowRef:
    return FlowRef("main", NS, sid, KIND)


def suite_change(action: str = CREATE, sid: str = "smoke", flow: str = "etl") -> Change:
    source = SUITE.replace("id: smoke", f"id: {sid}").replace("flowId: etl", f"flowId: {flow}")
    return Change(action, suite_ref(sid), payload=payload_of(source, flow), digest=digest(source))


def scan_of(source: str = SUITE) -> LocalScan:
    from kestra_sync.kinds.base import LocalItem

    item = LocalItem(suite_ref(), "flows/_tests/smoke.yml", payload_of(source, "etl"), None)
    return LocalScan([item], namespaces={("main", NS)})


# -- offline checks -------------------------------------------------------------------------


def test_task_ids_are_found_at_any_depth_and_triggers_apart():
    assert task_ids(FLOW) == ({"extract", "branch", "load"}, {"nightly"})


def test_a_suite_naming_git_flows_tasks_and_trigger_passes():
    flow = LocalFlow("flows/etl.yml", "", FLOW, NS, "etl")  # type: ignore[arg-type]
    assert check_against_flows(scan_of(), [flow]) == []


def test_each_unknown_name_is_one_error_naming_the_case():
    flow = LocalFlow("flows/etl.yml", "", FLOW, NS, "etl")  # type: ignore[arg-type]
    broken = SUITE.replace("id: extract", "id: extrakt").replace("id: nightly", "id: daily")
    found = [d.message for d in check_against_flows(scan_of(broken), [flow])]
    assert found == [
        "test case 'one': a task fixture names 'extrakt', which is not a task of flow "
        "company.team/etl",
        "test case 'one': the trigger fixture names 'daily', which is not a task of flow "
        "company.team/etl",
    ]


def test_a_suite_of_a_flow_of_another_namespace_is_refused():
    flow = LocalFlow("flows/etl.yml", "", FLOW, "company.other", "etl")  # type: ignore[arg-type]
    (problem,) = check_against_flows(scan_of(), [flow])
    assert problem.code == "test-unknown-flow" and "company.team/etl" in problem.message


def test_the_model_kestra_requires():
    assert suite_problem({"id": "a"}) == "a test suite needs namespace, flowId, testCases"
    base = {"id": "a", "namespace": NS, "flowId": "etl"}
    assert suite_problem({**base, "testCases": []}) == (
        "`testCases` must be a list of at least one test case"
    )
    case = {"id": "c", "type": "t", "assertions": []}
    assert suite_problem({**base, "testCases": [case, case]}) == "test case 'c' is written twice"
    assert "id '-a'" in (suite_problem({**base, "id": "-a", "testCases": [case]}) or "")
    assert suite_problem({**base, "testCases": [case]}) is None


# -- order of writes and deletes --------------------------------------------------------------


def test_a_suite_is_written_after_the_flow_it_tests_when_both_are_written():
    flow = Change(UPDATE, flow_ref(), source="id: etl\nnamespace: company.team\n")
    file = Change(UPDATE, FlowRef("main", NS, "/a.py", "file"))
    deps = write_order([flow, suite_change(), file])
    assert deps[suite_ref()] == {flow_ref(), file.ref}  # a later write phase than both
    assert suite_ref() not in deps[flow_ref()]  # unlike files and KV pairs, not before it


def test_a_suite_of_an_unchanged_flow_waits_for_nothing():
    assert write_order([suite_change()])[suite_ref()] == set()


def test_suites_are_deleted_before_every_flow_and_files_after():
    depths = {flow_ref(): 0}
    stages = [
        delete_stage(ref, depths)
        for ref in (suite_ref(), flow_ref(), FlowRef("main", NS, "/a.py", "file"))
    ]
    assert stages == sorted(stages) and len(set(stages)) == 3


# -- which suites run -----------------------------------------------------------------------


def outcomes(*pairs: tuple[Change, str]) -> dict:
    return {
        c.ref: Outcome(c, status, error="boom" if status != DONE else "") for c, status in pairs
    }


def test_runs_changed_suites_and_the_suites_of_changed_flows_only():
    flow = Change(UPDATE, flow_ref())
    of_changed_flow = suite_change(UNCHANGED, "a")
    of_other_flow = suite_change(UNCHANGED, "b", flow="report")
    changed = suite_change(UPDATE, "c", flow="report")
    changes = [flow, of_changed_flow, of_other_flow, changed]
    todo = suites_to_run(changes, outcomes((flow, DONE), (changed, DONE)))
    assert [c.ref.id for c in todo] == ["a", "c"]


def test_a_suite_not_deployed_or_whose_flow_failed_is_not_run():
    flow = Change(UPDATE, flow_ref())
    suite = suite_change(UNCHANGED, "a")
    failed_suite = suite_change(CREATE, "b", flow="report")
    found = suites_to_run(
        [flow, suite, failed_suite], outcomes((flow, FAILED), (failed_suite, FAILED))
    )
    assert [(r.id, r.state, r.error) for r in found] == [
        ("a", NOT_RUN, "not run: its flow company.team/etl was not deployed"),
        ("b", NOT_RUN, "not run: the suite was not deployed (boom)"),
    ]


def test_a_deleted_suite_is_not_run():
    assert suites_to_run([suite_change(DELETE)], {}) == []


# -- results ------------------------------------------------------------------------------


RESULT = {
    "id": "r1",
    "testSuiteId": "smoke",
    "namespace": NS,
    "flowId": "etl",
    "state": "FAILED",
    "results": [
        {
            "testId": "one",
            "state": "FAILED",
            "url": "http://k/ui/e/1",
            "errors": [],
            "assertionResults": [
                {"operator": "equalTo", "expected": 1, "actual": 2, "isSuccess": False},
                {"operator": "isNotNull", "expected": True, "actual": True, "isSuccess": True},
            ],
        },
        {"testId": "two", "state": "ERROR", "errors": [{"message": "no such task"}]},
        {"testId": "three", "state": "SKIPPED", "errors": [], "assertionResults": []},
    ],
}


def test_a_run_result_keeps_each_case_and_why_it_did_not_pass():
    result = read_result(suite_change(), RESULT)
    assert [(c.id, c.state, c.message) for c in result.cases] == [
        ("one", "FAILED", "equalTo expected 1, got 2"),
        ("two", "ERROR", "no such task"),
        ("three", "SKIPPED", ""),
    ]
    assert not result.passed


def test_a_suite_passes_only_when_every_case_did():
    ok = SuiteResult("main", NS, "s", "etl", "SUCCESS", [CaseResult("a", "SKIPPED")])
    lying = SuiteResult("main", NS, "s", "etl", "SUCCESS", [CaseResult("a", "FAILED")])
    assert ok.passed and not lying.passed


def test_the_json_form_reads_back():
    run = TestRun(
        [read_result(suite_change(), RESULT)], 60.0, "git checkout x~1 && kestra-sync apply"
    )
    again = TestRun.from_dict(run.to_dict())
    assert again == run and again.to_dict()["summary"] == {"passed": 0, "failed": 1}


def test_rollback_names_the_commit_before_this_one_and_the_same_options():
    assert rollback_command({"commit": "0123456789abcdef"}, ["flows", "--env", "prod"]) == (
        "git checkout 0123456789ab~1 && kestra-sync apply flows --env prod"
    )
    assert rollback_command(None, []) == "git checkout HEAD~1 && kestra-sync apply"


def test_the_rollback_command_quotes_what_a_shell_would_read_otherwise():
    """A directory named `my flows` or `$(id)` was printed as is in a command to paste."""
    assert rollback_command(None, ["my flows", "--env", "$(id)"]) == (
        "git checkout HEAD~1 && kestra-sync apply 'my flows' --env '$(id)'"
    )


# -- running, bounded ---------------------------------------------------------------------


class FakeRuns:
    def __init__(self, answers: dict):
        self.answers, self.release = answers, threading.Event()

    def run_test_suite(self, namespace: str, suite_id: str) -> dict:
        answer = self.answers[suite_id]
        if answer == "hang":
            self.release.wait(10)
            return {**RESULT, "state": "SUCCESS", "results": []}
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_run_suites_waits_no_longer_than_the_timeout_and_keeps_the_others():
    fake = FakeRuns(
        {
            "fast": {**RESULT, "state": "SUCCESS", "results": []},
            "slow": "hang",
            "gone": NotFoundError("404", status=404, method="POST", path="/run"),
            "broken": ServerError("500 boom", status=500, method="POST", path="/run"),
        }
    )
    todo = [suite_change(CREATE, s) for s in ("fast", "slow", "gone", "broken")]
    try:
        found = run_suites(todo, lambda tenant: fake, timeout=0.5, parallelism=4)
    finally:
        fake.release.set()
    by_id = {r.id: r for r in found}
    assert [r.id for r in found] == ["fast", "slow", "gone", "broken"]
    assert by_id["fast"].passed
    assert by_id["slow"].state == TIMEOUT and "no result within 0.5 s" in by_id["slow"].error
    assert "answered 404" in by_id["gone"].error and "Enterprise" in by_id["gone"].error
    assert by_id["broken"].error == "the run could not be started: 500 boom"


# -- reports ------------------------------------------------------------------------------


def failed_run() -> TestRun:
    suite = read_result(suite_change(), RESULT)
    suite.namespace = "company.`team`|x"
    return TestRun([suite], 60, "git checkout abc~1 && kestra-sync apply")


def test_text_report_lists_cases_and_the_rollback():
    lines = render_tests(failed_run())
    assert lines[0] == "Tests: 0 suite(s) passed, 1 failed."
    assert any("FAILED   one: equalTo expected 1, got 2 (http://k/ui/e/1)" in ln for ln in lines)
    assert lines[-1].endswith("git checkout abc~1 && kestra-sync apply")


def test_markdown_report_escapes_names_and_fences_the_rollback():
    text = "\n".join(render_tests_markdown(failed_run()))
    assert "**0 suite(s) passed, 1 failed.**" in text
    assert "| ❌ |" in text and "`company.`team`|x" not in text
    assert "```sh\ngit checkout abc~1 && kestra-sync apply\n```" in text


# -- client ---------------------------------------------------------------------------------


@responses.activate
def test_a_listing_without_source_is_completed_one_suite_at_a_time():
    base = "http://k/api/v1/main/tests"
    responses.get(
        f"{base}/search",
        json={
            "results": [
                {"id": "a", "namespace": NS, "flowId": "etl", "source": "id: a\n"},
                {"id": "b", "namespace": NS, "flowId": "etl"},
                {"id": "c", "namespace": NS + ".child", "flowId": "x", "source": "id: c\n"},
            ],
            "total": 3,
        },
    )
    responses.get(
        f"{base}/{NS}/b", json={"id": "b", "namespace": NS, "flowId": "etl", "source": "id: b\n"}
    )
    suites = KestraClient("http://k", retries=0).list_test_suites(NS)
    assert [(s["id"], s["source"]) for s in suites] == [("a", "id: a\n"), ("b", "id: b\n")]
    assert "includeChildNamespaces=false" in responses.calls[0].request.url


@responses.activate
def test_a_run_result_whose_cases_are_not_a_list_is_not_read_as_a_pass():
    """`results: "x"` was iterated character by character: no case, and the suite's SUCCESS
    passed it."""
    url = f"http://k/api/v1/main/tests/{NS}/smoke/run"
    responses.post(url, json={"state": "SUCCESS", "results": "not a list"})
    with pytest.raises(UnexpectedResponseError, match="expected a TestSuiteRunResult"):
        KestraClient("http://k", retries=0).run_test_suite(NS, "smoke")


# -- environments ---------------------------------------------------------------------------


def test_namespace_map_moves_the_suites_source_with_it():
    scan = scan_of()
    assert rewrite_namespaces(scan, {"company": "staging.company"}, map_source) == []
    (item,) = scan.items
    assert "namespace: staging.company.team\n" in item.payload["source"]
    assert item.digest == digest(item.payload["source"])


# -- a server without the API (OSS) -----------------------------------------------------------


def test_a_server_without_the_tests_api_is_an_error_only_where_git_has_suites():
    from kestra_sync.kinds.base import KindListing
    from kestra_sync.kinds.testsuites import TestSuites
    from kestra_sync.planning.resourceplan import compare_kind

    def listing(namespace: str) -> KindListing:
        return KindListing(KIND, "main", namespace, unsupported="flow tests need Kestra Enterprise")

    scan = scan_of()
    scan.namespaces.add(("main", "company.retired"))  # a namespace leaving git: nothing to read
    changes, errors = compare_kind(
        TestSuites(), scan, [listing(NS), listing("company.retired")], delete=True
    )
    assert changes == []
    assert errors == [
        "could not read the test suites of namespace company.team: flow tests need Kestra "
        "Enterprise; none of them will be created, updated or deleted"
    ]


def test_a_suite_edited_on_the_server_is_drift_written_back_byte_for_byte():
    # pull --branch: a suite's file holds the suite alone, so the server's YAML goes back to
    # git as it is (it used to be reported as "a KV value changed", never written).
    from kestra_sync.planning.plan import Plan
    from kestra_sync.pull.drift import drift_of

    ref = FlowRef("main", "company.team", "smoke", "test")
    ours = {"source": "id: smoke\n# git\n", "flowId": "etl"}
    theirs = {"source": "id: smoke\n# edited in the UI\n", "flowId": "etl"}
    change = Change(
        UPDATE,
        ref,
        path="flows/company/team/_tests/smoke.yml",
        payload=ours,
        server_payload=theirs,
    )
    (item,) = drift_of(Plan(changes=[change])).items
    assert item.content == b"id: smoke\n# edited in the UI\n" and item.note == ""
    assert "-# git\n+# edited in the UI\n" in item.diff


def test_a_changed_suite_is_described_with_a_diff_labelled_like_every_kind():
    # The diff of a suite names the server's suite and git's file, as the other kinds' diffs
    # do (it said only "server" and "git"), and a suite too large to diff is summarised.
    from kestra_sync.kinds.base import DIFF_LIMIT, LocalItem, RemoteItem
    from kestra_sync.kinds.testsuites import TestSuites

    old, new = "id: smoke\n# one\n", "id: smoke\n# two\n"
    local = LocalItem(suite_ref(), "flows/_tests/smoke.yml", payload_of(new, "etl"), None)
    remote = RemoteItem(suite_ref(), payload_of(old, "etl"), "sha256:x")
    described = TestSuites().describe(local, remote)
    assert described.summary == ["tests flow etl"]
    assert described.diff.splitlines()[:2] == [
        f"--- server {suite_ref().namespace} test suite {suite_ref().id}",
        "+++ flows/_tests/smoke.yml",
    ]
    assert "-# one" in described.diff and "+# two" in described.diff
    huge = LocalItem(suite_ref(), local.path, payload_of("x" * DIFF_LIMIT, "etl"), None)
    assert TestSuites().describe(huge, remote).summary == [
        "tests flow etl",
        "source changed (too large to show a diff)",
    ]
