"""The Action's plan shows a rename (issue 22 item 6) and the namespaces that left git (item 5)
in the job summary and the pull-request comment, as the CLI's Markdown does: the Action reads
the CLI's JSON plan back, and nothing of it may be lost on the way."""

from __future__ import annotations

from tests.support import gitrepo
from tests.support.cli import run_cli
from tests.support.github import FakeGitHub, action_env, run_action
from tests.support.project import flow, seed


def test_the_summary_and_the_comment_show_renames_and_namespaces_left(
    github, emulator, tmp_path, monkeypatch
):
    repo = tmp_path / "repo"
    (repo / "flows" / "company.marketing").mkdir(parents=True)
    (repo / "kestra-sync.yml").write_text(
        "directory: flows\nstate_namespace: company.kestra_sync\n", encoding="utf-8"
    )
    (repo / "flows/company.marketing/signup.yml").write_text(
        flow("signup", ns="company.marketing"), encoding="utf-8"
    )
    gitrepo.init(repo)
    gitrepo.commit_all(repo, "first deploy")
    deployed = run_cli("apply", "--auto-approve", cwd=repo, env={"KESTRA_URL": emulator.url})
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    seed(emulator, flow("old", ns="company.legacy"))  # a namespace git has no folder for
    gitrepo.move(
        repo,
        "flows/company.marketing",
        "flows/company.growth",
        ("company.marketing", "company.growth"),
    )
    gitrepo.commit_all(repo, "marketing is growth now")
    monkeypatch.chdir(repo)

    env = {
        **action_env(tmp_path, repo, github, number=9),
        "INPUT_SERVER": emulator.url,
        "INPUT_GITHUB_TOKEN": "ghs_test_token",
    }
    code, log = run_action(env, command="plan", comment="true", delete="true")
    assert code == 0, log
    summary = (tmp_path / "summary.md").read_text()
    rename = (
        "🔀 rename company.marketing/signup → company.growth/signup: company.marketing/signup "
        "is deleted once company.growth/signup is created"
    )
    assert rename in summary, summary
    assert "company.legacy" in summary and "To remove it" in summary, summary
    assert rename in FakeGitHub.comments[0]["body"]
