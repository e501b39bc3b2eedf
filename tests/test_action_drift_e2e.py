"""End to end: the Action's `command: drift` (its real entry point, running the real CLI in a
child process) against the Kestra API emulator, a real git clone whose `origin` is a bare
repository (GitHub's copy), and the loopback stand-in for GitHub's API. A UI edit opens one
pull request from a pushed branch; later runs update that same one; when the drift is gone it
is closed and its branch deleted. The same for an issue; no drift is a no-op; an unreachable
server changes nothing on GitHub and fails the step."""

from __future__ import annotations

import pytest

from tests.support.cli import run_cli
from tests.support.github import FakeGitHub, action_env, run_action, step_outputs
from tests.support.gitrepo import branch_commit, git, make_repo, show
from tests.support.project import edit_on_server, flow

GH_TOKEN = "ghs_drift_token_123456"
BRANCH = "kestra-sync/drift"
A = "flows/company/team/a.yml"
ODD = "flows/company/team/_files/@team_[x](http:__e).sql"  # a name Markdown would read


@pytest.fixture
def setup(github, emulator, tmp_path, monkeypatch):
    origin = tmp_path / "origin.git"
    repo = make_repo(
        tmp_path / "repo",
        {A: flow("a"), "flows/company/team/b.yml": flow("b"), ODD: "select 1\n"},
        origin=origin,
    )
    applied = run_cli("apply", "--auto-approve", cwd=repo, env={"KESTRA_URL": emulator.url})
    assert applied.returncode == 0, applied.stderr
    FakeGitHub.remote = origin
    monkeypatch.chdir(repo)
    return repo, origin


def drift_action(tmp_path, repo, github, server, **inputs):
    env = {
        **action_env(tmp_path, repo, github, event_name="schedule"),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_RUN_ID": "42",
        "INPUT_SERVER": server,
        "INPUT_GITHUB_TOKEN": GH_TOKEN,
    }
    code, log = run_action(env, command="drift", **inputs)
    for text in (log, (tmp_path / "summary.md").read_text(), (tmp_path / "out").read_text()):
        assert all(GH_TOKEN not in ln for ln in text.splitlines() if "add-mask" not in ln)
    return code, log, step_outputs(tmp_path)


def test_one_pull_request_is_opened_updated_and_closed_with_its_branch(
    setup, emulator, github, tmp_path
):
    repo, origin = setup
    edit_on_server(emulator, "company.team", "a", "message: hi", "message: hotfix")
    code, log, outputs = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 0, log
    (pull,) = FakeGitHub.threads
    assert (pull["state"], pull["head"]["ref"], pull["base"]["ref"]) == ("open", BRANCH, "main")
    assert pull["body"].startswith("<!-- kestra-sync:drift:kestra-sync-drift -->")
    assert "| flow | `company.team/a` | `flows/company/team/a.yml` |" in pull["body"]
    assert show(origin, BRANCH, A).decode() == flow("a", message="hotfix")
    assert (outputs["drift"], outputs["drift-number"]) == ("true", "1")
    author = git(origin, "log", "-1", "--format=%an <%ae>", BRANCH)
    assert author == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    pushed = branch_commit(origin, BRANCH)

    code, log, _ = drift_action(tmp_path, repo, github, emulator.url)  # the same drift
    assert code == 0, log
    assert len(FakeGitHub.threads) == 1 and branch_commit(origin, BRANCH) == pushed
    assert ("PATCH", "/repos/acme/flows/issues/1") in FakeGitHub.writes

    edit_on_server(emulator, "company.team", "b", "message: hi", "message: second")
    code, log, _ = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 0, log
    assert len(FakeGitHub.threads) == 1  # updated, never a second one
    assert "`company.team/b`" in FakeGitHub.threads[0]["body"]
    assert b"message: second" in show(origin, BRANCH, "flows/company/team/b.yml")
    assert git(origin, "rev-parse", f"{BRANCH}^") == git(repo, "rev-parse", "HEAD")

    for fid, now in (("a", "hotfix"), ("b", "second")):  # the server put back as git has it
        edit_on_server(emulator, "company.team", fid, f"message: {now}", "message: hi")
    code, log, outputs = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 0, log
    assert FakeGitHub.threads[0]["state"] == "closed" and outputs["drift"] == "false"
    assert "The drift is gone" in FakeGitHub.comments[-1]["body"]
    assert branch_commit(origin, BRANCH) is None
    assert git(repo, "status", "--porcelain") == ""


