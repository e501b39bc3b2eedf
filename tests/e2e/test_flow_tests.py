"""Flow tests (Kestra Enterprise) end to end: the real CLI in a child process against the EE
emulator over real HTTP. Suites in `_tests/` are validated against git's flows, planned,
written after their flow and deleted before it, pulled back, targeted; `apply --run-tests`
runs the suites of what changed and reports each case (text, JSON), fails without undoing the
deploy, stops waiting at --test-timeout; an OSS server (404) is a clear error."""

from __future__ import annotations

import json

import jsonschema
import pytest
import requests

from tests.e2e.test_plan import SCHEMA
from tests.support.project import Project, client, line_with

NS = "company.team"
FLOW = (
    "id: orders\nnamespace: company.team\ntasks:\n"
    "  - id: extract\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    "  - id: load\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
)
SUITE = (
    "id: orders-smoke\nnamespace: company.team\nflowId: orders\n"
    "testCases:\n"
    "  - id: loads_one_row\n    type: io.kestra.core.tests.flow.UnitTest\n"
    "    fixtures:\n      tasks:\n        - id: extract\n"
    "    assertions:\n      - taskId: load\n        value: '{{ outputs.load }}'\n"
    "        isNotNull: true\n"
    "  - id: skipped_case\n    type: io.kestra.core.tests.flow.UnitTest\n"
    "    disabled: true\n    assertions: []\n"
)


def ns_dir(p: Project):
    return p.root / "flows" / NS.replace(".", "/")


def write_flow(p: Project, source: str = FLOW) -> None:
    ns_dir(p).mkdir(parents=True, exist_ok=True)
    (ns_dir(p) / "orders.yml").write_text(source, encoding="utf-8")


def write_suite(p: Project, source: str = SUITE, name: str = "orders-smoke.yml"):
    folder = ns_dir(p) / "_tests"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


def set_outcome(emu, **outcome) -> None:
    body = {"namespace": NS, "id": "orders-smoke", **outcome}
    requests.post(f"{emu.url}/_emulator/test-outcomes", json=body, timeout=5).raise_for_status()


def server_suites(emu) -> dict[str, str]:
    with client(emu) as c:
        return {s["id"]: s["source"] for s in c.list_test_suites(NS)}


@pytest.fixture
def ee(make_emulator):
    return make_emulator(edition="ee")


@pytest.fixture
def project(tmp_path, ee) -> Project:
    p = Project(tmp_path, ee)
    p.config("directory: flows\nlayout: nested\n")
    write_flow(p)
    write_suite(p)
    return p


def applied(p: Project, *args: str):
    done = p.run("apply", "--auto-approve", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_a_suite_is_planned_written_after_its_flow_and_converges(project):
    plan = project.plan()
    assert plan.returncode == 0, plan.stderr
    line_with(plan.stdout, "+ test orders-smoke", "create", "_tests/orders-smoke.yml")
    done = applied(project)
    # Written in parallel (--parallelism 4), yet the suite waits for its flow.
    lines = done.stdout.splitlines()
    flow_at = lines.index(line_with(done.stdout, "create company.team/orders: created"))
    suite_at = lines.index(line_with(done.stdout, "create company.team test orders-smoke"))
    assert flow_at < suite_at
    assert server_suites(project.emu) == {"orders-smoke": SUITE}
    again = project.plan("--detailed-exitcode")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout


def test_an_edited_suite_is_an_update_with_its_diff(project):
    applied(project)
    write_suite(project, SUITE.replace("isNotNull: true", "isNull: false"))
    plan = project.plan("--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    line_with(plan.stdout, "~ test orders-smoke", "update")
    assert "-        isNotNull: true" in plan.stdout and "+        isNull: false" in plan.stdout
    applied(project)
    assert "isNull: false" in server_suites(project.emu)["orders-smoke"]


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            ("flowId: orders", "flowId: ordres"),
            "tests flow company.team/ordres, which is not a flow",
        ),
        (("taskId: load", "taskId: lod"), "an assertion names 'lod', which is not a task"),
        (("- id: extract", "- id: extrct"), "a task fixture names 'extrct', which is not a task"),
        (("testCases:", "cases:"), "a test suite needs testCases"),
    ],
)
def test_offline_validation_names_the_file_and_what_is_wrong(project, edit, message):
    path = write_suite(project, SUITE.replace(*edit))
    done = project.run("validate")
    assert done.returncode == 1
    line_with(done.stdout + done.stderr, str(path.relative_to(project.root)), message)
    plan = project.plan()
    assert plan.returncode == 1 and "nothing was sent to the server" in plan.stderr
    assert server_suites(project.emu) == {}


