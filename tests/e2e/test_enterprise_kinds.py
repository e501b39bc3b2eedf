"""Apps, namespace settings and namespace secrets end to end, through the real CLI against the
emulator's Enterprise edition: plan, apply, pull back, plan again to "no changes"; a secret's
value never in any output or saved plan; a missing environment variable fails before any
write; the OSS edition says these need Enterprise."""

from __future__ import annotations

import json

import pytest
import yaml

from kestra_sync.emulator.enterprise import store_of
from kestra_sync.report.planfile import content_checksum
from tests.support.project import Project, flow, line_with, server_source

NS = "company.team"
SECRET = "s3cr3t-Value-7f9a2c"
OTHER_SECRET = "n3w-Value-41d0b8"
APP = (
    "id: request\n"
    "type: io.kestra.plugin.ee.apps.Execution\n"
    "displayName: Request a run\n"
    f"namespace: {NS}\n"
    "flowId: hello\n"
    "access:\n"
    "  type: PRIVATE\n"
)
SETTINGS = (
    "description: Orders team\n"
    "variables:\n"
    "  region: eu-west-1\n"
    "allowedNamespaces: [company.billing]\n"
    "secrets:\n"
    "  - key: DB_PASSWORD\n"
    "    env: TEAM_DB_PASSWORD\n"
)
ENV = {"TEAM_DB_PASSWORD": SECRET}


def ns_dir(p: Project):
    return p.root / "flows" / "company" / "team"


def write_repo(p: Project, settings: str = SETTINGS) -> None:
    p.config("directory: flows\nlayout: nested\n")
    (ns_dir(p) / "_apps").mkdir(parents=True, exist_ok=True)
    (ns_dir(p) / "hello.yml").write_text(flow("hello"))
    (ns_dir(p) / "_apps" / "request.yml").write_text(APP)
    (ns_dir(p) / "namespace.yml").write_text(settings)


def ee(p: Project):
    return store_of(p.emu.server)


@pytest.fixture
def project(tmp_path, make_emulator) -> Project:
    (tmp_path / "repo").mkdir()
    p = Project(tmp_path / "repo", make_emulator(edition="ee"))
    write_repo(p)
    return p


