"""End to end: the action's entry point runs the real CLI (a child process) against the Kestra
API emulator (basic auth on, as on a real OSS >= 0.24) and a loopback stand-in for GitHub's issue
comments API. PR plan with a sticky comment -> a second plan updates the same comment -> apply
-> a last plan shows no changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import requests

from tests.support.cli import ROOT
from tests.support.github import FakeGitHub, action_env, run_action, step_outputs

USER, PASSWORD = "admin@kestra.io", "Sup3r-Secret-Pw1"
GH_TOKEN = "ghs_e2e_token_123456"


def test_plan_comment_apply_and_converge(github, make_emulator, tmp_path, monkeypatch):
    kestra = make_emulator(users={USER: PASSWORD})
    server = kestra.url
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "flows", repo / "flows")
    shutil.copy(ROOT / "kestra-sync.yml", repo / "kestra-sync.yml")
    hello = (repo / "flows/company/team/hello-world.yml").read_text()
    legacy = (
        "id: legacy\nnamespace: company.team\ntasks:\n"
        "  - id: x\n    type: io.kestra.plugin.core.log.Log\n    message: old\n"
    )
    with requests.Session() as seed:  # the server before the PR: one UI edit, one old flow
        seed.auth = (USER, PASSWORD)
        yaml_body = {"Content-Type": "application/x-yaml"}
        flows = f"{server}/api/v1/main/flows"
        for source in (hello, legacy):
            seed.post(flows, data=source.encode(), headers=yaml_body).raise_for_status()
        seed.put(
            f"{flows}/company.team/hello-world",
            data=(hello + "# edited in the UI\n").encode(),
            headers=yaml_body,
        ).raise_for_status()
    monkeypatch.chdir(repo)

    def action(**inputs):
        env = {
            **action_env(tmp_path, repo, github, number=5),
            "INPUT_SERVER": server,
            "INPUT_USERNAME": USER,
            "INPUT_PASSWORD": PASSWORD,
            "INPUT_GITHUB_TOKEN": GH_TOKEN,
        }
        code, log = run_action(env, **inputs)
        outputs = step_outputs(tmp_path)
        summary = (tmp_path / "summary.md").read_text()
        for text in (log, summary, (tmp_path / "out").read_text()):
            for line in text.splitlines():
                if not line.startswith("::add-mask::"):
                    assert PASSWORD not in line and GH_TOKEN not in line
        return code, outputs, summary, log

    code, outputs, summary, log = action(command="plan", comment="true", delete="true")
    assert code == 0, log
    # 5 flows + company.data's script and its 2 KV pairs; hello-world updated; legacy deleted.
    assert (outputs["creates"], outputs["updates"], outputs["deletes"]) == ("8", "1", "1")
    assert outputs["has-changes"] == "true" and Path(outputs["plan-file"]).is_file()
    assert "🗑️ | flow | `company.team/legacy` | delete (r1)" in summary
    assert len(FakeGitHub.comments) == 1
    assert FakeGitHub.comments[0]["body"].startswith("<!-- kestra-sync:plan:main -->")

    code, outputs, _, log = action(command="plan", comment="true", delete="false")
    assert code == 0 and outputs["deletes"] == "0" and outputs["unmanaged"] == "1", log
    assert len(FakeGitHub.comments) == 1  # updated in place, not a second comment
    assert "1 on the server but not in git" in FakeGitHub.comments[0]["body"]

    code, outputs, summary, log = action(command="apply", delete="true")
    assert code == 0, log
    assert (outputs["applied"], outputs["failed"]) == ("10", "0")
    assert "**10 done, 0 failed, 0 not attempted.**" in summary
    gone = requests.get(f"{server}/api/v1/main/flows/company.team/legacy", auth=(USER, PASSWORD))
    assert gone.status_code == 404

    code, outputs, _, log = action(command="plan", comment="true", delete="true")
    assert code == 0 and outputs["has-changes"] == "false" and outputs["unchanged"] == "9", log
    assert len(FakeGitHub.comments) == 1
    assert "No changes: the server matches git." in FakeGitHub.comments[0]["body"]
