"""One repository, several environments (issue 22, item 3), with the real CLI against two
emulators (staging and prod, each with its own credentials) and against one emulator that both
share through a namespace mapping."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.support.cli import run_cli
from tests.support.project import SCHEMA, client, line_with, server_source

NS = "company.team"
ETL = (
    "id: etl\nnamespace: company.team\n"
    "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{ kv('region') }}\"\n"
)
STAGING_USER, PROD_USER = ("stage@example.com", "Stage1234"), ("prod@example.com", "Prod12345")


def write(root, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def kv_of(emu, auth, ns: str = NS) -> dict:
    from kestra_sync.client import KestraClient

    with KestraClient(emu.url, username=auth[0], password=auth[1], retries=0) as c:
        return {k: v for k, (_, v) in c.namespace_kv(ns).items()}


def files_of(emu, auth, ns: str = NS) -> dict:
    from kestra_sync.client import KestraClient

    with KestraClient(emu.url, username=auth[0], password=auth[1], retries=0) as c:
        return c.export_namespace_files(ns)


@pytest.fixture
def two(tmp_path, make_emulator):
    staging = make_emulator(users=dict([STAGING_USER]))
    prod = make_emulator(users=dict([PROD_USER]))
    write(
        tmp_path,
        "kestra-sync.yml",
        f"""directory: flows
layout: nested
default_env: staging
environments:
  staging:
    url: {staging.url}
    username_env: STAGING_USER
    password_env: STAGING_PASSWORD
  prod:
    url: {prod.url}
    username_env: PROD_USER
    password_env: PROD_PASSWORD
    kestra_version: "1.0"
""",
    )
    write(tmp_path, "flows/company/team/etl.yml", ETL)
    write(tmp_path, "flows/company/team/kv.yml", "values:\n  region: eu-west-1\n  retries: 3\n")
    write(tmp_path, "flows/company/team/kv.prod.yml", "values:\n  region: us-east-1\n")
    write(tmp_path, "flows/company/team/_files/load.py", "print('shared')\n")
    write(tmp_path, "flows/company/team/_files/common.py", "X = 1\n")
    write(tmp_path, "flows/company/team/_files.prod/load.py", "print('prod')\n")
    env = {
        "STAGING_USER": STAGING_USER[0],
        "STAGING_PASSWORD": STAGING_USER[1],
        "PROD_USER": PROD_USER[0],
        "PROD_PASSWORD": PROD_USER[1],
        # another server's generic variables: an environment that names its own never uses them
        "KESTRA_USERNAME": "someone@else.io",
        "KESTRA_PASSWORD": "not-this-one",
    }
    return tmp_path, staging, prod, env


def test_two_environments_get_their_own_server_credentials_kv_values_and_files(two):
    root, staging, prod, env = two
    first = run_cli("apply", "--auto-approve", cwd=root, env=env)  # default_env: staging
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith(f"Plan for {staging.url}, tenant main\nEnvironment staging.\n")
    assert kv_of(staging, STAGING_USER) == {"region": "eu-west-1", "retries": 3}
    assert files_of(staging, STAGING_USER) == {
        "/load.py": b"print('shared')\n",
        "/common.py": b"X = 1\n",
    }
    assert prod.store.last("main", NS, "etl") is None  # nothing reached prod

    second = run_cli("apply", "--env", "prod", "--auto-approve", cwd=root, env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Environment prod." in second.stdout
    assert "Kestra 1.0" in second.stderr  # the environment's kestra_version
    assert kv_of(prod, PROD_USER) == {"region": "us-east-1", "retries": 3}
    assert files_of(prod, PROD_USER) == {"/load.py": b"print('prod')\n", "/common.py": b"X = 1\n"}
    # without a mapping, each server holds the flow byte for byte as git does
    assert server_source(prod, NS, "etl") == ETL
    assert server_source(staging, NS, "etl") == ETL

    # KESTRA_SYNC_ENV selects it too; both converge
    again = run_cli("plan", "--detailed-exitcode", cwd=root, env={**env, "KESTRA_SYNC_ENV": "prod"})
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Environment prod." in again.stdout
    staged = run_cli("plan", "--detailed-exitcode", cwd=root, env=env)
    assert staged.returncode == 0, staged.stdout + staged.stderr


def test_a_saved_plan_is_applied_only_in_its_own_environment(two):
    root, staging, prod, env = two
    saved = run_cli("plan", "--env", "prod", "--out", "plan.json", cwd=root, env=env)
    assert saved.returncode == 0, saved.stderr
    data = json.loads((root / "plan.json").read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["environment"] == {"name": "prod", "namespace_map": {}}
    refused = run_cli("apply", "plan.json", cwd=root, env=env)  # default_env: staging
    assert refused.returncode == 1
    assert (
        "error: the saved plan was made for environment prod, and this apply runs in "
        "environment staging" in refused.stderr
    )
    assert "hint: apply it with --env prod" in refused.stderr
    assert staging.store.last("main", NS, "etl") is None
    done = run_cli("apply", "plan.json", "--env", "prod", cwd=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_source(prod, NS, "etl") == ETL


def test_the_default_is_explicit_and_credentials_are_named_not_stored(two):
    root, staging, prod, env = two
    config = root / "kestra-sync.yml"
    config.write_text(config.read_text().replace("default_env: staging\n", ""))
    guess = run_cli("plan", cwd=root, env=env)
    assert guess.returncode == 1
    assert "names several environments (prod, staging) and none is selected" in guess.stderr
    assert "hint: choose one with --env NAME (or KESTRA_SYNC_ENV=NAME)" in guess.stderr
    # validate offline needs no server, hence no environment
    assert run_cli("validate", cwd=root, env=env).returncode == 0

    typo = run_cli("plan", "--env", "prd", cwd=root, env=env)
    assert typo.returncode == 1 and "no environment 'prd' (flag)" in typo.stderr
    assert "did you mean 'prod'?" in typo.stderr
    typo = run_cli("plan", cwd=root, env={**env, "KESTRA_SYNC_ENV": "qa"})
    assert "no environment 'qa' (env KESTRA_SYNC_ENV)" in typo.stderr

    missing = run_cli("plan", "--env", "prod", cwd=root, env={"PROD_USER": PROD_USER[0]})
    assert missing.returncode == 1
    assert "environment prod reads its credentials from PROD_PASSWORD, which is not set" in (
        missing.stderr
    )

    config.write_text(config.read_text() + "    password: Prod12345\n")
    stored = run_cli("plan", "--env", "prod", cwd=root, env=env)
    assert stored.returncode == 1
    assert "environments.prod: 'password' must not be stored in a config file" in stored.stderr
    assert "Prod12345" not in stored.stderr + stored.stdout


def test_an_overlay_for_an_environment_the_config_does_not_name_is_an_error(two):
    root, staging, prod, env = two
    write(root, "flows/company/team/kv.dev.yml", "values:\n  region: local\n")
    done = run_cli("plan", cwd=root, env=env)
    assert done.returncode == 1
    assert "kv.dev.yml" in done.stderr
    assert "environment 'dev', which the config does not name" in done.stderr
    # validate (the pre-commit hook) says so too, offline, and reads every environment's overlay
    write(root, "flows/company/team/kv.prod.yml", "values:\n  api_token: abc\n")
    checked = run_cli("validate", cwd=root)
    assert checked.returncode == 1
    assert "kv.dev.yml" in checked.stdout + checked.stderr
    assert "KV key 'api_token' looks like a secret" in checked.stdout + checked.stderr


CHILD = (
    "id: child\nnamespace: company.team\n"
    "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
)
CALLER = """id: caller
namespace: company.team   # the team's flows
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: child
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "namespace: company.team stays text"
triggers:
  - id: after_child
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      flows:
        - namespace: 'company.team'
          flowId: child