def test_issue_mode_opens_one_issue_with_the_diff_and_pushes_nothing(
    setup, emulator, github, tmp_path
):
    repo, origin = setup
    with_ticks = "message: '`x` @team'"
    edit_on_server(emulator, "company.team", "a", "message: hi", with_ticks)
    code, log, _ = drift_action(tmp_path, repo, github, emulator.url, drift_report="issue")
    assert code == 0, log
    (issue,) = FakeGitHub.threads
    assert "head" not in issue and issue["state"] == "open"
    assert f"+    {with_ticks}" in issue["body"] and "```diff" in issue["body"]
    assert branch_commit(origin, BRANCH) is None  # an issue needs no branch

    code, log, _ = drift_action(tmp_path, repo, github, emulator.url, drift_report="issue")
    assert code == 0 and len(FakeGitHub.threads) == 1, log

    edit_on_server(emulator, "company.team", "a", with_ticks, "message: hi")
    code, log, _ = drift_action(tmp_path, repo, github, emulator.url, drift_report="issue")
    assert code == 0 and FakeGitHub.threads[0]["state"] == "closed", log


def test_a_namespace_file_name_is_shown_as_code_not_as_markdown(setup, emulator, github, tmp_path):
    repo, origin = setup
    from kestra_sync.client import KestraClient

    with KestraClient(emulator.url) as c:
        c.put_namespace_file("company.team", "/@team_[x](http:__e).sql", b"select 2\n")
    code, log, _ = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 0, log
    body = FakeGitHub.threads[0]["body"]
    assert f"| `{ODD}` |" in body and "| namespace file |" in body
    assert show(origin, BRANCH, ODD) == b"select 2\n"


def test_no_drift_changes_nothing_on_github(setup, emulator, github, tmp_path):
    repo, origin = setup
    code, log, outputs = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 0, log
    assert "No drift" in log and outputs["drift"] == "false"
    assert FakeGitHub.writes == [] and branch_commit(origin, BRANCH) is None


def test_an_unreachable_server_fails_the_step_and_leaves_the_pull_request(
    setup, emulator, github, tmp_path
):
    repo, origin = setup
    edit_on_server(emulator, "company.team", "a", "message: hi", "message: hotfix")
    assert drift_action(tmp_path, repo, github, emulator.url)[0] == 0
    before = [dict(t) for t in FakeGitHub.threads], list(FakeGitHub.writes)
    pushed = branch_commit(origin, BRANCH)
    url = emulator.url
    emulator.stop()
    code, log, _ = drift_action(tmp_path, repo, github, url)
    assert code == 1
    assert "::error" in log and "the drift could not be read" in log
    assert ([dict(t) for t in FakeGitHub.threads], FakeGitHub.writes) == before
    assert branch_commit(origin, BRANCH) == pushed
    summary = (tmp_path / "summary.md").read_text()
    assert "no pull request or issue was changed" in summary


def test_github_refusing_the_pull_request_fails_the_step_and_a_rerun_opens_one(
    setup, emulator, github, tmp_path
):
    # A repository where Actions may not open pull requests answers 403; the branch is
    # pushed already, and the next run (permission granted) opens one, not two.
    repo, origin = setup
    edit_on_server(emulator, "company.team", "a", "message: hi", "message: hotfix")
    said = "GitHub Actions is not permitted to create or approve pull requests."
    FakeGitHub.refuse.append(("POST", r"/pulls$", 403, said))
    code, log, _ = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 1 and FakeGitHub.threads == []
    error = next(ln for ln in log.splitlines() if ln.startswith("::error"))
    assert f"POST /repos/acme/flows/pulls: HTTP 403: {said}" in error
    assert "`pull-requests: write`" in error and "Traceback" not in log
    pushed = branch_commit(origin, BRANCH)
    assert pushed is not None

    code, log, _ = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 0, log
    (pull,) = FakeGitHub.threads
    assert pull["state"] == "open" and branch_commit(origin, BRANCH) == pushed