def test_a_suite_in_another_namespaces_folder_is_refused(project):
    path = write_suite(project, SUITE.replace("namespace: company.team", "namespace: company"))
    done = project.run("validate")
    assert done.returncode == 1
    line_with(done.stdout, str(path.relative_to(project.root)), "differs from its folder's")


def test_run_tests_passes_and_reports_every_case(project):
    done = applied(project, "--run-tests")
    line_with(done.stdout, "Tests: 1 suite(s) passed, 0 failed.")
    line_with(done.stdout, "PASS company.team/orders-smoke (flow orders): SUCCESS")
    line_with(done.stdout, "SUCCESS", "loads_one_row")
    line_with(done.stdout, "SKIPPED", "skipped_case")  # disabled: Kestra skips it


def test_a_failed_test_fails_the_step_keeps_the_deploy_and_names_the_rollback(project):
    applied(project)
    set_outcome(
        project.emu,
        cases={"loads_one_row": "FAILED"},
        taskId="load",
        expected=1,
        actual=0,
        message="row count",
    )
    write_flow(project, FLOW.replace("message: hi", "message: v2"))
    done = project.run("apply", "--auto-approve", "--run-tests", "--format", "json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["apply"]["summary"] == {"done": 1, "failed": 0, "not_attempted": 0}
    tests = data["apply"]["tests"]
    assert tests["ok"] is False and tests["summary"] == {"passed": 0, "failed": 1}
    suite = tests["suites"][0]
    assert (suite["id"], suite["flow_id"], suite["state"]) == ("orders-smoke", "orders", "FAILED")
    case = {c["id"]: c for c in suite["cases"]}["loads_one_row"]
    assert case["state"] == "FAILED"
    assert case["message"] == "task load: equalTo expected 1, got 0 (row count)"
    assert tests["rollback"].endswith("&& kestra-sync apply")
    assert tests["rollback"].startswith("git checkout ")
    # The deploy stays: the server holds the new revision.
    with client(project.emu) as c:
        assert "message: v2" in (c.get_flow(NS, "orders").source or "")


def test_the_failure_text_says_the_deploy_stays_and_how_to_roll_back(project):
    applied(project)
    set_outcome(project.emu, state="ERROR", message="the execution failed: boom")
    write_flow(project, FLOW.replace("message: hi", "message: v3"))
    done = project.run("apply", "--auto-approve", "--run-tests")
    assert done.returncode == 1
    line_with(done.stdout, "Apply: 1 done, 0 failed")
    line_with(done.stdout, "FAIL company.team/orders-smoke (flow orders): ERROR")
    line_with(done.stdout, "ERROR", "loads_one_row: the execution failed: boom")
    line_with(done.stdout, "does not undo the deploy")
    line_with(done.stdout, "To roll back", "git checkout HEAD~1 && kestra-sync apply")


def test_only_the_suites_of_what_changed_run(project):
    applied(project)
    other = SUITE.replace("id: orders-smoke", "id: other-flow-suite").replace(
        "flowId: orders", "flowId: report"
    )
    write_suite(project, other, "other-flow-suite.yml")
    (ns_dir(project) / "report.yml").write_text(FLOW.replace("id: orders", "id: report"))
    applied(project)
    write_flow(project, FLOW.replace("message: hi", "message: v4"))
    done = applied(project, "--run-tests")
    line_with(done.stdout, "Tests: 1 suite(s) passed")
    assert "orders-smoke" in done.stdout and "other-flow-suite" not in done.stdout
    nothing = applied(project, "--run-tests")
    line_with(nothing.stdout, "Tests: none to run")


def test_a_suite_with_no_result_in_time_times_out(project):
    applied(project)
    set_outcome(project.emu, delay=3)
    write_flow(project, FLOW.replace("message: hi", "message: slow"))
    done = project.run("apply", "--auto-approve", "--run-tests", "--test-timeout", "1")
    assert done.returncode == 1
    line_with(done.stdout, "FAIL company.team/orders-smoke", "TIMEOUT", "no result within 1 s")


def test_a_suite_whose_flow_failed_is_not_run(project):
    applied(project)
    project.emu.faults.add(method="PUT", path=r"/flows/company\.team/orders$", status=500, count=5)
    write_flow(project, FLOW.replace("message: hi", "message: broken"))
    done = project.run("apply", "--auto-approve", "--run-tests", "--format", "json")
    assert done.returncode == 1
    suite = json.loads(done.stdout)["apply"]["tests"]["suites"][0]
    assert suite["state"] == "NOT_RUN"
    assert suite["error"] == "not run: its flow company.team/orders was not deployed"


def test_deleting_a_flow_and_its_suite_deletes_the_suite_first(project):
    applied(project)
    (ns_dir(project) / "_tests" / "orders-smoke.yml").unlink()
    (ns_dir(project) / "orders.yml").unlink()
    (ns_dir(project) / "keep.yml").write_text(FLOW.replace("id: orders", "id: keep"))
    # The suite was the namespace's last: deleting it empties its kind there.
    done = applied(project, "--delete", "--allow-empty-namespace")
    lines = done.stdout.splitlines()
    suite_at = lines.index(line_with(done.stdout, "delete company.team test orders-smoke"))
    flow_at = lines.index(line_with(done.stdout, "delete company.team/orders: deleted"))
    assert suite_at < flow_at
    assert server_suites(project.emu) == {}


def test_target_names_one_suite(project):
    applied(project)
    write_suite(project, SUITE.replace("isNotNull: true", "isNull: false"))
    write_flow(project, FLOW.replace("message: hi", "message: untargeted"))
    plan = project.plan("--target", "test:company.team/orders-smoke")
    assert plan.returncode == 0, plan.stderr
    line_with(plan.stdout, "~ test orders-smoke", "update")
    assert not any(line.strip().startswith("~ orders ") for line in plan.stdout.splitlines())
    typo = project.plan("--target", "test:company.team/orders-smok")
    assert typo.returncode == 1
    line_with(typo.stdout + typo.stderr, "matches no test suite", "check the namespace and id")


def test_a_saved_plan_applies_the_suite(project, tmp_path):
    saved = tmp_path / "plan.json"
    done = project.plan("--out", str(saved))
    assert done.returncode == 0, done.stderr
    applied_plan = project.run("apply", str(saved), "--run-tests")
    assert applied_plan.returncode == 0, applied_plan.stdout + applied_plan.stderr
    line_with(applied_plan.stdout, "PASS company.team/orders-smoke")
    assert server_suites(project.emu) == {"orders-smoke": SUITE}


def test_pull_writes_the_suite_back_byte_for_byte(project, tmp_path):
    applied(project)
    (tmp_path / "pulled").mkdir()
    pulled = Project(tmp_path / "pulled", project.emu)
    pulled.config("directory: flows\nlayout: nested\n")
    done = pulled.run("pull", "--namespace", NS)
    assert done.returncode == 0, done.stderr
    path = pulled.root / "flows/company/team/_tests/orders-smoke.yml"
    assert path.read_text(encoding="utf-8") == SUITE
    plan = pulled.plan("--detailed-exitcode")
    assert plan.returncode == 0 and "No changes" in plan.stdout, plan.stdout + plan.stderr


def test_an_oss_server_answers_404_and_the_plan_says_flow_tests_need_enterprise(tmp_path, emulator):
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    write_flow(p)
    write_suite(p)
    plan = p.plan()
    assert plan.returncode == 1
    line_with(
        plan.stdout + plan.stderr,
        "could not read the test suites of namespace company.team",
        "flow tests need Kestra Enterprise",
        "answered 404",
    )
    done = p.run("apply", "--auto-approve", "--run-tests")
    assert done.returncode == 1
    assert client(emulator).list_namespace(NS) == []  # nothing was written


def test_validate_given_a_suite_checks_it_as_a_suite_against_every_flow(project):
    """pre-commit passes the changed files only: a suite among them is a suite, not a flow,
    and is still checked against the flows of the whole tree."""
    path = write_suite(project)
    given = str(path.relative_to(project.root))
    done = project.run("validate", given)
    assert done.returncode == 0, done.stdout
    write_suite(project, SUITE.replace("taskId: load", "taskId: lod"))
    done = project.run("validate", given)
    assert done.returncode == 1
    assert "missing-tasks" not in done.stdout and "unknown top-level key" not in done.stdout
    line_with(done.stdout, given, "an assertion names 'lod'", "[test-unknown-task]")


def test_init_does_not_take_a_suite_for_a_yaml_file_that_is_not_a_flow(project):
    (project.root / "kestra-sync.yml").unlink()
    done = project.run("init")
    assert done.returncode == 0, done.stderr
    assert not (project.root / "flows" / ".kestraignore").exists()
    assert "layout: nested" in (project.root / "kestra-sync.yml").read_text()


def test_retiring_a_namespace_on_oss_is_not_stopped_by_the_missing_tests_api(tmp_path, emulator):
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    write_flow(p)
    with client(emulator) as c:
        c.create_flow(FLOW.replace("company.team", "company.old"))
    done = p.plan("--delete", "--namespace", "company.old", "--allow-empty-namespace")
    assert done.returncode == 0, done.stdout + done.stderr
    line_with(done.stdout, "- orders", "delete")


def test_pull_without_the_test_permission_still_pulls_the_flows(project, tmp_path):
    applied(project)
    project.emu.faults.add(method="GET", path=r"/tests/search", status=403, count=5)
    (tmp_path / "pulled").mkdir()
    pulled = Project(tmp_path / "pulled", project.emu)
    pulled.config("directory: flows\nlayout: nested\n")
    done = pulled.run("pull", "--namespace", NS)
    assert done.returncode == 0, done.stderr
    line_with(done.stderr, "not pulled company.team test suites", "403")
    assert (pulled.root / "flows/company/team/orders.yml").read_text(encoding="utf-8") == FLOW
    assert not (pulled.root / "flows/company/team/_tests").exists()


@pytest.mark.parametrize("target", ["company.team/orders", "company.team/*"])
def test_a_targeted_flow_runs_its_unchanged_suite(project, target):
    """--target narrows what is deployed, not what is tested: the suite of the flow it
    deploys runs (it said 'this apply changed no flow with a test suite')."""
    applied(project)
    write_flow(project, FLOW.replace("message: hi", "message: targeted"))
    (ns_dir(project) / "report.yml").write_text(FLOW.replace("id: orders", "id: report"))
    done = applied(project, "--target", target, "--run-tests")
    line_with(done.stdout, "PASS company.team/orders-smoke (flow orders): SUCCESS")
    line_with(done.stdout, "Tests: 1 suite(s) passed, 0 failed.")
    untouched = applied(project, "--target", "company.team/report", "--run-tests")
    line_with(untouched.stdout, "Tests: none to run")


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "86401"])
def test_a_test_timeout_that_is_not_a_bounded_number_is_refused_before_any_write(project, value):
    """`inf` waited for ever (and broke the run with 'timestamp out of range'); `nan` passed
    click's range check and timed every suite out at once, after the deploy."""
    done = project.run("apply", "--auto-approve", "--run-tests", "--test-timeout", value)
    assert done.returncode == 2
    line_with(done.stderr, "Invalid value for '--test-timeout'")
    assert server_suites(project.emu) == {}
    with client(project.emu) as c:
        assert c.list_namespace(NS) == []


