"""The Action's `env` input (issue 22, item 3): the entry point runs the real CLI against two
emulators; the input selects the environment of kestra-sync.yml, whose credentials come from
the variables it names, and the plan comment is keyed and titled by it."""

from __future__ import annotations

from tests.support.github import FakeGitHub, action_env, run_action, step_outputs
from tests.support.project import server_source

FLOW = (
    "id: etl\nnamespace: company.team\n"
    "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
)


def test_the_env_input_selects_the_environment_and_keys_the_comment(
    github,
    make_emulator,
    tmp_path,
    monkeypatch,
):
    staging = make_emulator(users={"s@example.com": "Stage1234"})
    prod = make_emulator(users={"p@example.com": "Prod12345"})
    repo = tmp_path / "repo"
    (repo / "flows/company/team").mkdir(parents=True)
    (repo / "flows/company/team/etl.yml").write_text(FLOW)
    (repo / "kestra-sync.yml").write_text(
        f"""directory: flows
default_env: staging
environments:
  staging: {{url: "{staging.url}", username_env: STAGE_USER, password_env: STAGE_PASSWORD}}
  prod: {{url: "{prod.url}", username_env: PROD_USER, password_env: PROD_PASSWORD}}
"""
    )
    monkeypatch.chdir(repo)

    def action(**inputs):
        env = {
            **action_env(tmp_path, repo, github),
            "INPUT_GITHUB_TOKEN": "ghs_token_123456",
            # the step's env: holds each environment's credentials, from secrets
            "STAGE_USER": "s@example.com",
            "STAGE_PASSWORD": "Stage1234",
            "PROD_USER": "p@example.com",
            "PROD_PASSWORD": "Prod12345",
        }
        code, log = run_action(env, **inputs)
        return code, step_outputs(tmp_path), log

    code, outputs, log = action(command="plan", comment="true", env="prod")
    assert code == 0, log
    assert outputs["creates"] == "1"
    body = FakeGitHub.comments[0]["body"]
    assert body.startswith("<!-- kestra-sync:plan:prod-main -->")
    assert "### kestra-sync plan · environment `prod`" in body
    assert "Environment prod." in body

    code, outputs, log = action(command="plan", comment="true")  # default_env: staging
    assert code == 0, log
    assert len(FakeGitHub.comments) == 2  # one comment per environment
    assert FakeGitHub.comments[1]["body"].startswith("<!-- kestra-sync:plan:main -->")

    code, outputs, log = action(command="apply", env="prod")
    assert code == 0, log
    assert server_source(prod, "company.team", "etl") == FLOW
    assert server_source(staging, "company.team", "etl") is None