def test_a_pull_request_closed_by_hand_is_not_reopened_but_a_new_one_tracks_the_drift(
    setup, emulator, github, tmp_path
):
    repo, origin = setup
    edit_on_server(emulator, "company.team", "a", "message: hi", "message: hotfix")
    assert drift_action(tmp_path, repo, github, emulator.url)[0] == 0
    FakeGitHub.threads[0]["state"] = "closed"  # a human closed it; the branch stays
    FakeGitHub.refuse.append(("GET", r"/pulls$", 500, "Server Error"))
    code, log, _ = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 1 and "GET /repos/acme/flows/pulls: HTTP 500" in log
    assert [t["state"] for t in FakeGitHub.threads] == ["closed"]  # nothing opened blindly

    code, log, _ = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 0, log
    assert [t["state"] for t in FakeGitHub.threads] == ["closed", "open"]
    assert ("PATCH", "/repos/acme/flows/issues/1") not in FakeGitHub.writes


def test_a_reviewers_commit_on_the_drift_branch_is_not_force_pushed_away(
    setup, emulator, github, tmp_path
):
    repo, origin = setup
    edit_on_server(emulator, "company.team", "a", "message: hi", "message: hotfix")
    assert drift_action(tmp_path, repo, github, emulator.url)[0] == 0
    other = tmp_path / "reviewer"
    git(tmp_path, "clone", "-q", "-b", BRANCH, str(origin), str(other))
    (other / "NOTES.md").write_text("why the hotfix\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "Explain the hotfix")
    git(other, "push", "-q", "origin", BRANCH)
    theirs = branch_commit(origin, BRANCH)

    edit_on_server(emulator, "company.team", "b", "message: hi", "message: second")
    code, log, _ = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 1
    assert "holds 1 commit(s) not written by pull --branch" in log and "Explain the hotfix" in log
    assert branch_commit(origin, BRANCH) == theirs  # their work is still there
    assert len(FakeGitHub.threads) == 1


def test_a_kv_value_alone_opens_no_pull_request_but_says_so(setup, emulator, github, tmp_path):
    repo, origin = setup
    (repo / "flows/company/team/kv.yml").write_text("values:\n  region: eu\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "kv")
    assert (
        run_cli("apply", "--auto-approve", cwd=repo, env={"KESTRA_URL": emulator.url}).returncode
        == 0
    )
    from kestra_sync.client import KestraClient

    with KestraClient(emulator.url) as c:
        c.put_kv("company.team", "region", "us")
    code, log, outputs = drift_action(tmp_path, repo, github, emulator.url)
    assert code == 0, log
    assert FakeGitHub.writes == [] and outputs["drift"] == "false"
    assert "::warning title=kestra-sync drift::1 item(s) differ on the server" in log

    code, log, outputs = drift_action(tmp_path, repo, github, emulator.url, drift_report="issue")
    assert code == 0 and outputs["drift"] == "true", log
    (issue,) = FakeGitHub.threads
    assert "| KV pair | `company.team region` |" in issue["body"]
    assert "not rewritten, edit it by hand" in issue["body"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"drift_report": "comment"}, "input `drift-report` must be pull-request or issue"),
        ({"drift_branch": "x:refs/heads/main"}, "input `drift-branch` must be a plain branch"),
        ({"drift_branch": "-f"}, "input `drift-branch` must be a plain branch"),
    ],
)
def test_bad_drift_inputs_fail_before_anything_runs(github, tmp_path, inputs, message):
    code, log, _ = drift_action(tmp_path, tmp_path, github, "http://127.0.0.1:9", **inputs)
    assert code == 1 and message in log
    assert "$ kestra-sync" not in log and FakeGitHub.writes == []
