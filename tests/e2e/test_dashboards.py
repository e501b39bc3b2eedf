"""Dashboards end to end: the real CLI in a child process, over real HTTP, against the OSS
emulator. A repository of flows and dashboards plans, applies, pulls back byte for byte and
re-plans to "no changes"; an edit made in the UI shows as drift; --target, the saved plan, the
JSON and Markdown reports, and the delete guards (never on a failed listing)."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest

from tests.e2e import test_environments
from tests.e2e.test_plan import SCHEMA
from tests.support.cli import run_cli
from tests.support.project import Project, client, flow, line_with

TS = "io.kestra.plugin.core.dashboard.chart.TimeSeries"
LISTING = "/api/v1/{tenant}/dashboards"


def board(did: str, title: str = "Operations") -> str:
    return (
        f"id: {did}\ntitle: {title}   # the comment stays\ndescription: what runs\n"
        f"charts:\n  - id: per_day\n    type: {TS}\n    data:\n"
        "      type: io.kestra.plugin.core.dashboard.data.Executions\n"
        "      columns:\n        date:\n          field: START_DATE\n"
    )


def put_board(p: Project, did: str, text: str | None = None) -> None:
    folder = p.root / "flows" / "_dashboards"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{did}.yml").write_text(text or board(did), encoding="utf-8")


def server_boards(p: Project) -> dict[str, str]:
    with client(p.emu) as c:
        return c.tenant_dashboards()


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    (tmp_path / "repo").mkdir()
    p = Project(tmp_path / "repo", emulator)
    p.config("directory: flows\nlayout: dotted\n")
    p.write(flow("etl"))
    put_board(p, "ops")
    put_board(p, "sales", board("sales", "Sales"))
    return p


def must(done) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_flows_and_dashboards_plan_apply_pull_back_and_replan_to_no_changes(project, tmp_path):
    planned = must(project.plan())
    line_with(planned, "tenant main (dashboards)")
    line_with(planned, "+ dashboard ops", "create", "flows/_dashboards/ops.yml")
    line_with(planned, "Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged.")
    must(project.run("apply", "--auto-approve"))
    assert server_boards(project) == {"ops": board("ops"), "sales": board("sales", "Sales")}
    again = project.plan("--detailed-exitcode")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout

    project.emu.stats.reset()
    (tmp_path / "pulled").mkdir()
    pulled = Project(tmp_path / "pulled", project.emu)
    shutil.copy(project.root / "kestra-sync.yml", pulled.root / "kestra-sync.yml")
    must(pulled.run("pull", "--all", "flows"))
    for did in ("ops", "sales"):
        back = (pulled.root / "flows" / "_dashboards" / f"{did}.yml").read_bytes()
        assert back == (project.root / "flows" / "_dashboards" / f"{did}.yml").read_bytes()
    # One listing for the tenant, then one GET per dashboard: never a request per namespace.
    assert project.emu.stats.count("GET", LISTING) == 1
    assert project.emu.stats.count("GET", LISTING + "/{id}") == 2
    replan = pulled.plan("--delete", "--detailed-exitcode")
    assert replan.returncode == 0 and "No changes" in replan.stdout, replan.stdout


def test_an_edit_in_the_ui_shows_as_drift_and_makes_a_saved_plan_stale(project):
    must(project.run("apply", "--auto-approve"))
    put_board(project, "sales", board("sales", "Sales v2"))
    must(project.plan("--out", "plan.json"))
    with client(project.emu) as c:
        c.update_dashboard("ops", "id: ops\ntitle: Ops (edited in the UI)\n")
    drift = must(project.plan())
    line_with(drift, "~ dashboard ops", "update")
    line_with(drift, "-title: Ops (edited in the UI)")
    line_with(drift, "+title: Operations   # the comment stays")
    stale = project.run("apply", "plan.json", "--auto-approve")
    assert stale.returncode != 0
    assert "dashboard ops changed on the server since the plan" in stale.stderr, stale.stderr
    assert server_boards(project)["sales"] == board("sales", "Sales")  # nothing applied


def test_target_a_dashboard_and_every_report_says_which_tenant(project):
    data = project.plan_json("--target", "dashboard:ops")
    assert [(c["kind"], c["namespace"], c["id"]) for c in data["changes"]] == [
        ("dashboard", "", "ops")
    ]
    markdown = must(project.plan("--format", "markdown"))
    line_with(markdown, "| dashboard of tenant `main` | `ops` | create |")
    must(project.plan("--target", "dashboard:ops", "--out", "ops.json"))
    applied = must(project.run("apply", "ops.json", "--auto-approve", "--format", "json"))
    report = json.loads(applied)
    jsonschema.validate(report, SCHEMA)
    assert list(server_boards(project)) == ["ops"]
    missing = project.plan("--target", "dashboard:nope")
    assert missing.returncode != 0
    assert "--target dashboard:nope matches no dashboard" in missing.stdout + missing.stderr


def test_a_dashboard_only_on_the_server_is_deleted_only_with_delete_and_a_full_listing(project):
    must(project.run("apply", "--auto-approve"))
    with client(project.emu) as c:
        c.create_dashboard("id: made-in-ui\ntitle: UI\n")
    kept = must(project.plan())
    line_with(kept, "? dashboard made-in-ui", "keep")
    line_with(kept, "not in git (deletion is off: --delete would remove it)")
    project.emu.faults.add("GET", r"/api/v1/main/dashboards$", status=500, count=10)
    failed = project.run("apply", "--auto-approve", "--delete")
    assert failed.returncode != 0
    assert "could not read the dashboards of tenant main" in failed.stdout + failed.stderr
    project.emu.faults.clear()
    assert "made-in-ui" in server_boards(project)
    must(project.run("apply", "--auto-approve", "--delete"))
    assert sorted(server_boards(project)) == ["ops", "sales"]


def test_an_emptied_folder_deletes_nothing_without_allow_empty_namespace(project):
    must(project.run("apply", "--auto-approve"))
    for path in (project.root / "flows" / "_dashboards").iterdir():
        path.unlink()
    guarded = must(project.plan("--delete"))
    assert guarded.count("not deleted: git has no dashboard in this tenant") == 2, guarded
    must(project.run("apply", "--auto-approve", "--delete", "--allow-empty-namespace"))
    assert server_boards(project) == {}


def test_on_enterprise_each_tenant_gets_its_own_dashboards(make_emulator, tmp_path):
    emu = make_emulator(edition="ee")
    p = Project(tmp_path, emu)
    p.config("tenants:\n  staging: staging\n  prod: prod\n")
    for tenant in ("staging", "prod"):
        folder = tmp_path / tenant / "_dashboards"
        folder.mkdir(parents=True)
        (folder / "ops.yml").write_text(board("ops", f"Ops {tenant}"), encoding="utf-8")
    (tmp_path / "prod" / "_dashboards" / "sla.yml").write_text(board("sla"), encoding="utf-8")
    planned = must(p.plan())
    line_with(planned, "tenant prod (dashboards)")
    line_with(planned, "tenant staging (dashboards)")
    must(p.run("apply", "--auto-approve"))
    with client(emu, "staging") as c:
        assert c.tenant_dashboards() == {"ops": board("ops", "Ops staging")}
    with client(emu, "prod") as c:
        assert sorted(c.tenant_dashboards()) == ["ops", "sla"]
    again = p.plan("--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_server_before_1_0_is_refused_before_any_write(make_emulator, tmp_path):
    emu = make_emulator(version="0.22")
    p = Project(tmp_path, emu)
    put_board(p, "ops")
    refused = p.run("apply", "--auto-approve")
    assert refused.returncode != 0
    assert "dashboards need Kestra 1.0 or later" in refused.stderr, refused.stderr
    assert emu.stats.count("POST") == 0


@pytest.fixture
def environments(tmp_path, make_emulator):
    """test_environments' staging and prod, each on its own emulator."""
    return test_environments.two.__wrapped__(tmp_path, make_emulator)


