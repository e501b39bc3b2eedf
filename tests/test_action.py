"""The GitHub Action's entry point, driven with a faked GitHub environment: tmp files for
GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_EVENT_PATH, a faked CLI run that returns recorded
plan JSON, and `responses` standing in for the GitHub comments API."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest
import responses

from kestra_sync.action import run as ghaction
from kestra_sync.applying.apply import DONE, FAILED, NOT_ATTEMPTED, ApplyResult, Outcome
from kestra_sync.models import FlowRef
from kestra_sync.planning.plan import (
    CREATE,
    DELETE,
    UNCHANGED,
    UNMANAGED,
    UPDATE,
    Change,
    Plan,
    Scope,
)
from kestra_sync.report.applytext import outcomes_to_list
from kestra_sync.report.planfile import dumps, plan_to_dict

ROOT = Path(__file__).resolve().parents[1]
API = "https://api.github.test"
REPO = "acme/flows"
PR = 7
PASSWORD = "s3cr3t-Pa55word"
TOKEN = "ghs_faketoken0123456789"
API_TOKEN = "kestra-api-token-xyz"
MARKER = "<!-- kestra-sync:plan:main -->"
COMMENTS = f"{API}/repos/{REPO}/issues/{PR}/comments"
META = {
    "created_at": "2026-11-23T08:00:00Z",
    "server": "http://kestra.test:8080",
    "git": {"commit": "0123456789abcdef0123", "branch": None, "dirty": False},
    "options": {"delete": False, "max_deletes": 10},
}


def ref(flow_id, ns="company.team", tenant="main"):
    return FlowRef(tenant, ns, flow_id)


def sample_plan(errors=()):
    return Plan(
        [
            Change(CREATE, ref("new"), path="flows/company/team/new.yml", source="id: new\n"),
            Change(
                UPDATE,
                ref("etl"),
                path="flows/company/team/etl.yml",
                source="id: etl\n",
                server_revision=4,
                diff="--- server\n+++ local\n@@ -1 +1 @@\n-a: 1\n+a: 2",
                summary=["task load changed (uri)"],
            ),
            Change(DELETE, ref("old"), server_revision=2),
            Change(UNCHANGED, ref("same"), path="flows/company/team/same.yml", server_revision=9),
            Change(UNMANAGED, ref("ui"), server_revision=1, note="deletion not enabled"),
        ],
        errors=list(errors),
        scopes=[Scope("main", "company.team")],
    )


def no_change_plan():
    return Plan([Change(UNCHANGED, ref("same"), path="flows/x.yml", server_revision=9)])


class FakeCli:
    """Stands in for `python -m kestra_sync ...`: records the call and replays a result."""

    def __init__(self, returncode=0, stdout="", stderr="", plan=None):
        self.returncode, self.stdout, self.stderr, self.plan = returncode, stdout, stderr, plan
        self.calls: list[tuple[list[str], dict]] = []

    def __call__(self, args, env, runner):
        self.calls.append((list(args), dict(env)))
        if "--out" in args and self.plan is not None:  # the CLI saves the plan with sources
            out = args[args.index("--out") + 1]
            Path(out).write_text(dumps(plan_to_dict(self.plan, META, include_sources=True)))
        if self.stderr:
            runner.untrusted(self.stderr)
        return ghaction.CliRun(self.returncode, self.stdout, self.stderr)

    @property
    def args(self):
        return self.calls[-1][0]

    @property
    def env(self):
        return self.calls[-1][1]


def plan_cli(plan, returncode=None, stderr=""):
    if returncode is None:
        returncode = 1 if plan.errors else (2 if plan.has_changes else 0)
    return FakeCli(returncode, dumps(plan_to_dict(plan, META)), stderr, plan=plan)


@pytest.fixture
def gh(tmp_path, monkeypatch):
    """A faked GitHub Actions environment for a pull_request event; returns the env dict."""
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"action": "synchronize", "number": PR, "pull_request": {"number": PR}})
    )
    (tmp_path / "output").write_text("")
    (tmp_path / "summary.md").write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": API,
        "GITHUB_SERVER_URL": "https://github.test",
        "GITHUB_RUN_ID": "99",
        "RUNNER_TEMP": str(tmp_path),
        "INPUT_COMMAND": "plan",
        "INPUT_SERVER": "http://kestra.test:8080",
        "INPUT_USERNAME": "admin@kestra.io",
        "INPUT_PASSWORD": PASSWORD,
        "INPUT_GITHUB_TOKEN": TOKEN,
        "INPUT_SUMMARY": "true",
        "INPUT_COMMENT": "false",
        "INPUT_FAIL_ON_CHANGES": "false",
    }
    monkeypatch.chdir(tmp_path)
    return env


def run_action(env, monkeypatch, cli):
    monkeypatch.setattr(ghaction, "run_cli", cli)
    out = io.StringIO()
    code = ghaction.main(env, stdout=out)
    return code, out.getvalue()


def read_outputs(env) -> dict[str, str]:
    """Parse $GITHUB_OUTPUT, both `name=value` and `name<<DELIM ... DELIM`."""
    lines = Path(env["GITHUB_OUTPUT"]).read_text().split("\n")
    outputs, i = {}, 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            outputs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        i += 1
    return outputs


def summary(env) -> str:
    return Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def annotations(stdout: str, kind: str | None = None) -> list[str]:
    kinds = (kind,) if kind else ("error", "warning", "notice")
    return [ln for ln in stdout.splitlines() if ln.startswith(tuple(f"::{k}" for k in kinds))]


def assert_no_secret(*texts):
    for text in texts:
        for secret in (PASSWORD, TOKEN, API_TOKEN):
            for line in text.splitlines():
                if not line.startswith("::add-mask::"):
                    assert secret not in line, f"secret leaked in: {line!r}"


# --- plan ----------------------------------------------------------------------------------------


def test_plan_writes_outputs_summary_and_passes_secrets_only_by_environment(gh, monkeypatch):
    cli = plan_cli(sample_plan())
    code, stdout = run_action(gh, monkeypatch, cli)
    assert code == 0  # changes are a success unless fail-on-changes
    args, env = cli.args, cli.env
    assert args[:1] == ["plan"]
    assert args[args.index("--format") + 1] == "json" and "--detailed-exitcode" in args
    plan_file = args[args.index("--out") + 1]
    assert plan_file == str(Path(gh["RUNNER_TEMP"]) / "kestra-sync-plan.json")
    # secrets only through KESTRA_* variables, never an argument, never an INPUT_* copy
    assert env["KESTRA_PASSWORD"] == PASSWORD and env["KESTRA_URL"] == "http://kestra.test:8080"
    assert env["KESTRA_USERNAME"] == "admin@kestra.io"
    assert not any(PASSWORD in a for a in args)
    assert not [k for k in env if k.startswith("INPUT_")]
    assert "GITHUB_STEP_SUMMARY" not in env and "GITHUB_OUTPUT" not in env

    outputs = read_outputs(gh)
    assert outputs["creates"] == "1" and outputs["updates"] == "1" and outputs["deletes"] == "1"
    assert outputs["unchanged"] == "1" and outputs["unmanaged"] == "1"
    assert outputs["has-changes"] == "true" and outputs["exit-code"] == "2"
    assert outputs["plan-file"] == plan_file and Path(plan_file).is_file()

    text = summary(gh)
    assert "### kestra-sync plan" in text
    assert "Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged" in text
    assert "`company.team/new`" in text
    assert "commit `0123456789ab`" in text
    assert "```diff" in text
    # the password was masked before anything else was printed
    assert stdout.splitlines()[0] == f"::add-mask::{PASSWORD}"
    assert f"::add-mask::{TOKEN}" in stdout
    # the text plan went to the log with workflow commands switched off
    assert "+ new" in stdout and "::stop-commands::" in stdout
    assert annotations(stdout) == []


def test_plan_without_changes_has_changes_false_and_exit_zero(gh, monkeypatch):
    code, _ = run_action(gh, monkeypatch, plan_cli(no_change_plan()))
    outputs = read_outputs(gh)
    assert code == 0 and outputs["has-changes"] == "false" and outputs["creates"] == "0"
    assert "No changes: the server matches git." in summary(gh)


def test_fail_on_changes_makes_a_plan_with_changes_fail_with_2(gh, monkeypatch):
    gh["INPUT_FAIL_ON_CHANGES"] = "true"
    code, _ = run_action(gh, monkeypatch, plan_cli(sample_plan()))
    assert code == 2
    code, _ = run_action(gh, monkeypatch, plan_cli(no_change_plan()))
    assert code == 0


def test_delete_max_deletes_directory_and_args_reach_the_cli(gh, monkeypatch):
    gh.update(
        INPUT_DELETE="true",
        INPUT_MAX_DELETES="3",
        INPUT_DIRECTORY="kestra/flows",
        INPUT_ARGS="--namespace 'company.team' --include-children",
        INPUT_PLAN_FILE="out/plan.json",
        INPUT_TENANT="acme",
        INPUT_API_TOKEN=API_TOKEN,
    )
    Path("out").mkdir()
    cli = plan_cli(no_change_plan())
    run_action(gh, monkeypatch, cli)
    args = cli.args
    assert args[1] == "kestra/flows"
    assert "--delete" in args and args[args.index("--max-deletes") + 1] == "3"
    assert args[-3:] == ["--namespace", "company.team", "--include-children"]
    assert args[args.index("--out") + 1] == str(Path("out/plan.json").resolve())
    assert cli.env["KESTRA_TENANT"] == "acme" and cli.env["KESTRA_API_TOKEN"] == API_TOKEN
    gh["INPUT_DELETE"] = "false"
    run_action(gh, monkeypatch, cli)
    assert "--no-delete" in cli.args and "--delete" not in cli.args


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INPUT_COMMAND", "destroy", "input `command` must be one of"),
        ("INPUT_DELETE", "yes", "input `delete` must be true or false"),
        ("INPUT_COMMENT", "on", "input `comment` must be true, false or on-changes"),
        ("INPUT_MAX_DELETES", "ten", "input `max-deletes` must be a whole number"),
        ("INPUT_ARGS", "--namespace 'open", "input `args` cannot be split"),
    ],
)
def test_bad_inputs_fail_with_one_error_annotation_and_no_cli_run(
    gh, monkeypatch, name, value, message
):
    gh[name] = value
    cli = plan_cli(sample_plan())
    code, stdout = run_action(gh, monkeypatch, cli)
    assert code == 1 and cli.calls == []
    (error,) = annotations(stdout, "error")
    assert message in error


def test_cli_failure_without_a_plan_becomes_an_error_annotation_and_summary(gh, monkeypatch):
    stderr = (
        "error: cannot reach http://kestra.test:8080 (connection refused)\nhint: check KESTRA_URL\n"
    )
    code, stdout = run_action(gh, monkeypatch, FakeCli(1, "", stderr))
    assert code == 1
    (error,) = annotations(stdout, "error")
    assert "title=kestra-sync plan::error: cannot reach" in error
    assert "%0Ahint: check KESTRA_URL" in error  # one line: the newline is escaped
    assert read_outputs(gh)["has-changes"] == "false"
    # why, first thing in the summary, in the action's words (the server stays hidden)
    assert summary(gh).startswith("> [!CAUTION]\n> **kestra-sync plan failed:** no plan was made.")
    assert "> error: cannot reach [server] (connection refused)" in summary(gh)


def test_plan_errors_and_stderr_warnings_become_annotations(gh, monkeypatch):
    plan = sample_plan(errors=["refusing to delete 12 flows (more than --max-deletes 10)"])
    stderr = "flows/company/team/etl.yml:3: warning: task type io.kestra.Old is deprecated\n"
    code, stdout = run_action(gh, monkeypatch, plan_cli(plan, stderr=stderr))
    assert code == 1
    (error,) = annotations(stdout, "error")
    assert error.endswith("::refusing to delete 12 flows (more than `max-deletes: 10`)")
    (warning,) = annotations(stdout, "warning")
    assert warning.startswith("::warning file=flows/company/team/etl.yml,line=3::")
    assert summary(gh).startswith(
        "> [!CAUTION]\n> **kestra-sync plan failed:** the plan has errors: refusing to delete"
    )


def test_annotations_are_capped_at_ten_per_kind_with_a_notice(gh, monkeypatch):
    plan = sample_plan(errors=[f"problem {i}" for i in range(13)])
    _, stdout = run_action(gh, monkeypatch, plan_cli(plan))
    assert len(annotations(stdout, "error")) == 10
    (notice,) = annotations(stdout, "notice")
    assert "3 more error(s) not annotated" in notice


def test_secrets_are_redacted_from_log_summary_outputs_and_comment(gh, monkeypatch):
    """Even if the CLI or a flow diff echoed a secret, nothing written shows it."""
    gh.update(INPUT_COMMENT="true", INPUT_API_TOKEN=API_TOKEN)
    plan = sample_plan()
    plan.changes[1].diff = f"-password: {PASSWORD}\n+password: {API_TOKEN}"
    stderr = f"flows/a.yml:1: warning: value {PASSWORD} looks like a secret\n"
    with responses.RequestsMock() as rsps:
        rsps.get(COMMENTS, json=[])
        post = rsps.post(COMMENTS, json={"html_url": "https://github.test/c/1"}, status=201)
        _, stdout = run_action(gh, monkeypatch, plan_cli(plan, stderr=stderr))
        body = json.loads(post.calls[0].request.body)["body"]
        auth = post.calls[0].request.headers["Authorization"]
    assert auth == f"Bearer {TOKEN}"
    assert_no_secret(stdout, summary(gh), Path(gh["GITHUB_OUTPUT"]).read_text(), body)
    assert "***" in body and "***" in summary(gh)


# --- the sticky comment --------------------------------------------------------------------------


@responses.activate
def test_comment_is_created_when_no_marker_exists(gh, monkeypatch):
    gh["INPUT_COMMENT"] = "true"
    responses.get(COMMENTS, json=[{"id": 1, "body": "LGTM"}])
    post = responses.post(COMMENTS, json={"html_url": "https://github.test/c/2"}, status=201)
    code, stdout = run_action(gh, monkeypatch, plan_cli(sample_plan()))
    assert code == 0
    body = json.loads(post.calls[0].request.body)["body"]
    assert body.startswith(MARKER + "\n### kestra-sync plan")
    assert "https://github.test/acme/flows/actions/runs/99" in body
    assert read_outputs(gh)["comment-url"] == "https://github.test/c/2"
    assert "Plan comment created" in stdout
    get = responses.calls[0].request
    assert "per_page=100" in get.url and get.headers["X-GitHub-Api-Version"] == "2022-11-28"


@responses.activate
def test_comment_found_by_marker_on_page_two_is_patched_not_duplicated(gh, monkeypatch):
    gh["INPUT_COMMENT"] = "true"
    page2 = f"{API}/repositories/1/issues/{PR}/comments?per_page=100&page=2"
    responses.get(
        COMMENTS,
        json=[{"id": i, "body": f"comment {i}"} for i in range(100)],
        headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'},
        match=[responses.matchers.query_param_matcher({"per_page": "100"})],
    )
    responses.get(
        page2,
        json=[
            {"id": 555, "body": "> " + MARKER + " quoted by a reviewer"},
            {"id": 777, "body": MARKER + "\nold plan"},
        ],
    )
    patch = responses.patch(
        f"{API}/repos/{REPO}/issues/comments/777", json={"html_url": "https://github.test/c/777"}
    )
    code, stdout = run_action(gh, monkeypatch, plan_cli(sample_plan()))
    assert code == 0 and "Plan comment updated" in stdout
    assert len(patch.calls) == 1
    assert [c.request.method for c in responses.calls] == ["GET", "GET", "PATCH"]
    assert json.loads(patch.calls[0].request.body)["body"].startswith(MARKER)


@responses.activate
def test_comment_key_gives_each_environment_its_own_comment(gh, monkeypatch):
    gh.update(INPUT_COMMENT="true", INPUT_COMMENT_KEY="production --> <b>")
    responses.get(COMMENTS, json=[{"id": 9, "body": MARKER + "\nthe main tenant's plan"}])
    post = responses.post(COMMENTS, json={}, status=201)
    run_action(gh, monkeypatch, plan_cli(sample_plan()))
    body = json.loads(post.calls[0].request.body)["body"]
    assert body.startswith("<!-- kestra-sync:plan:production-b -->")


def test_no_token_means_no_github_call_and_a_warning(gh, monkeypatch):
    gh.update(INPUT_COMMENT="true", INPUT_GITHUB_TOKEN="")
    with responses.RequestsMock() as rsps:  # any request would raise ConnectionError
        code, stdout = run_action(gh, monkeypatch, plan_cli(sample_plan()))
        assert len(rsps.calls) == 0
    assert code == 0
    (warning,) = annotations(stdout, "warning")
    assert "no github-token" in warning


@pytest.mark.parametrize(("event", "comment"), [("push", "true"), ("pull_request", "false")])
def test_no_comment_outside_pull_requests_or_when_not_asked(gh, monkeypatch, event, comment):
    gh.update(GITHUB_EVENT_NAME=event, INPUT_COMMENT=comment)
    with responses.RequestsMock() as rsps:
        code, _ = run_action(gh, monkeypatch, plan_cli(sample_plan()))
        assert len(rsps.calls) == 0
    assert code == 0 and "### kestra-sync plan" in summary(gh)


@responses.activate
def test_a_forbidden_comment_is_a_warning_not_a_failed_plan(gh, monkeypatch):
    """Pull requests from forks get a read-only token: the plan still succeeds."""
    gh["INPUT_COMMENT"] = "true"
    responses.get(COMMENTS, json=[])
    responses.post(COMMENTS, json={"message": "Resource not accessible by integration"}, status=403)
    code, stdout = run_action(gh, monkeypatch, plan_cli(sample_plan()))
    assert code == 0
    (warning,) = annotations(stdout, "warning")
    assert "HTTP 403" in warning and "pull-requests: write" in warning
    assert TOKEN not in warning


@responses.activate
def test_a_failed_plan_replaces_the_comment_so_no_stale_plan_stays_visible(gh, monkeypatch):
    gh["INPUT_COMMENT"] = "true"
    responses.get(COMMENTS, json=[{"id": 3, "body": MARKER + "\nPlan: 1 to create"}])
    patch = responses.patch(f"{API}/repos/{REPO}/issues/comments/3", json={})
    code, _ = run_action(gh, monkeypatch, FakeCli(1, "", "error: HTTP 401 from the server\n"))
    assert code == 1
    body = json.loads(patch.calls[0].request.body)["body"]
    assert "**kestra-sync plan failed:**" in body and "HTTP 401 from the server" in body


# --- validate ------------------------------------------------------------------------------------


def validate_stdout(errors: int, warnings: int = 0) -> str:
    """What `validate --format github` prints (recorded from the validate branch): at most 10
    annotations per level and a notice, then every diagnostic as a text line, then a summary."""
    diags = [
        (f"flows/f{i}.yml", i + 1, "error", "task tasks[0] has no 'type'") for i in range(errors)
    ]
    diags += [(f"flows/w{i}.yml", 2, "warning", "deprecated task type") for i in range(warnings)]
    lines, shown = [], {"error": 0, "warning": 0}
    for path, line, level, message in diags:
        if shown[level] < 10:
            shown[level] += 1
            lines.append(
                f"::{level} file={path},line={line},col=5,title=kestra-sync%3A missing-type::"
                + message.replace("'type'", "%0A'type'")
            )
    if errors > 10:
        lines.append(
            f"::notice title=kestra-sync::GitHub shows only 10 error and 10 warning annotations "
            f"per step: {errors - 10} more errors not annotated; see the full list in the job log."
        )
    lines += [f"{p}:{ln}:5: {lvl}: {m} [missing-type]" for p, ln, lvl, m in diags]
    lines.append("::set-output name=pwned::1")  # not an annotation: must not run as a command
    lines.append(f"{len(diags)} files checked: {errors} errors")
    return "\n".join(lines) + "\n"


def test_validate_reemits_capped_annotations_and_lists_every_problem(gh, monkeypatch):
    gh.update(INPUT_COMMAND="validate", INPUT_DIRECTORY="flows")
    cli = FakeCli(1, validate_stdout(12, 1))
    code, stdout = run_action(gh, monkeypatch, cli)
    assert code == 1
    assert cli.args == ["validate", "--directory", "flows", "--format", "github"]
    errors = annotations(stdout, "error")
    assert len(errors) == 10
    assert errors[0] == (
        "::error file=flows/f0.yml,line=1,col=5,title=kestra-sync%3A missing-type::"
        "task tasks[0] has no %0A'type'"
    )
    assert len(annotations(stdout, "warning")) == 1
    assert "2 more errors not annotated" in annotations(stdout, "notice")[0]
    # non-annotation text is shown, with workflow commands switched off around it
    lines = stdout.splitlines()
    pwned = lines.index("::set-output name=pwned::1")
    assert any(ln.startswith("::stop-commands::") for ln in lines[:pwned])
    assert "flows/f11.yml:12:5: error: task tasks[0] has no 'type' [missing-type]" in lines
    outputs = read_outputs(gh)
    assert outputs["errors"] == "12" and outputs["warnings"] == "1" and outputs["exit-code"] == "1"
    text = summary(gh)
    assert "**12 error(s), 1 warning(s).**" in text
    # Messages are Markdown-escaped text (`[` could start a link).
    assert (
        "| ❌ | `flows/f11.yml` | 12 | task tasks\\[0\\] has no 'type' \\[missing-type\\] |" in text
    )
    assert "| ⚠️ | `flows/w0.yml` | 2 | deprecated task type \\[missing-type\\] |" in text


def test_validate_success_summary(gh, monkeypatch):
    gh["INPUT_COMMAND"] = "validate"
    code, stdout = run_action(gh, monkeypatch, FakeCli(0, "14 flows are valid\n"))
    assert code == 0 and annotations(stdout) == []
    assert "All flows are valid" in summary(gh)
    assert read_outputs(gh)["errors"] == "0"


def test_validate_crash_is_reported_even_without_annotations(gh, monkeypatch):
    gh["INPUT_COMMAND"] = "validate"
    code, stdout = run_action(gh, monkeypatch, FakeCli(2, "", "Error: No such option: --bogus\n"))
    assert code == 2
    (error,) = annotations(stdout, "error")
    assert "No such option" in error


# --- apply ---------------------------------------------------------------------------------------


def apply_json(plan: Plan, result: ApplyResult) -> str:
    data = plan_to_dict(plan, META)
    data["apply"] = {"summary": result.counts(), "outcomes": outcomes_to_list(result)}
    return dumps(data)


def test_apply_reports_every_outcome_and_annotates_failures(gh, monkeypatch):
    gh.update(INPUT_COMMAND="apply", GITHUB_EVENT_NAME="push", INPUT_DELETE="true")
    plan = sample_plan()
    new, etl, old = plan.changes[:3]
    result = ApplyResult(
        [
            Outcome(new, DONE, "created", 1),
            Outcome(etl, FAILED, error=f"HTTP 422: invalid flow (user {PASSWORD})"),
            Outcome(old, NOT_ATTEMPTED, error="not attempted: stopped after the first failure"),
        ]
    )
    cli = FakeCli(1, apply_json(plan, result))
    code, stdout = run_action(gh, monkeypatch, cli)
    assert code == 1
    assert cli.args == ["apply", "--delete", "--auto-approve", "--format", "json"]
    outputs = read_outputs(gh)
    assert (outputs["applied"], outputs["failed"], outputs["not-attempted"]) == ("1", "1", "1")
    assert outputs["creates"] == "1" and outputs["has-changes"] == "true"
    (error,) = annotations(stdout, "error")
    assert error.startswith("::error file=flows/company/team/etl.yml,title=kestra-sync apply::")
    assert "HTTP 422: invalid flow" in error
    text = summary(gh)
    assert "### kestra-sync apply" in text and "**1 done, 1 failed, 1 not attempted.**" in text
    assert "Plan: 1 to create, 1 to update, 1 to delete" in text
    assert_no_secret(stdout, text)


def test_apply_a_saved_plan_file_exactly(gh, monkeypatch, tmp_path):
    saved = tmp_path / "reviewed-plan.json"
    saved.write_text(dumps(plan_to_dict(sample_plan(), META, include_sources=True)))
    gh.update(INPUT_COMMAND="apply", INPUT_PLAN_FILE=str(saved), INPUT_MAX_DELETES="2")
    result = ApplyResult([Outcome(c, DONE, "ok") for c in sample_plan().changes[:3]])
    cli = FakeCli(0, apply_json(sample_plan(), result))
    code, stdout = run_action(gh, monkeypatch, cli)
    assert code == 0
    assert cli.args == ["apply", str(saved), "--auto-approve", "--format", "json"]
    assert "ignored when applying a saved plan" in annotations(stdout, "warning")[0]
    assert read_outputs(gh)["plan-file"] == str(saved)


def test_apply_with_a_missing_plan_file_fails_before_running(gh, monkeypatch):
    gh.update(INPUT_COMMAND="apply", INPUT_PLAN_FILE="nope.json")
    cli = FakeCli()
    code, stdout = run_action(gh, monkeypatch, cli)
    assert code == 1 and cli.calls == []
    assert "nope.json is not a file" in annotations(stdout, "error")[0]


def test_apply_refused_stale_plan_is_one_error(gh, monkeypatch):
    gh["INPUT_COMMAND"] = "apply"
    stderr = "error: the saved plan is stale: company.team/etl is at revision 5, not 4\nhint: x\n"
    code, stdout = run_action(gh, monkeypatch, FakeCli(1, "", stderr))
    assert code == 1
    assert "the saved plan is stale" in annotations(stdout, "error")[0]
    assert "kestra-sync apply" in summary(gh)


# --- plumbing ------------------------------------------------------------------------------------


def test_multiline_outputs_use_a_delimiter_that_is_not_in_the_value(gh):
    runner = ghaction.Runner(gh, io.StringIO())
    runner.set_output("message", "line one\nline two")
    runner.set_output("plain", "x=y")
    text = Path(gh["GITHUB_OUTPUT"]).read_text()
    assert text.startswith("message<<ghadelimiter_")
    assert read_outputs(gh) == {"message": "line one\nline two", "plain": "x=y"}


def test_annotation_escaping_round_trips():
    a = ghaction.Annotation("error", "50% done\nnext", file="a,b:c.yml", line=3, title="t")
    assert a.command() == "::error file=a%2Cb%3Ac.yml,line=3,title=t::50%25 done%0Anext"
    assert ghaction.parse_annotation(a.command()) == a


def test_multiline_secret_is_masked_line_by_line(gh):
    out = io.StringIO()
    runner = ghaction.Runner(gh, out)
    runner.mask("-----BEGIN KEY-----\nabc123def\n-----END KEY-----")
    masks = [ln for ln in out.getvalue().splitlines() if ln.startswith("::add-mask::")]
    assert "::add-mask::abc123def" in masks
    assert "::add-mask::-----BEGIN KEY-----%0Aabc123def%0A-----END KEY-----" in masks


def test_main_reads_the_real_process_environment(gh, monkeypatch):
    for key, value in gh.items():
        monkeypatch.setenv(key, value)
    cli = plan_cli(no_change_plan())
    monkeypatch.setattr(ghaction, "run_cli", cli)
    assert ghaction.main(stdout=io.StringIO()) == 0
    assert cli.env["KESTRA_PASSWORD"] == PASSWORD


def test_real_cli_subprocess_failure_is_annotated_without_leaking_the_password(gh, monkeypatch):
    """No fake: the real `python -m kestra_sync plan` against a closed port. Until every
    module is merged it may fail differently (exit 3); either way one error, no secret."""
    flows = Path("flows/company/team")
    flows.mkdir(parents=True)
    (flows / "hello.yml").write_text(
        "id: hello\nnamespace: company.team\ntasks:\n"
        "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    gh.update(
        INPUT_SERVER="http://127.0.0.1:9",
        INPUT_ARGS="--timeout 2",
        PYTHONPATH=str(ROOT),
        KESTRA_SYNC_DEBUG="",
    )
    out = io.StringIO()
    code = ghaction.main(gh, stdout=out)
    stdout = out.getvalue()
    assert code in (1, 3)
    errors = annotations(stdout, "error")
    # today: a CLI error line; with every module merged: a plan whose errors say the namespace
    # could not be read ("cannot reach ..."). Either way an error annotation for the plan.
    assert errors and "title=kestra-sync plan::" in errors[0]
    assert "$ kestra-sync plan --format json --out" in stdout
    assert_no_secret(stdout, summary(gh), Path(gh["GITHUB_OUTPUT"]).read_text())
    assert sys.executable  # the child ran with this interpreter


def test_annotation_paths_are_made_relative_to_the_repository_root(gh, monkeypatch, tmp_path):
    """With `working-directory: kestra`, the CLI prints flows/x.yml; GitHub needs kestra/flows/x.yml."""
    sub = tmp_path / "kestra"
    sub.mkdir()
    monkeypatch.chdir(sub)
    gh.update(GITHUB_WORKSPACE=str(tmp_path), INPUT_COMMAND="validate")
    cli = FakeCli(1, "::error file=flows/x.yml,line=4::bad\n")
    _, stdout = run_action(gh, monkeypatch, cli)
    assert annotations(stdout, "error") == ["::error file=kestra/flows/x.yml,line=4::bad"]


def test_an_old_plan_file_is_removed_so_a_failed_plan_leaves_none(gh, monkeypatch):
    old = Path(gh["RUNNER_TEMP"]) / "kestra-sync-plan.json"
    old.write_text("{}")
    code, _ = run_action(gh, monkeypatch, FakeCli(1, "", "error: HTTP 500\n"))
    assert code == 1 and not old.exists() and "plan-file" not in read_outputs(gh)


# --- failures say why, in the action's words --------------------------------------------------------


@pytest.mark.parametrize(
    ("cli", "action"),
    [
        (
            "hint: pass --server http://host:8080 or set KESTRA_URL",
            "hint: set `server: http://host:8080` or set KESTRA_URL",
        ),
        (
            "refusing to delete 12 flows (more than --max-deletes 10)",
            "refusing to delete 12 flows (more than `max-deletes: 10`)",
        ),
        (
            "not managed by git (deletion is off: --delete would remove it)",
            "not managed by git (deletion is off: `delete: true` would remove it)",
        ),
        (
            "not deleted: git has no flow in this namespace (--allow-empty-namespace allows it)",
            "not deleted: git has no flow in this namespace (`--allow-empty-namespace` in the "
            "`args` input allows it)",
        ),
        (
            "check that Kestra is running at http://k:8080 (--server / KESTRA_URL)",
            "check that Kestra is running at http://k:8080 (the `server` input / KESTRA_URL)",
        ),
        # a command to run stays as written
        ("create one with `kestra-sync plan --out plan.json`", None),
    ],
)
def test_cli_hints_are_rewritten_as_action_inputs(cli, action):
    from kestra_sync.action.render import in_action_words

    assert in_action_words(cli) == (action or cli)


def test_a_bad_input_is_also_the_first_thing_in_the_summary(gh, monkeypatch):
    gh["INPUT_MAX_DELETES"] = "ten"
    code, _ = run_action(gh, monkeypatch, plan_cli(sample_plan()))
    assert code == 1
    assert summary(gh).startswith(
        "> [!CAUTION]\n> **kestra-sync plan failed:** input `max-deletes` must be a whole number"
    )


def test_a_failed_apply_says_how_many_failed_first_in_the_summary(gh, monkeypatch):
    gh.update(INPUT_COMMAND="apply", GITHUB_EVENT_NAME="push")
    plan = sample_plan()
    new, etl, old = plan.changes[:3]
    result = ApplyResult(
        [
            Outcome(new, DONE, "created", 1),
            Outcome(etl, FAILED, error="HTTP 422: invalid flow"),
            Outcome(old, NOT_ATTEMPTED, error="not attempted: stopped after the first failure"),
        ]
    )
    code, _ = run_action(gh, monkeypatch, FakeCli(1, apply_json(plan, result)))
    assert code == 1
    assert summary(gh).splitlines()[1] == (
        "> **kestra-sync apply failed:** 1 change(s) failed and 1 were not attempted (1 done); "
        "a re-run picks up from here."
    )


def test_an_exit_code_without_any_explanation_still_gets_an_annotation(gh, monkeypatch):
    """Whatever fails, the step never ends red without an ::error:: saying why."""
    gh["INPUT_COMMAND"] = "validate"
    code, stdout = run_action(gh, monkeypatch, FakeCli(1, "", ""))
    assert code == 1
    (error,) = annotations(stdout, "error")
    assert "kestra-sync exited with code 1" in error
    assert summary(gh).startswith("> [!CAUTION]\n> **kestra-sync validate failed:**")


def test_a_bug_in_the_action_still_ends_in_an_annotation_and_a_summary(gh, monkeypatch):
    def broken_cli(args, env, runner):
        raise RuntimeError(f"unexpected reply while using {PASSWORD}")

    code, stdout = run_action(gh, monkeypatch, broken_cli)
    assert code == 1
    (error,) = annotations(stdout, "error")
    assert "the action itself failed (RuntimeError: unexpected reply" in error
    assert summary(gh).startswith("> [!CAUTION]\n> **kestra-sync plan failed:** the action itself")
    assert "Traceback" in stdout  # for the bug report, with workflow commands off
    assert_no_secret(stdout, summary(gh))


def test_a_secret_is_redacted_from_the_summary_in_its_markdown_escaped_form(tmp_path):
    """The summary escapes Markdown (`_` becomes `\\_`): a password with such characters must
    still be found and redacted there."""
    from kestra_sync.report.escape import md_code, md_text

    summary = tmp_path / "summary.md"
    runner = ghaction.Runner({"GITHUB_STEP_SUMMARY": str(summary)}, io.StringIO())
    secret = "p@ss_w*rd|`x`"
    runner.mask(secret)
    runner.summary(f"| {md_text('server said ' + secret)} | {md_code(secret)} |")
    written = summary.read_text()
    assert "ss" not in written.replace("***", ""), written
    assert written.count("***") == 2
