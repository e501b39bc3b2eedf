"""The Action as a team meets it when something goes wrong or is misconfigured: its entry point
runs the real CLI (a child process) against the Kestra API emulator or a closed port, with a
faked GitHub environment and the loopback stand-in for GitHub's comments API of
test_action_e2e.py. Each failure must say why in an error annotation and first thing in the job
summary; the server URL stays out of the summary and the comment unless `show-server: true`."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import requests

from tests.support.cli import ROOT
from tests.support.github import FakeGitHub, action_env, run_action, step_outputs

USER, PASSWORD = "admin@kestra.io", "Sup3r-Secret-Pw1"
GH_TOKEN = "ghs_e2e_token_123456"
LOG = (
    "id: {id}\nnamespace: company.team\ntasks:\n"
    "  - id: x\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "flows", repo / "flows")
    shutil.copy(ROOT / "kestra-sync.yml", repo / "kestra-sync.yml")
    monkeypatch.chdir(repo)
    return repo


@pytest.fixture
def action(tmp_path, repo, github):
    """Runs the action's entry point as its `run` step does; returns (code, outputs, summary,
    log, annotations)."""

    def run(event_name="pull_request", **inputs):
        env = {
            **action_env(tmp_path, repo, github, event_name=event_name, number=5),
            "INPUT_USERNAME": USER,
            "INPUT_PASSWORD": PASSWORD,
            "INPUT_GITHUB_TOKEN": GH_TOKEN,
        }
        code, log = run_action(env, **inputs)
        outputs = step_outputs(tmp_path)
        notes = [ln for ln in log.splitlines() if ln.startswith(("::error", "::warning"))]
        return code, outputs, (tmp_path / "summary.md").read_text(), log, notes

    return run


def seed(server: str, *flow_ids: str) -> None:
    with requests.Session() as s:
        s.auth = (USER, PASSWORD)
        for flow_id in flow_ids:
            s.post(
                f"{server}/api/v1/main/flows",
                data=LOG.format(id=flow_id).encode(),
                headers={"Content-Type": "application/x-yaml"},
            ).raise_for_status()


def test_apply_of_a_refused_plan_says_why_in_an_annotation_and_first_in_the_summary(
    action, make_emulator
):
    kestra = make_emulator(users={USER: PASSWORD})
    seed(kestra.url, "old-1", "old-2", "old-3")  # three flows git does not have
    code, outputs, summary, log, notes = action(
        command="apply", server=kestra.url, delete="true", max_deletes="2"
    )
    assert code == 1, log
    errors = [n for n in notes if n.startswith("::error")]
    assert errors and "max-deletes" in errors[0], notes
    assert "--max-deletes" not in errors[0]  # the user wrote an input, not a flag
    first = summary.splitlines()[:2]
    assert first[0] == "> [!CAUTION]"
    assert first[1].startswith("> **kestra-sync apply failed:** nothing was applied: the plan")
    assert "max-deletes" in first[1]
    assert outputs["applied"] == "0" and outputs["deletes"] == "3"
    # nothing was deleted
    flows = requests.get(
        f"{kestra.url}/api/v1/main/flows/search", auth=(USER, PASSWORD), params={"size": 100}
    ).json()
    assert {"old-1", "old-2", "old-3"} <= {f["id"] for f in flows["results"]}


def test_fail_on_changes_fails_with_an_annotation_saying_so(action, make_emulator):
    kestra = make_emulator(users={USER: PASSWORD})
    code, outputs, summary, log, notes = action(
        command="plan", server=kestra.url, fail_on_changes="true"
    )
    assert code == 2 and outputs["has-changes"] == "true", log
    (error,) = [n for n in notes if n.startswith("::error")]
    assert "the plan has changes and `fail-on-changes` is true" in error
    assert summary.startswith("> [!CAUTION]\n> **kestra-sync plan failed:** the plan has changes")


def test_the_server_url_is_kept_out_of_summary_and_comment_unless_shown(action, make_emulator):
    kestra = make_emulator(users={USER: PASSWORD})
    host_port = kestra.url.split("://", 1)[1]
    code, _, summary, log, _ = action(command="plan", server=kestra.url, comment="true")
    assert code == 0, log
    (comment,) = FakeGitHub.comments
    for published in (summary, comment["body"]):
        assert host_port not in published and "Server `" not in published
    assert "### kestra-sync plan" in summary

    code, _, summary, log, _ = action(
        command="plan", server=kestra.url, comment="true", show_server="true"
    )
    assert code == 0, log
    assert f"Server `{kestra.url}`" in summary
    assert f"Server `{kestra.url}`" in FakeGitHub.comments[0]["body"]


def test_an_unreachable_server_is_hidden_and_the_hint_names_inputs(action):
    url = f"http://127.0.0.1:{closed_port()}"
    code, outputs, summary, log, notes = action(
        command="plan", server=url, comment="true", args="--timeout 2"
    )
    assert code == 1, log
    assert notes and notes[0].startswith("::error"), notes
    assert summary.startswith("> [!CAUTION]\n> **kestra-sync plan failed:**")
    (comment,) = FakeGitHub.comments  # a failed plan still replaces the comment
    for published in (summary, comment["body"]):
        assert url not in published and "127.0.0.1" not in published
        assert "--server" not in published
    assert "[server]" in summary
    assert "plan-file" not in outputs


def test_no_server_at_all_hints_at_the_server_input(action, repo):
    (repo / "kestra-sync.yml").write_text("directory: flows\n")
    code, _, summary, log, notes = action(command="plan")
    assert code == 1, log
    error = next(n for n in notes if n.startswith("::error"))
    assert "`server: http://host:8080`" in error and "--server" not in error
    assert "`server: http://host:8080`" in summary


def test_comment_on_changes_creates_no_comment_for_a_plan_without_changes(action, make_emulator):
    kestra = make_emulator(users={USER: PASSWORD})
    code, _, _, log, _ = action(command="apply", server=kestra.url)  # the server matches git
    assert code == 0, log
    code, outputs, _, log, _ = action(command="plan", server=kestra.url, comment="on-changes")
    assert code == 0 and outputs["has-changes"] == "false", log
    assert FakeGitHub.comments == [] and "comment-url" not in outputs
    # a change: the comment is created; back to no change: the same comment is updated
    seed(kestra.url, "stray")
    code, outputs, _, log, _ = action(
        command="plan", server=kestra.url, comment="on-changes", delete="true"
    )
    assert code == 0 and len(FakeGitHub.comments) == 1 and outputs["comment-url"], log
    requests.delete(
        f"{kestra.url}/api/v1/main/flows/company.team/stray", auth=(USER, PASSWORD)
    ).raise_for_status()
    code, _, _, log, _ = action(
        command="plan", server=kestra.url, comment="on-changes", delete="true"
    )
    assert code == 0 and len(FakeGitHub.comments) == 1, log
    assert "No changes: the server matches git." in FakeGitHub.comments[0]["body"]


def test_comment_on_a_push_event_warns_that_it_does_nothing(action, make_emulator):
    kestra = make_emulator(users={USER: PASSWORD})
    code, _, _, log, notes = action(
        event_name="push", command="plan", server=kestra.url, comment="true"
    )
    assert code == 0, log
    (warning,) = notes
    assert warning.startswith("::warning") and "does nothing on a push event" in warning
    assert FakeGitHub.comments == []


def test_the_log_points_at_the_plan_file_output_not_at_a_file_gone_after_the_job(
    action, make_emulator, tmp_path
):
    kestra = make_emulator(users={USER: PASSWORD})
    code, outputs, _, log, _ = action(command="plan", server=kestra.url)
    assert code == 0, log
    assert Path(outputs["plan-file"]).is_file()
    assert "apply it with: kestra-sync apply" not in log
    assert "actions/upload-artifact" in log and "`plan-file`" in log


def test_validate_summary_and_annotations_share_the_repository_path_base(action, repo, monkeypatch):
    """With `working-directory: kestra`, both name kestra/flows/..., as GitHub needs."""
    sub = repo / "kestra"
    sub.mkdir()
    shutil.move(str(repo / "flows"), sub / "flows")
    shutil.move(str(repo / "kestra-sync.yml"), sub / "kestra-sync.yml")
    broken = sub / "flows/company/team/hello-world.yml"
    broken.write_text(broken.read_text().replace("tasks:", "taskz:", 1))
    monkeypatch.chdir(sub)
    code, _, summary, log, notes = action(command="validate")
    assert code == 1, log
    error = next(n for n in notes if n.startswith("::error file="))
    assert "file=kestra/flows/company/team/hello-world.yml" in error
    assert "`kestra/flows/company/team/hello-world.yml`" in summary
    assert summary.startswith("> [!CAUTION]\n> **kestra-sync validate failed:**")