def test_diff_between_environments_shows_a_dashboard_staging_has_and_prod_lacks(environments):
    root, staging, prod, env = environments
    folder = root / "flows" / "_dashboards"
    folder.mkdir()
    (folder / "ops.yml").write_text(board("ops"), encoding="utf-8")
    assert run_cli("apply", "--auto-approve", cwd=root, env=env).returncode == 0
    prod_env = ("apply", "--env", "prod", "--auto-approve")
    assert run_cli(*prod_env, cwd=root, env=env).returncode == 0
    # a newer dashboard reaches staging only, git and prod stay as they were
    (folder / "ops.yml").write_text(board("ops", "Ops v2"), encoding="utf-8")
    assert run_cli("apply", "--auto-approve", cwd=root, env=env).returncode == 0
    (folder / "ops.yml").write_text(board("ops"), encoding="utf-8")
    promoted = run_cli("diff", "--env", "staging", "--env", "prod", cwd=root, env=env)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    line_with(promoted.stdout, "~ dashboard ops", "update")
    line_with(promoted.stdout, "+title: Ops v2   # the comment stays")


def test_a_dashboard_edited_in_the_ui_is_committed_back_by_pull_branch(emulator, tmp_path):
    from tests.support.gitrepo import IDENTITY, make_repo, show

    path = "flows/_dashboards/ops.yml"
    root = make_repo(tmp_path / "repo", {"flows/company/team/a.yml": flow("a"), path: board("ops")})
    env = {"KESTRA_URL": emulator.url, **IDENTITY}
    assert run_cli("apply", "--auto-approve", cwd=root, env=env).returncode == 0
    with client(emulator) as c:
        c.update_dashboard("ops", board("ops", "Fixed in the UI"))
    done = run_cli("pull", "--branch", "kestra-sync/drift", cwd=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert show(root, "kestra-sync/drift", path).decode() == board("ops", "Fixed in the UI")
    assert (root / path).read_text(encoding="utf-8") == board("ops")  # the checkout untouched
