"""Issue 23's done-criterion in one repository: flows, namespace files, kv.yml, dashboards,
flow test suites, apps and a namespace.yml with a secret from the environment. Against the
Enterprise emulator it plans, applies with ``--run-tests`` (a passing run, then a failing one
that fails the step, keeps the deploy and names the rollback command), pulls back into a fresh
directory with ``pull --all`` and re-plans to "no changes". Against the OSS emulator the
dashboards deploy, and the Enterprise-only kinds say they need Enterprise before any write.
The real CLI in a child process, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import requests
import yaml

from kestra_sync.emulator.enterprise import store_of
from tests.support.gitrepo import git, make_repo
from tests.support.project import Project, client, line_with, server_source

NS = "company.team"
SECRET = "all-kinds-S3cret-9d1e"
ENV = {"ALL_KINDS_DB_PASSWORD": SECRET}
FLOW = (
    f"id: orders\nnamespace: {NS}\ntasks:\n"
    "  - id: extract\n    type: io.kestra.plugin.core.log.Log\n    message: v1\n"
    "  - id: load\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
)
SUITE = (
    f"id: orders-smoke\nnamespace: {NS}\nflowId: orders\n"
    "testCases:\n"
    "  - id: loads_one_row\n    type: io.kestra.core.tests.flow.UnitTest\n"
    "    fixtures:\n      tasks:\n        - id: extract\n"
    "    assertions:\n      - taskId: load\n        value: '{{ outputs.load }}'\n"
    "        isNotNull: true\n"
)
APP = (
    "id: request\ntype: io.kestra.plugin.ee.apps.Execution\ndisplayName: Request a run\n"
    f"namespace: {NS}\nflowId: orders\naccess:\n  type: PRIVATE\n"
)
BOARD = (
    "id: ops\ntitle: Operations\ncharts:\n  - id: per_day\n"
    "    type: io.kestra.plugin.core.dashboard.chart.TimeSeries\n    data:\n"
    "      type: io.kestra.plugin.core.dashboard.data.Executions\n"
    "      columns:\n        date:\n          field: START_DATE\n"
)
SETTINGS = (
    "description: Orders team\nvariables:\n  region: eu-west-1\n"
    "secrets:\n  - key: DB_PASSWORD\n    env: ALL_KINDS_DB_PASSWORD\n"
)
FILES = {
    "flows/company/team/orders.yml": FLOW,
    "flows/company/team/_tests/orders-smoke.yml": SUITE,
    "flows/company/team/_apps/request.yml": APP,
    "flows/company/team/namespace.yml": SETTINGS,
    "flows/company/team/kv.yml": "values:\n  region: eu-west-1\n  retries: 3\n",
    "flows/company/team/_files/sql/load.sql": "select 1;\n",
    "flows/_dashboards/ops.yml": BOARD,
}
KV_FILE = "flows/company/team/kv.yml"
SETTINGS_FILE = "flows/company/team/namespace.yml"
CONFIG = "directory: flows\nlayout: nested\n"


def must(done) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def repository(root: Path, emu) -> Project:
    make_repo(root, {"kestra-sync.yml": CONFIG, **FILES})
    return Project(root, emu, env=ENV)


def set_outcome(emu, **outcome) -> None:
    body = {"namespace": NS, "id": "orders-smoke", **outcome}
    requests.post(f"{emu.url}/_emulator/test-outcomes", json=body, timeout=5).raise_for_status()


def test_every_kind_plans_applies_runs_its_tests_pulls_back_and_converges(tmp_path, make_emulator):
    emu = make_emulator(edition="ee")
    p = repository(tmp_path / "repo", emu)

    planned = must(p.plan())
    for words in (
        ("+ orders", "create"),
        ("+ test orders-smoke", "create"),
        ("+ app request", "create"),
        ("+ namespace settings", "create"),
        ("+ secret DB_PASSWORD", "create"),
        ("+ dashboard ops", "create"),
        ("will be set from $ALL_KINDS_DB_PASSWORD (value not shown)",),
    ):
        line_with(planned, *words)
    assert "sql/load.sql" in planned and "region" in planned

    first = must(p.run("apply", "--auto-approve", "--run-tests"))
    line_with(first, "PASS company.team/orders-smoke (flow orders): SUCCESS")
    line_with(first, "Tests: 1 suite(s) passed, 0 failed.")
    assert SECRET not in first
    assert store_of(emu.server).secrets["main"][NS] == {"DB_PASSWORD": SECRET}
    with client(emu) as c:
        assert c.tenant_dashboards() == {"ops": BOARD}
        assert c.export_namespace_files(NS) == {"/sql/load.sql": b"select 1;\n"}
        assert {k: v for k, (_, v) in c.namespace_kv(NS).items()} == {
            "region": "eu-west-1",
            "retries": 3,
        }

    # A new revision whose test fails: the step fails, the deploy stays, the rollback is named.
    (p.root / "flows/company/team/orders.yml").write_text(FLOW.replace("v1", "v2"))
    git(p.root, "commit", "-qam", "v2")
    head = git(p.root, "rev-parse", "HEAD")
    set_outcome(emu, cases={"loads_one_row": "FAILED"}, taskId="load", expected=1, actual=0)
    failed = p.run("apply", "--auto-approve", "--run-tests")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    line_with(failed.stdout, "FAIL company.team/orders-smoke (flow orders): FAILED")
    line_with(failed.stdout, "To roll back", f"git checkout {head[:12]}~1 && kestra-sync apply")
    assert "message: v2" in (server_source(emu, NS, "orders") or "")

    # Pulled into a fresh directory, everything plans to "no changes" (a secret comes back as
    # its key only, with the environment variable an apply would read it from).
    (tmp_path / "pulled").mkdir()
    fresh = Project(tmp_path / "pulled", emu, env=ENV)
    fresh.config(CONFIG)
    pulled = must(fresh.run("pull", "--all", "flows"))
    assert SECRET not in pulled
    for name, text in FILES.items():
        if name in (SETTINGS_FILE, KV_FILE):
            continue  # both written by pull in its own words: compared below
        assert (fresh.root / name).read_text(encoding="utf-8") == text.replace("v1", "v2"), name
    kv = yaml.safe_load((fresh.root / KV_FILE).read_text(encoding="utf-8"))
    assert kv == yaml.safe_load(FILES[KV_FILE])
    written = (fresh.root / SETTINGS_FILE).read_text(encoding="utf-8")
    assert "key: DB_PASSWORD" in written and SECRET not in written
    again = fresh.plan("--delete", "--detailed-exitcode")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout + again.stderr


def test_on_oss_dashboards_deploy_and_enterprise_kinds_need_enterprise(tmp_path, make_emulator):
    oss = make_emulator()
    p = repository(tmp_path / "repo", oss)
    planned = p.plan()
    assert planned.returncode == 1
    out = planned.stdout + planned.stderr
    for what in ("apps", "namespace settings", "namespace secrets"):
        line_with(out, f"{what} need Kestra Enterprise")
    line_with(out, "flow tests need Kestra Enterprise")
    applied = p.run("apply", "--auto-approve", "--run-tests")
    assert applied.returncode == 1
    assert SECRET not in applied.stdout + applied.stderr
    assert server_source(oss, NS, "orders") is None  # nothing half applied
    with client(oss) as c:
        assert c.tenant_dashboards() == {}

    # Without the Enterprise-only files, the same repository deploys its dashboards on OSS.
    for name in FILES:
        if "_tests" in name or "_apps" in name or name.endswith("namespace.yml"):
            (p.root / name).unlink()
    must(p.run("apply", "--auto-approve"))
    with client(oss) as c:
        assert c.tenant_dashboards() == {"ops": BOARD}
    again = p.plan("--detailed-exitcode")
    assert again.returncode == 0 and "No changes" in again.stdout, again.stdout