"""


def test_a_namespace_mapping_lets_two_environments_share_one_server(tmp_path, make_emulator):
    emulator = make_emulator(version="1.3")  # Flow-trigger preconditions: before Kestra 2.0
    write(
        tmp_path,
        "kestra-sync.yml",
        f"""directory: flows
layout: nested
default_env: prod
environments:
  staging:
    url: {emulator.url}
    namespace_map: {{company: staging.company}}
  prod:
    url: {emulator.url}
""",
    )
    write(tmp_path, "flows/company/team/child.yml", CHILD)
    write(tmp_path, "flows/company/team/caller.yml", CALLER)
    write(tmp_path, "flows/company/team/kv.yml", "values:\n  region: eu\n")

    staged = run_cli("apply", "--env", "staging", "--auto-approve", cwd=tmp_path)
    assert staged.returncode == 0, staged.stdout + staged.stderr
    assert (
        "Environment staging, with namespace_map company -> staging.company: namespaces, and the "
        "flow sources that name them, are rewritten from git's." in staged.stdout
    )
    line_with(staged.stdout, "namespace staging.company.team")
    mapped = server_source(emulator, "staging.company.team", "caller")
    # only the namespaces' own characters changed: comments, quotes and the message stay
    assert mapped == CALLER.replace(
        "namespace: company.team   #", "namespace: staging.company.team   #"
    ).replace("    namespace: company.team\n", "    namespace: staging.company.team\n").replace(
        "- namespace: 'company.team'", "- namespace: 'staging.company.team'"
    )
    assert server_source(emulator, "company.team", "caller") is None
    with client(emulator) as c:
        assert {k: v for k, (_, v) in c.namespace_kv("staging.company.team").items()} == {
            "region": "eu"
        }

    prod = run_cli("apply", "--auto-approve", cwd=tmp_path)  # default_env: prod, no mapping
    assert prod.returncode == 0, prod.stdout + prod.stderr
    assert server_source(emulator, "company.team", "caller") == CALLER
    assert server_source(emulator, "company.team", "child") == CHILD

    plan = run_cli("plan", "--env", "staging", "--format", "json", cwd=tmp_path)
    data = json.loads(plan.stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["environment"] == {
        "name": "staging",
        "namespace_map": {"company": "staging.company"},
    }
    assert data["summary"]["create"] == 0 and data["summary"]["update"] == 0
    markdown = run_cli("plan", "--env", "staging", "--format", "markdown", cwd=tmp_path)
    # Markdown-escaped (report/escape.py): it renders as "namespace_map company -> staging.company"
    assert "namespace\\_map company -\\> staging.company" in markdown.stdout

    # diff undoes one mapping and applies the other: the two copies agree, both ways
    for pair in (("staging", "prod"), ("prod", "staging")):
        same = run_cli(
            "diff", "--env", pair[0], "--env", pair[1], "--detailed-exitcode", cwd=tmp_path
        )
        assert same.returncode == 0, same.stdout + same.stderr

    partial = run_cli("plan", "--env", "staging", "--target", "company.team/caller", cwd=tmp_path)
    assert partial.returncode == 1 and "not supported with a mapping" in partial.stderr
    pulled = run_cli("pull", "--env", "staging", "--all", "out", cwd=tmp_path)
    assert pulled.returncode == 1 and "maps namespaces (namespace_map)" in pulled.stderr


def test_diff_shows_what_promoting_staging_to_prod_would_change(two):
    """Item 4: the two servers compared for what git manages, in the plan's formats; values
    git sets per environment (kv.prod.yml, _files.prod/) are meant to differ and are left out."""
    root, staging, prod, env = two
    assert run_cli("apply", "--auto-approve", cwd=root, env=env).returncode == 0
    assert run_cli("apply", "--env", "prod", "--auto-approve", cwd=root, env=env).returncode == 0
    same = run_cli(
        "diff", "--env", "staging", "--env", "prod", "--detailed-exitcode", cwd=root, env=env
    )
    assert same.returncode == 0, same.stdout + same.stderr
    assert "Promotion from environment staging" in same.stdout

    # a newer etl and a new KV value reach staging only (deployed from a branch, say)
    newer = ETL.replace("kv('region')", "kv('region') ~ '!'")
    write(root, "flows/company/team/etl.yml", newer)
    write(root, "flows/company/team/kv.yml", "values:\n  region: eu-west-1\n  retries: 5\n")
    assert run_cli("apply", "--auto-approve", cwd=root, env=env).returncode == 0
    write(root, "flows/company/team/etl.yml", ETL)  # git (and prod) as before
    write(root, "flows/company/team/kv.yml", "values:\n  region: eu-west-1\n  retries: 3\n")

    done = run_cli(
        "diff", "--env", "staging", "--env", "prod", "--detailed-exitcode", cwd=root, env=env
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.startswith(
        f"Plan for {prod.url}, tenant main\nPromotion from environment staging"
    )
    line_with(done.stdout, "~ etl", "update")
    assert "+    message: \"{{ kv('region') ~ '!' }}\"" in done.stdout
    line_with(done.stdout, "~ kv retries", "update")
    assert "value -> 5 (the server's value is not shown)" in done.stdout
    # prod's own value (kv.prod.yml) and file (_files.prod/) are kept, so they do not differ
    assert "region " not in done.stdout and "load.py" not in done.stdout
    assert "Plan: 0 to create, 2 to update, 0 to delete, 3 unchanged." in done.stdout
    assert server_source(prod, NS, "etl") == ETL  # nothing was written

    # In a GitHub Actions step a diff line of a source may start with `::` after its
    # indentation: the runner must not read it as a workflow command.
    ci = run_cli(
        "diff", "--env", "staging", "--env", "prod", cwd=root, env={**env, "GITHUB_ACTIONS": "true"}
    )
    lines = ci.stdout.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-1] == f"::{token}::", ci.stdout

    data = json.loads(
        run_cli(
            "diff", "--env", "staging", "--env", "prod", "--format", "json", cwd=root, env=env
        ).stdout
    )
    jsonschema.validate(data, SCHEMA)
    assert data["promotion"]["from"]["name"] == "staging"
    assert data["environment"]["name"] == "prod"
    assert data["summary"]["update"] == 2 and data["summary"]["delete"] == 0

    once = run_cli("diff", "--env", "staging", cwd=root, env=env)
    assert once.returncode == 2 and "give --env twice" in once.stderr