def test_plan_apply_pull_and_plan_again_to_no_changes(project, tmp_path):
    plan = project.plan()
    assert plan.returncode == 0, plan.stderr
    line_with(plan.stdout, "+ app request", "create", "_apps/request.yml")
    line_with(plan.stdout, "+ namespace settings", "create", "namespace.yml")
    line_with(plan.stdout, "+ secret DB_PASSWORD", "create")
    line_with(plan.stdout, "will be set from $TEAM_DB_PASSWORD (value not shown)")

    applied = project.run("apply", "--auto-approve", env=ENV)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert ee(project).secrets["main"][NS] == {"DB_PASSWORD": SECRET}
    stored = ee(project).namespaces["main"][NS]
    assert stored["variables"] == {"region": "eu-west-1"}
    assert stored["allowedNamespaces"] == [{"namespace": "company.billing"}]
    assert [row["source"] for row in ee(project).apps["main"].values()] == [APP]

    again = project.plan("--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout

    (tmp_path / "pulled").mkdir()
    pulled = Project(tmp_path / "pulled", project.emu)
    pulled.config("directory: flows\nlayout: nested\n")
    done = pulled.run("pull", "--namespace", NS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (ns_dir(pulled) / "_apps" / "request.yml").read_bytes() == APP.encode()
    written = (ns_dir(pulled) / "namespace.yml").read_text()
    assert SECRET not in written
    assert "key: DB_PASSWORD" in written
    after_pull = pulled.plan("--detailed-exitcode")
    assert after_pull.returncode == 0, after_pull.stdout + after_pull.stderr
    assert "No changes" in after_pull.stdout


def test_a_secret_value_appears_in_no_output_and_no_saved_plan(project):
    outputs = []
    for args in ([], ["--format", "json"], ["--format", "markdown"], ["--out", "plan.json"]):
        done = project.plan(*args, env=ENV)
        assert done.returncode == 0, done.stderr
        outputs += [done.stdout, done.stderr]
    saved = (project.root / "plan.json").read_text()
    assert '"env": "TEAM_DB_PASSWORD"' in saved
    outputs.append(saved)
    shown = project.run("show", "plan.json")
    outputs += [shown.stdout, shown.stderr]
    # The server fails the secret's write once, echoing the value in its error.
    project.emu.faults.add(
        method="PUT", path=r".*/secrets$", status=500, body={"message": f"bad {SECRET}"}
    )
    failed = project.run("apply", "plan.json", "--auto-approve", env=ENV)
    assert failed.returncode != 0
    assert "secret DB_PASSWORD" in failed.stdout + failed.stderr
    outputs += [failed.stdout, failed.stderr]
    applied = project.run("apply", "--auto-approve", "--format", "json", env=ENV)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    outputs += [applied.stdout, applied.stderr]
    assert ee(project).secrets["main"][NS]["DB_PASSWORD"] == SECRET  # it was sent
    for text in outputs:
        assert SECRET not in text


def test_a_missing_environment_variable_fails_before_any_write(project):
    done = project.run("apply", "--auto-approve")  # TEAM_DB_PASSWORD not set
    assert done.returncode == 1
    line_with(done.stderr, "missing from the environment: $TEAM_DB_PASSWORD", "nothing was applied")
    assert server_source(project.emu, NS, "hello") is None
    assert ee(project).apps.get("main", {}) == {}
    assert ee(project).namespaces.get("main", {}) == {}


def test_a_server_secret_git_does_not_name_is_kept_even_with_delete(project):
    assert project.run("apply", "--auto-approve", env=ENV).returncode == 0
    ee(project).secrets["main"][NS]["MADE_IN_UI"] = "ui-value-000"
    plan = project.plan("--delete")
    assert plan.returncode == 0, plan.stderr
    line_with(plan.stdout, "? secret MADE_IN_UI", "keep")
    line_with(plan.stdout, "not named in namespace.yml: kept (kestra-sync never deletes a secret)")
    done = project.run("apply", "--auto-approve", "--delete", env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ee(project).secrets["main"][NS]["MADE_IN_UI"] == "ui-value-000"


def test_a_set_secret_is_sent_again_only_when_declared_resend_always(project):
    assert project.run("apply", "--auto-approve", env=ENV).returncode == 0
    rotated = {"TEAM_DB_PASSWORD": OTHER_SECRET}
    quiet = project.plan("--detailed-exitcode", env=rotated)
    assert quiet.returncode == 0, quiet.stdout  # the value cannot be compared: left as set
    assert project.run("apply", "--auto-approve", env=rotated).returncode == 0
    assert ee(project).secrets["main"][NS]["DB_PASSWORD"] == SECRET

    resend = SETTINGS.replace("env: TEAM_DB_PASSWORD", "env: TEAM_DB_PASSWORD\n    resend: always")
    (ns_dir(project) / "namespace.yml").write_text(resend)
    plan = project.plan(env=rotated)
    line_with(plan.stdout, "~ secret DB_PASSWORD", "update")
    line_with(plan.stdout, "will be sent again from $TEAM_DB_PASSWORD", "value not shown")
    assert project.run("apply", "--auto-approve", env=rotated).returncode == 0
    assert ee(project).secrets["main"][NS]["DB_PASSWORD"] == OTHER_SECRET


def test_app_changes_show_a_diff_and_a_target_narrows_to_one_app(project):
    assert project.run("apply", "--auto-approve", env=ENV).returncode == 0
    (ns_dir(project) / "_apps" / "request.yml").write_text(APP.replace("Request a", "Ask for a"))
    (ns_dir(project) / "namespace.yml").write_text(SETTINGS.replace("Orders", "Billing"))
    plan = project.plan("--target", f"app:{NS}/request")
    assert plan.returncode == 0, plan.stderr
    line_with(plan.stdout, "~ app request", "update")
    line_with(plan.stdout, "+displayName: Ask for a run")
    assert "namespace settings" not in plan.stdout
    data = project.plan_json("--target", f"namespace:{NS}/settings")
    assert [(c["kind"], c["action"]) for c in data["changes"]] == [("namespace", "update")]


def test_an_app_git_no_longer_holds_is_deleted_only_with_delete(project):
    assert project.run("apply", "--auto-approve", env=ENV).returncode == 0
    (ns_dir(project) / "_apps" / "request.yml").unlink()
    (ns_dir(project) / "_apps" / "other.yml").write_text(APP.replace("id: request", "id: other"))
    kept = project.plan()
    line_with(kept.stdout, "? app request", "keep")
    line_with(kept.stdout, "not in git (deletion is off: --delete would remove it)")
    done = project.run("apply", "--auto-approve", "--delete", env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    ids = sorted(json.dumps(r["source"]) for r in ee(project).apps["main"].values())
    assert len(ids) == 1 and "id: other" in ids[0]


def test_the_oss_edition_says_these_need_enterprise(tmp_path, make_emulator):
    p = Project(tmp_path, make_emulator())
    write_repo(p)
    plan = p.plan()
    assert plan.returncode == 1
    for what in ("apps", "namespace settings", "namespace secrets"):
        line_with(plan.stdout, f"{what} need Kestra Enterprise and this server is Kestra OSS")
    done = p.run("apply", "--auto-approve", env=ENV)
    assert done.returncode == 1
    assert server_source(p.emu, NS, "hello") is None  # nothing half applied


def test_invalid_files_are_refused_offline_with_their_line(project):
    (ns_dir(project) / "_apps" / "request.yml").write_text(APP.replace("flowId: hello\n", ""))
    (ns_dir(project) / "namespace.yml").write_text(
        "description: x\nsecrets:\n  - key: DB_PASSWORD\n    value: hunter2\n"
    )
    done = project.run("validate")
    assert done.returncode == 1
    out = done.stdout + done.stderr
    line_with(out, "request.yml", "an Execution app needs `flowId`")
    line_with(out, "namespace.yml:3", "a secret's value is never kept in git")
    assert "hunter2" not in out


def test_a_namespace_retired_from_git_keeps_its_apps_settings_and_secrets(project):
    assert project.run("apply", "--auto-approve", env=ENV).returncode == 0
    for path in sorted(ns_dir(project).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    done = project.run(
        "apply", "--auto-approve", "--delete", "--allow-empty-namespace", "--namespace", NS
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_source(project.emu, NS, "hello") is None  # the flow went
    assert ee(project).secrets["main"][NS] == {"DB_PASSWORD": SECRET}
    assert len(ee(project).apps["main"]) == 1
    assert ee(project).namespaces["main"][NS]["description"] == "Orders team"


def test_pull_from_oss_says_it_pulls_none_of_them(tmp_path, make_emulator):
    p = Project(tmp_path, make_emulator())
    p.config("directory: flows\nlayout: nested\n")
    done = p.run("pull", "--namespace", NS)
    assert done.returncode == 0, done.stdout + done.stderr
    line_with(done.stderr, "Not Kestra Enterprise: no apps, namespace settings or secrets pulled.")
    assert not (ns_dir(p) / "namespace.yml").exists()


def test_init_names_them_and_does_not_ignore_them(tmp_path, make_emulator):
    p = Project(tmp_path, make_emulator(edition="ee"))
    write_repo(p)
    (p.root / "kestra-sync.yml").unlink()
    done = p.run("init")
    assert done.returncode == 0, done.stdout + done.stderr
    line_with(done.stdout, "Found 1 flow file(s) under flows/ (layout: nested).")
    line_with(
        done.stdout,
        "Also found 1 app(s) in _apps/ and 1 namespace.yml file(s): plan and apply manage them "
        "on Kestra Enterprise only.",
    )
    assert not (p.root / "flows" / ".kestraignore").exists()
    assert p.run("validate").returncode == 0


def test_a_namespace_map_deploys_an_app_where_its_mapped_namespace_says(tmp_path, make_emulator):
    emu = make_emulator(edition="ee")
    p = Project(tmp_path, emu)
    write_repo(p, settings="description: Orders team\n")
    p.config(
        "directory: flows\nlayout: nested\ndefault_env: prod\nenvironments:\n"
        f"  staging:\n    url: {emu.url}\n    namespace_map: {{company: staging.company}}\n"
        f"  prod:\n    url: {emu.url}\n"
    )
    done = p.run("apply", "--env", "staging", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = store_of(emu.server).apps["main"].values()
    assert row["source"] == APP.replace(f"namespace: {NS}", f"namespace: staging.{NS}")
    assert list(store_of(emu.server).namespaces["main"]) == [f"staging.{NS}"]
    again = p.run("plan", "--env", "staging", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize(
    "echo",
    [
        pytest.param(lambda v: "Invalid body: " + json.dumps({"key": "K", "value": v}), id="json"),
        pytest.param(lambda v: "bad value " + json.dumps(v), id="json-ascii"),
        pytest.param(lambda v: "bad line: " + v.splitlines()[1], id="one-line"),
    ],
)
def test_a_secret_echoed_back_escaped_or_in_part_is_never_shown(project, echo):
    """A server quoting the request body back in its error writes the value as JSON text
    (quotes, backslashes, newlines and accents escaped), or one line of a multi-line value."""
    value = 'p@ss"wo\\rd-\u00e9\n-----line-two-of-the-key-----'
    project.emu.faults.add(
        method="PUT", path=r".*/secrets$", status=400, body={"message": echo(value)}
    )
    failed = project.run("apply", "--auto-approve", env={"TEAM_DB_PASSWORD": value})
    assert failed.returncode == 1
    out = failed.stdout + failed.stderr
    line_with(out, "[1/4] FAILED", "secret DB_PASSWORD", "***")
    for form in (value, json.dumps(value)[1:-1], "line-two-of-the-key", "wo\\\\rd", "p@ss"):
        assert form not in out


def test_an_app_uid_of_dot_dot_is_never_put_in_a_url(project):
    """Kestra names an app by a uid of its own: ``apps/..`` would be sent as the tenant's
    root. The listing holding it is refused, and nothing is written over it."""
    now = "2025-01-01T00:00:00Z"
    ee(project).apps.setdefault("main", {})[".."] = {"source": APP, "created": now, "updated": now}
    project.emu.stats.reset()
    plan = project.plan(env=ENV)
    assert plan.returncode == 1
    line_with(plan.stdout + plan.stderr, "could not read the apps of", "'..'", "URL")
    done = project.run("apply", "--auto-approve", env=ENV)
    assert done.returncode == 1
    assert project.emu.stats.count("POST", "/api/v1/{tenant}/apps") == 0
    assert list(ee(project).apps["main"]) == [".."]


def test_a_setting_the_servers_version_drops_fails_the_write_instead_of_recurring(project):
    """Kestra 2.0 keeps no pluginDefaults on a namespace: with no version pinned, the write
    said 'created' and every later plan showed the same update again."""
    (ns_dir(project) / "namespace.yml").write_text(
        "description: x\npluginDefaults:\n  - type: io.kestra.plugin.core.log.Log\n"
        "    values: {level: INFO}\n"
    )
    for _ in range(2):
        done = project.run("apply", "--auto-approve", env=ENV)
        assert done.returncode == 1
        line_with(
            done.stdout,
            "[",
            "FAILED",
            "namespace settings: the server did not keep pluginDefaults",
            "remove pluginDefaults from flows/company/team/namespace.yml",
        )
    assert ee(project).namespaces["main"][NS]["description"] == "x"


@pytest.mark.parametrize("variable", ["KESTRA_API_TOKEN", "INPUT_PASSWORD", "GITHUB_TOKEN"])
def test_a_secret_is_never_set_from_the_deploys_own_credentials(project, variable):
    """A namespace.yml in a pull request naming `env: KESTRA_API_TOKEN` handed the deploy's
    token to every flow of the namespace (they read its secrets)."""
    (ns_dir(project) / "namespace.yml").write_text(
        SETTINGS.replace("env: TEAM_DB_PASSWORD", f"env: {variable}")
    )
    done = project.run("apply", "--auto-approve", env={variable: "the-deploy-token-123"})
    assert done.returncode == 1
    line_with(done.stdout + done.stderr, "namespace.yml", f"${variable} holds the credentials")
    assert ee(project).secrets.get("main", {}) == {}


def test_a_saved_plan_edited_to_send_the_deploys_token_is_refused(project):
    assert project.plan("--out", "plan.json", env=ENV).returncode == 0
    plan = json.loads((project.root / "plan.json").read_text())
    for change in plan["changes"]:
        if change["kind"] == "secret":
            change["payload"]["env"] = "KESTRA_API_TOKEN"
    plan["checksum"] = content_checksum(plan)  # anyone can recompute it
    (project.root / "plan.json").write_text(json.dumps(plan))
    done = project.run("apply", "plan.json", env={**ENV, "KESTRA_API_TOKEN": "tok-123456"})
    assert done.returncode == 1
    line_with(done.stdout + done.stderr, "never set from $KESTRA_API_TOKEN")
    assert server_source(project.emu, NS, "hello") is None
    assert ee(project).secrets.get("main", {}) == {}


def test_writing_many_apps_lists_their_namespace_once_not_once_per_app(project):
    for n in range(5):
        text = APP.replace("id: request", f"id: request{n}")
        (ns_dir(project) / "_apps" / f"request{n}.yml").write_text(text)
    project.emu.stats.reset()
    done = project.run("apply", "--auto-approve", env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(ee(project).apps["main"]) == 6
    # One listing to plan, one to find the uids of the apps written (not six).
    assert project.emu.stats.count("GET", "/api/v1/{tenant}/apps/search") == 2


def test_a_pulled_secret_named_like_a_deploy_credential_gets_another_variable(project, tmp_path):
    """GITHUB_TOKEN is a common namespace secret: pull named `env: GITHUB_TOKEN`, which
    namespace.yml refuses, so the pulled repository did not validate."""
    assert project.run("apply", "--auto-approve", env=ENV).returncode == 0
    ee(project).secrets["main"][NS]["GITHUB_TOKEN"] = "ghp-from-the-ui-000"
    (tmp_path / "pulled").mkdir()
    pulled = Project(tmp_path / "pulled", project.emu)
    pulled.config("directory: flows\nlayout: nested\n")
    done = pulled.run("pull", "--namespace", NS)
    assert done.returncode == 0, done.stdout + done.stderr
    written = yaml.safe_load((ns_dir(pulled) / "namespace.yml").read_text())
    assert {"key": "GITHUB_TOKEN", "env": "SECRET_GITHUB_TOKEN"} in written["secrets"]
    again = pulled.plan("--detailed-exitcode")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr


def test_pull_overwrite_keeps_the_variable_git_names_for_each_secret(project):
    """namespace.yml says where each secret's value comes from (`env: TEAM_DB_PASSWORD`): a
    pull --overwrite of changed settings replaced it with the variable pull proposes for a new
    key, and the next apply read the secret from a variable nobody sets."""
    assert project.run("apply", "--auto-approve", env=ENV).returncode == 0
    (ns_dir(project) / "namespace.yml").write_text(SETTINGS.replace("Orders team", "Old"))
    done = project.run("pull", "--namespace", NS, "--overwrite")
    assert done.returncode == 0, done.stdout + done.stderr
    written = yaml.safe_load((ns_dir(project) / "namespace.yml").read_text())
    assert written["description"] == "Orders team"
    assert written["secrets"] == [{"key": "DB_PASSWORD", "env": "TEAM_DB_PASSWORD"}]


def test_pull_writes_the_namespace_yml_git_keeps_elsewhere(project):
    """A namespace.yml outside the namespace's folder (with `namespace:`) holds its settings:
    pull wrote a second one in the folder, and the next plan refused the two."""
    assert project.run("apply", "--auto-approve", env=ENV).returncode == 0
    elsewhere = project.root / "flows" / "settings" / "namespace.yml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(f"namespace: {NS}\n" + SETTINGS.replace("Orders team", "Old"))
    (ns_dir(project) / "namespace.yml").unlink()
    kept = project.run("pull", "--namespace", NS)
    assert kept.returncode == 1, kept.stdout + kept.stderr
    assert f"conflict   flows/settings/namespace.yml  ({NS} settings)" in kept.stderr
    done = project.run("pull", "--namespace", NS, "--overwrite")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (ns_dir(project) / "namespace.yml").exists()
    written = yaml.safe_load(elsewhere.read_text())
    assert written["namespace"] == NS and written["description"] == "Orders team"
    again = project.plan("--detailed-exitcode", env=ENV)
    assert again.returncode == 0, again.stdout + again.stderr


def test_pull_never_writes_a_namespace_variable_that_looks_like_a_secret(project, tmp_path):
    """Namespace variables are plain settings, readable by anyone who reads the namespace; one
    named or shaped like a secret was written into namespace.yml, into git."""
    assert project.run("apply", "--auto-approve", env=ENV).returncode == 0
    value = "ghp_" + "A1b2C3d4" * 5
    ee(project).namespaces["main"][NS]["variables"]["api_token"] = value
    (tmp_path / "pulled").mkdir()
    pulled = Project(tmp_path / "pulled", project.emu)
    pulled.config("directory: flows\nlayout: nested\n")
    done = pulled.run("pull", "--namespace", NS)
    assert done.returncode == 1, done.stdout + done.stderr
    line_with(done.stderr, "namespace variable 'api_token' looks like a secret")
    assert value not in done.stdout + done.stderr
    assert not (ns_dir(pulled) / "namespace.yml").exists()