def test_the_rollback_command_names_the_environment_with_the_flag_apply_takes(project):
    """It said `--environment staging`, an option apply does not have."""
    project.config(
        f"directory: flows\nlayout: nested\nenvironments:\n  staging:\n    url: {project.emu.url}\n"
    )
    applied(project, "--env", "staging")
    set_outcome(project.emu, state="FAILED", message="no rows")
    write_flow(project, FLOW.replace("message: hi", "message: v5"))
    done = project.run("apply", "--auto-approve", "--run-tests", "--env", "staging")
    assert done.returncode == 1
    command = line_with(done.stdout, "To roll back").split(": ", 1)[1]
    assert command == "git checkout HEAD~1 && kestra-sync apply --env staging"
    usage = project.run(*command.split("&& kestra-sync ", 1)[1].split(), "--help")
    assert usage.returncode == 0, usage.stderr


def test_the_rollback_command_carries_the_config_tenant_and_targets_of_the_apply(project):
    """It carried only the directory and --env: a config named with --config, a tenant chosen
    by flag and a partial apply's targets were left out, so pasting it deployed something
    else than what this apply did."""
    config = project.root / "kestra-prod.yml"  # not the kestra-sync.yml found from here
    config.write_text(f"directory: flows\nlayout: nested\nurl: {project.emu.url}\n")
    options = ("--config", "kestra-prod.yml", "--tenant", "main", "--target", f"{NS}/orders")
    applied(project, "--config", "kestra-prod.yml")  # the flow and its suite
    set_outcome(project.emu, state="FAILED", message="no rows")
    write_flow(project, FLOW.replace("message: hi", "message: v6"))
    done = project.run("apply", "--auto-approve", "--run-tests", *options)
    assert done.returncode == 1, done.stdout + done.stderr
    command = line_with(done.stdout, "To roll back").split(": ", 1)[1]
    assert command == (
        "git checkout HEAD~1 && kestra-sync apply --config kestra-prod.yml --tenant main "
        f"--target {NS}/orders"
    )
