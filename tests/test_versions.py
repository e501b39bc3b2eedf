"""Kestra versions: the rule table, the target version, the upgrade lint and emulator profiles.

tests/data/versions/ holds one small flow per row of the version table with, in expected.json,
the versions that refuse it and those that accept it under an old name -- written from
Kestra's source (docs/kestra-versions.md), not computed from knowledge.py, so a wrong row fails
here. tests/data/kestra-1.3/ is a tree written the way 1.3 users write flows.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from kestra_sync.emulator import rules
from kestra_sync.errors import ConfigError, NotFoundError, TransportError
from kestra_sync.rules import knowledge
from kestra_sync.rules.kestraversion import pinned, resolve
from kestra_sync.rules.validate import validate_offline
from kestra_sync.source.flowscan import load_flow
from tests.support.cli import run_cli

DATA = Path(__file__).parent / "data"
ROWS = DATA / "versions"
EXPECTED = json.loads((ROWS / "expected.json").read_text(encoding="utf-8"))
TREE_13 = DATA / "kestra-1.3"
# Files of the 1.3 tree that use a construct Kestra 2.0 removed (healthcheck uses none).
REMOVED_IN_2 = {
    "company/sales/daily-report.yml",  # input name:, BOOLEAN, taskDefaults, json()
    "company/sales/notify.yml",  # ENUM, listeners
    "company/data/loader.yml",  # flow-level workerGroup, ForEach, Echo
    "company/data/after-load.yml",  # Flow trigger preconditions
    "company/ops/cleanup.yml",  # trigger conditions (its runIf is valid on 2.0)
}


def diagnose(path: Path, version: str | None):
    flow, diags = load_flow(path)
    assert flow is not None and diags == []
    return validate_offline([flow], version=version)


def test_every_row_file_has_an_expectation():
    assert {p.name for p in ROWS.glob("*.yml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("version", knowledge.VERSIONS)
def test_each_row_is_an_error_exactly_on_the_versions_that_refuse_it(name, version):
    row = EXPECTED[name]
    diags = [d for d in diagnose(ROWS / name, version) if d.code == row["code"]]
    severities = {d.severity for d in diags}
    if version in row["refused"]:
        assert severities == {"error"}, diags
        if row["refused"] != list(knowledge.VERSIONS):  # else no version is singled out
            assert f"Kestra {version} refuses it" in diags[0].message
    elif version in row["renamed"]:
        assert severities == {"warning"}, diags
    else:
        assert diags == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_with_no_version_only_what_every_version_refuses_is_an_error(name):
    row = EXPECTED[name]
    if set(row["refused"] + row["renamed"]) == {"2.0"}:
        # What only 2.0 changes is counted, not listed: one line names the way to list it.
        diags = [d for d in diagnose(ROWS / name, None) if d.code == "changes-in-2.0"]
        assert [(d.severity, d.message.split()[0]) for d in diags] == [("warning", "1")], diags
        return
    diags = [d for d in diagnose(ROWS / name, None) if d.code == row["code"]]
    assert len(diags) == 1, diags
    if row["refused"] == list(knowledge.VERSIONS):
        assert diags[0].severity == "error"
    else:
        # A flow some version accepts is never rejected: a warning naming who refuses it.
        assert diags[0].severity == "warning"
        if row["refused"]:
            assert knowledge.describe_versions(row["refused"]) in diags[0].message


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("profile", knowledge.EMULATOR_PROFILES)
def test_the_emulator_profile_answers_as_its_version_with_the_servers_text(name, profile):
    row = EXPECTED[name]
    source = (ROWS / name).read_text(encoding="utf-8")
    if profile in row["refused"] and row["server"] is not None:
        with pytest.raises(rules.ConstraintViolations) as caught:
            rules.parse_for_write(source, profile)
        rejection = caught.value.to_rejection()
        assert rejection.status == 422
        assert row["server"] in rejection.message
        # The validate endpoint says the same.
        item = rules.validate_one(source, 0, None, profile)
        assert row["server"] in item["constraints"]
    else:  # accepted (an expression the server does not check when it saves: row "server" null)
        rules.parse_for_write(source, profile)
        assert "constraints" not in rules.validate_one(source, 0, None, profile)


# --- a 1.3 tree ---------------------------------------------------------------------------------


def copy_tree(tmp_path: Path) -> Path:
    shutil.copytree(TREE_13, tmp_path / "flows", ignore=shutil.ignore_patterns("*.md"))
    return tmp_path


def test_a_1_3_tree_validates_clean_with_no_version_and_with_1_3(tmp_path):
    root = copy_tree(tmp_path)
    none = run_cli("validate", cwd=root)
    assert none.returncode == 0, none.stdout + none.stderr
    assert "error" not in none.stdout
    assert "(rules of Kestra 0.22-2.0: no version set)" in none.stdout
    pinned_13 = run_cli("validate", "--kestra-version", "1.3", cwd=root)
    assert pinned_13.returncode == 0, pinned_13.stdout
    # Only the deprecated `name:` of an input is mentioned on 1.3.
    assert pinned_13.stdout.count("warning:") == 1 and "[input-name]" in pinned_13.stdout
    assert "rules of Kestra 1.3, pinned by --kestra-version" in pinned_13.stdout


def test_with_no_version_a_1_3_tree_sees_one_line_about_2_0_not_one_per_construct(tmp_path):
    root = copy_tree(tmp_path)
    done = run_cli("validate", "--format", "json", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    diags = report["diagnostics"]
    # Still one by one: what versions before 2.0 also refuse or deprecate (loader.yml's
    # flow-level workerGroup before 0.24, daily-report.yml's input `name:`).
    assert sorted(d["code"] for d in diags) == ["changes-in-2.0", "flow-workerGroup", "input-name"]
    summary = next(d for d in diags if d["code"] == "changes-in-2.0")
    pinned = run_cli("validate", "--format", "json", "--kestra-version", "2.0", cwd=root)
    listed = [
        d
        for d in json.loads(pinned.stdout)["diagnostics"]
        if d["severity"] == "error" and d["code"] not in ("flow-workerGroup", "input-name")
    ]
    files = {d["path"] for d in listed}
    assert summary["message"] == (
        f"{len(listed)} constructs change in Kestra 2.0 (in {len(files)} file(s)): run "
        "`kestra-sync validate --kestra-version 2.0` to list them"
    )
    assert len(listed) > 8 and summary["severity"] == "warning"
    assert summary["path"] == "flows/company"  # the folder the files share


def test_upgrade_lint_names_every_file_using_what_2_0_removed_with_its_replacement(tmp_path):
    root = copy_tree(tmp_path)
    done = run_cli("validate", "--format", "json", cwd=root, env={"KESTRA_VERSION": "2.0"})
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["kestra_version"] == {
        "rules": "2.0",
        "origin": "pinned by env KESTRA_VERSION",
        "server": None,
    }
    errors = [d for d in report["diagnostics"] if d["severity"] == "error"]
    named = {Path(d["path"]).relative_to("flows").as_posix() for d in errors}
    assert named == REMOVED_IN_2
    assert all(d["line"] and knowledge.MIGRATION_GUIDE_2_0 in d["message"] for d in errors)
    text = "\n".join(f"{d['code']}: {d['message']}" for d in report["diagnostics"])
    # Mechanical rewrites are printed as such, the others say what to use.
    assert "removed-type: task 'load' has type io.kestra.plugin.core.debug.Echo" in text
    # Echo -> Log is not a plain rename (format: becomes message:), so it says how.
    assert "use io.kestra.plugin.core.log.Log (its 'format:' becomes 'message:')" in text
    assert "use io.kestra.plugin.core.flow.Loop" in text  # ForEach
    assert "replace it with 'BOOL'" in text and "replace it with 'SELECT'" in text
    assert "replace it with 'pluginDefaults'" in text
    # Task `runIf` is still `runIf` on 2.0 (Task.java; the rename 4e974f98c was reverted by
    # 0e7efb160): cleanup.yml's runIf is not mentioned at all.
    assert not [
        d for d in report["diagnostics"] if d["path"].endswith("cleanup.yml") and d["line"] == 8
    ]


def test_the_1_3_tree_applies_to_a_1_3_emulator_following_the_servers_version(
    make_emulator, tmp_path
):
    emu = make_emulator(version="1.3")
    root = copy_tree(tmp_path)
    done = run_cli("apply", "-y", "--server", emu.url, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply: 6 done, 0 failed, 0 not attempted." in done.stdout
    assert "note: rules of Kestra 1.3, reported by the server: 1.3.0" in done.stderr


def test_against_a_2_0_server_the_1_3_tree_stops_before_any_flow_is_sent(make_emulator, tmp_path):
    emu = make_emulator(version="2.0")
    root = copy_tree(tmp_path)
    done = run_cli("plan", "--server", emu.url, cwd=root)
    assert done.returncode == 1
    assert "Kestra 2.0 refuses it" in done.stderr
    assert "kestra-sync validate --kestra-version 2.0" in done.stderr  # the hint
    assert emu.stats.snapshot()["requests"] == {"GET /api/v1/configs": 1}


def test_a_pinned_version_other_than_the_servers_is_followed_with_a_warning(
    make_emulator, tmp_path
):
    emu = make_emulator(version="2.0")
    root = copy_tree(tmp_path)
    done = run_cli("plan", "--kestra-version", "1.3", "--server", emu.url, cwd=root)
    assert done.returncode == 0, done.stderr
    assert (
        "warning: the server runs Kestra 2.0.0 but the rules are pinned to 1.3 "
        "(--kestra-version): following 1.3" in done.stderr
    )
    plan = run_cli(
        "plan", "--format", "json", "--server", emu.url, cwd=root, env={"KESTRA_VERSION": "1.3"}
    )
    assert json.loads(plan.stdout)["kestra_version"] == {
        "rules": "1.3",
        "origin": "pinned by env KESTRA_VERSION",
        "server": "2.0.0",
    }


# --- the target version -------------------------------------------------------------------------


class _Settings:
    def __init__(self, version=None, origin="flag"):
        self.kestra_version = version
        self.origin = {"kestra_version": origin}


class _Client:
    def __init__(self, answer):
        self.answer = answer

    def server_version(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("reported", "rules_of"),
    [("1.3.2", "1.3"), ("0.24.0-SNAPSHOT", "0.24"), ("1.4.0", "1.3"), ("3.1.0", "2.0")],
)
def test_the_servers_version_maps_to_the_nearest_older_table_version(reported, rules_of):
    target = resolve(_Settings(), _Client(reported))
    assert (target.version, target.server, target.warnings) == (rules_of, reported, [])


def test_a_server_that_does_not_say_its_version_is_a_warning_not_a_failure():
    target = resolve(
        _Settings("1.3"),
        _Client(NotFoundError("404", status=404, method="GET", path="/api/v1/configs")),
    )
    assert target.version == "1.3"
    assert "could not read the server's Kestra version" in target.warnings[0]
    assert "following 1.3 as pinned" in target.warnings[0]
    # Unreachable: fail once here rather than again for every namespace.
    with pytest.raises(TransportError):
        resolve(_Settings(), _Client(TransportError("connection refused")))
    target = resolve(_Settings(), _Client("Snapshot"))  # VersionProvider's fallback text
    assert target.version is None and "cannot read" in target.warnings[0]


def test_a_version_that_is_not_one_is_a_config_error_naming_where_it_came_from(tmp_path):
    from kestra_sync.settings.config import load_settings

    with pytest.raises(ConfigError, match="environment variable KESTRA_VERSION: 'latest'"):
        load_settings(env={"KESTRA_VERSION": "latest"}, cwd=tmp_path)
    (tmp_path / "kestra-sync.yml").write_text("kestra_version: 1.3\n", encoding="utf-8")
    settings = load_settings(env={}, cwd=tmp_path)
    assert pinned(settings).version == "1.3"
    assert pinned(settings).origin == "pinned by config file kestra-sync.yml"


def test_a_pinned_version_older_than_the_table_is_refused_not_called_the_nearest_older(tmp_path):
    # 0.1 used to be followed as 0.22 "the nearest older version": 0.22 is newer, and nothing
    # says its rules hold for 0.1. A newer unknown version still maps down, honestly.
    done = run_cli("validate", "--kestra-version", "0.1", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert (
        "error: --kestra-version: Kestra 0.1 is older than every version kestra-sync knows "
        "(the oldest is 0.22)" in done.stderr
    )
    assert "nearest older" not in done.stderr and "Traceback" not in done.stderr
    (tmp_path / "kestra-sync.yml").write_text("kestra_version: '0.21'\n", encoding="utf-8")
    by_config = run_cli("validate", cwd=tmp_path)
    assert by_config.returncode == 1 and "Kestra 0.21 is older than every" in by_config.stderr
    (tmp_path / "kestra-sync.yml").unlink()
    newer = run_cli("validate", "--kestra-version", "1.4", cwd=tmp_path)
    assert "following the rules of 1.3, the nearest older version it knows" in newer.stderr


# --- emulator profiles ----------------------------------------------------------------------------


def test_emulator_reports_its_version_without_auth_and_the_client_reads_it(make_emulator):
    from kestra_sync.client import KestraClient

    emu = make_emulator(version="1.0", users={"admin@kestra.io": "Admin1234"})
    # /api/v1/configs is open (AuthenticationFilter), so no credentials are needed for it.
    assert KestraClient(emu.url).server_version() == "1.0.0"
    assert "Kestra 1.0 API emulator" in emu.describe()


def test_legacy_search_params_work_up_to_1_3_and_are_ignored_by_2_0(make_emulator):
    import requests

    for version, expected in (("1.3", 1), ("2.0", 2)):
        emu = make_emulator(version=version)
        for ns in ("acme", "other"):
            requests.post(
                emu.url + "/api/v1/main/flows",
                data=f"id: f\nnamespace: {ns}\ntasks:\n  - id: t\n    type: x.Y\n",
                headers={"Content-Type": "application/x-yaml"},
                timeout=10,
            ).raise_for_status()
        found = requests.get(
            emu.url + "/api/v1/main/flows/search", params={"namespace": "acme"}, timeout=10
        ).json()
        assert found["total"] == expected, version


def test_against_a_0_22_server_plan_fails_safely_as_its_export_ignores_filters(
    make_emulator, tmp_path
):
    # filters[...] reached /export/by-query in 0.23 (docs/kestra-versions.md): a 0.22 server exports
    # every flow, which the client detects instead of planning deletions from it.
    emu = make_emulator(version="0.22")
    (tmp_path / "flows").mkdir()
    shutil.copy(TREE_13 / "company/ops/healthcheck.yml", tmp_path / "flows")  # valid on 0.22
    root = tmp_path
    seed = "id: x\nnamespace: other\ntasks:\n  - id: t\n    type: x.Y\n"
    emu.store.create("main", rules.parse_for_write(seed, "0.22"))
    done = run_cli("plan", "--delete", "--server", emu.url, cwd=root)
    assert done.returncode == 1
    assert "the server ignored the filter" in done.stdout + done.stderr
    assert "note: rules of Kestra 0.22, reported by the server: 0.22.0" in done.stderr
    assert "to delete" in done.stdout and "1 to delete" not in done.stdout


def test_fix_rewrites_only_the_mechanical_spans_and_every_other_byte_stays(tmp_path):
    root = copy_tree(tmp_path)
    before = {p: p.read_bytes() for p in (root / "flows").rglob("*.yml")}
    done = run_cli("validate", "--kestra-version", "2.0", "--fix", cwd=root)
    assert done.returncode == 1  # what has no mechanical rewrite is still an error
    fixed = [line for line in done.stderr.splitlines() if line.startswith("fixed ")]
    assert len(fixed) == 5, done.stderr
    edits: dict[Path, dict[int, tuple[str, str]]] = {}
    for line in fixed:  # fixed flows/a.yml:12: old -> new (valid since Kestra 0.17: file, commit)
        where, change = line[len("fixed ") :].split(": ", 1)
        path, number = where.rsplit(":", 1)
        change, valid = change.split(" (valid since Kestra ")
        assert re.search(r"\b[0-9a-f]{9}\b", valid), line  # every rewrite cites its commit
        old, new = change.split(" -> ")
        edits.setdefault(root / path, {})[int(number)] = (old, new)
    for path, original in before.items():
        old_lines = original.decode("utf-8").split("\n")
        new_lines = path.read_bytes().decode("utf-8").split("\n")
        assert len(old_lines) == len(new_lines)
        for number, (was, now) in enumerate(zip(old_lines, new_lines, strict=True), 1):
            if number in edits.get(path, {}):
                old, new = edits[path][number]
                assert now == was.replace(old, new, 1) and now != was
            else:
                assert now == was  # byte for byte
    assert "[removed-taskDefaults]" not in done.stdout and "[input-name]" not in done.stdout
    assert "[removed-type]" in done.stdout  # ForEach/Echo: not mechanical, still reported
    again = run_cli("validate", "--kestra-version", "2.0", "--fix", cwd=root)
    assert "fixed " not in again.stderr  # idempotent


def test_fix_without_a_version_is_refused_and_writes_nothing(tmp_path):
    root = copy_tree(tmp_path)
    before = {p: p.read_bytes() for p in (root / "flows").rglob("*.yml")}
    done = run_cli("validate", "--fix", cwd=root)
    assert done.returncode == 1
    assert "error: --fix needs the Kestra version to fix for" in done.stderr
    assert {p: p.read_bytes() for p in (root / "flows").rglob("*.yml")} == before


def test_the_emulator_imports_of_the_tool_only_the_standalone_fact_modules():
    """The emulator imports nothing of the tool but the rule table (knowledge, and ruletable
    through it), which imports only the standard library: one table, and none of the
    validator's code, so a mistake in the validator's checks is not the emulator's too."""
    import ast
    import sys

    from tests.support.imports import PACKAGE as package
    from tests.support.imports import kestra_imports

    def tool_imports(path: Path) -> set[str]:
        return kestra_imports(path, annotations=True)  # a type-only import counts here too

    for path in (package / "emulator").glob("*.py"):
        outside = {m for m in tool_imports(path) if not m.startswith("emulator.")}
        # The table (ruletable, with knowledge's patterns and re-exports), never the
        # validator's checks (flowrules, flowchecks...): the emulator is an oracle for them.
        assert outside <= {"rules.knowledge", "rules.ruletable"}, (path.name, outside)
    rules = package / "rules"
    assert tool_imports(rules / "ruletable.py") == set()
    assert tool_imports(rules / "knowledge.py") == {"rules.ruletable"}
    assert tool_imports(rules / "flowrules.py") == {"rules.knowledge"}
    for name in ("ruletable", "knowledge", "flowrules"):
        source = (rules / f"{name}.py").read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
                modules = (
                    [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                )
                assert all(
                    m.split(".")[0] in sys.stdlib_module_names | {"__future__"} for m in modules
                )


def test_emulator_cli_offers_the_profiles_and_refuses_another_version():
    from click.testing import CliRunner

    from kestra_sync.cli import cli

    result = CliRunner().invoke(cli, ["emulator", "--kestra-version", "1.1"])
    assert result.exit_code == 2
    assert "'0.22', '1.0', '1.3', '2.0'" in result.output


def test_pull_says_which_version_the_server_runs_and_warns_when_pinned_otherwise(
    make_emulator, tmp_path
):
    emu = make_emulator(version="1.3")
    source = (TREE_13 / "company/sales/notify.yml").read_text(encoding="utf-8")
    emu.store.create("main", rules.parse_for_write(source, "1.3"))  # listeners: fine on 1.3
    done = run_cli(
        "pull",
        "--namespace",
        "company.sales",
        "--server",
        emu.url,
        cwd=tmp_path,
        env={"KESTRA_VERSION": "2.0"},
    )
    assert done.returncode == 0, done.stderr
    assert "warning: the server runs Kestra 1.3.0 but the rules are pinned to 2.0" in done.stderr
    assert (tmp_path / "flows/company/sales/notify.yml").read_text(encoding="utf-8") == source


def test_json_flow_bodies_are_accepted_up_to_1_3_and_refused_by_2_0(make_emulator):
    import requests

    flow = {"id": "j", "namespace": "acme", "tasks": [{"id": "t", "type": "x.Y"}]}
    old, new = make_emulator(version="1.3"), make_emulator(version="2.0")
    created = requests.post(old.url + "/api/v1/main/flows", json=flow, timeout=10)
    assert created.status_code == 200, created.text
    assert created.json()["id"] == "j" and "source" not in created.json()  # a Flow, not WithSource
    stored = requests.get(
        old.url + "/api/v1/main/flows/acme/j", params={"source": "true"}, timeout=10
    ).json()
    assert "id: j\nnamespace: acme\n" in stored["source"]
    # The version rules apply to JSON bodies too (reserved id on 1.3).
    refused = requests.post(
        old.url + "/api/v1/main/flows", json={**flow, "id": "pause"}, timeout=10
    )
    assert refused.status_code == 422 and "reserved keyword" in refused.json()["message"]
    assert requests.post(new.url + "/api/v1/main/flows", json=flow, timeout=10).status_code == 415


# --- one search for findings per flow in a plan ----------------------------------------------

RUNNER_FLOW = """id: {id}
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.scripts.shell.Commands
    workerGroup:
      key: gpu
    commands: [echo hi]
"""


def _project_with_runner_flows(tmp_path: Path, count: int):
    from kestra_sync.settings.config import load_settings

    flows = tmp_path / "flows"
    flows.mkdir()
    for i in range(count):
        (flows / f"f{i}.yml").write_text(RUNNER_FLOW.format(id=f"f{i}"), encoding="utf-8")
    return load_settings({"directory": str(flows)}, env={}, cwd=tmp_path)


@pytest.mark.parametrize(("reported", "refused"), [("1.3.0", False), ("2.0.0", True)])
def test_a_plan_judges_the_servers_version_from_the_findings_it_already_has(
    tmp_path, monkeypatch, reported, refused
):
    """A task's `workerGroup` was removed in 2.0 (knowledge.TASK_WORKER_GROUP): with no version pinned the scan
    warns, then the server's version decides. The flows are searched once, not once per
    judgement (a plan of thousands of flows)."""
    from kestra_sync.planning.pipeline import InvalidFlowsError, load_local_flows
    from kestra_sync.rules import flowrules

    settings = _project_with_runner_flows(tmp_path, 3)
    searched = []
    real = flowrules.findings
    monkeypatch.setattr(
        flowrules, "findings", lambda data, source="": searched.append(data["id"]) or real(data)
    )
    if refused:
        with pytest.raises(InvalidFlowsError, match="Kestra 2.0 refuses it") as err:
            load_local_flows(settings, _Client(reported))
        assert "validate --kestra-version 2.0" in err.value.hint
        assert len([d for d in err.value.diagnostics if d.is_error]) == 3
    else:
        local, diagnostics, target = load_local_flows(settings, _Client(reported))
        assert (len(local), target.version) == (3, "1.3")
        assert [d for d in diagnostics if d.code == "removed-workerGroup"] == []
    assert sorted(searched) == ["f0", "f1", "f2"]


def test_a_check_without_recorded_findings_is_still_judged_again(tmp_path):
    # rejudge of a check made elsewhere (e.g. restored from a cache) searches the flows itself.
    from dataclasses import replace

    from kestra_sync.rules.validate import check_project, rejudge

    settings = _project_with_runner_flows(tmp_path, 2)
    check = replace(check_project(settings), findings={})
    summary = [d for d in check.diagnostics if d.code == "changes-in-2.0"]
    assert [d.message.split(" (")[0] for d in summary] == ["2 constructs change in Kestra 2.0"]
    judged = rejudge(check, "2.0")
    assert [d.severity for d in judged.diagnostics if d.code == "removed-workerGroup"] == [
        "error"
    ] * 2


# --- every refusal cites the Kestra code it copies --------------------------------------------

_COMMIT = re.compile(r"\b[0-9a-f]{8,12}\b")


def _refusal_rows():
    """Every row of the table that makes the validator or the emulator refuse something."""
    from kestra_sync.rules import ruletable as T

    rows = [v for v in vars(T).values() if isinstance(v, T.Rule)]
    rows += list(T.FLOW_KEY_RULES.values())
    removals = [v for v in vars(T).values() if isinstance(v, T.Removal)]
    for value in vars(T).values():
        if isinstance(value, tuple) and value and isinstance(value[0], T.Removal):
            removals += list(value)
    facts = [v for v in vars(T).values() if isinstance(v, T.ApiFact)]
    return [r for r in rows if r.refused], [r for r in removals if r.refused], facts


def test_every_row_that_refuses_cites_a_kestra_file_and_commit():
    from kestra_sync.rules import ruletable as T

    rules, removals, facts = _refusal_rows()
    assert len(rules) > 15 and len(removals) > 15 and facts
    for rule in rules:
        assert _COMMIT.search(rule.source) and ".java" in rule.source, (rule.code, rule.source)
    for removal in removals:
        assert _COMMIT.search(removal.source), (removal.old, removal.source)
        # A removed type's file is its class; any other removal names the file.
        assert removal.old.startswith("io.kestra.") or ".java" in removal.source, removal
    for fact in facts:
        assert _COMMIT.search(fact.source), fact.what
    for source in (T.LEGACY_TASK_ALIASES_SOURCE, T.LEGACY_TRIGGER_ALIASES_SOURCE):
        assert _COMMIT.search(source)
    # No row cites a note the repository lacks: tests/test_citations.py checks every file.


def test_every_mechanical_rewrite_cites_the_commit_that_makes_it_valid():
    from kestra_sync.rules import ruletable as T

    rules, removals, _ = _refusal_rows()
    mechanical = [r.fix_valid for r in rules if r.mechanical]
    mechanical += [r.fix_valid for r in removals if r.mechanical]
    mechanical += [T.CHECK_CONDITION.fix_valid, T.JSON_FIX_VALID, T.LEGACY_ALIAS_FIX_VALID]
    assert len(mechanical) >= 5
    for valid in mechanical:
        assert re.match(r"Kestra \d+\.\d+: ", valid) and _COMMIT.search(valid), valid


ACCEPTED = DATA / "versions-accepted"


@pytest.mark.parametrize("name", sorted(p.name for p in ACCEPTED.glob("*.yml")))
def test_what_no_version_refuses_is_never_reported_and_every_profile_accepts_it(name):
    """Task `runIf` (Task.java of 2.0 declares it: 0e7efb160 reverted the rename to `when`) and
    flow-level `pluginDefaults` (Flow.java of 2.0, not deprecated): not a word from the
    validator on any version, and no emulator profile refuses them."""
    for version in (None, *knowledge.VERSIONS):
        assert diagnose(ACCEPTED / name, version) == [], version
    source = (ACCEPTED / name).read_text(encoding="utf-8")
    for profile in knowledge.EMULATOR_PROFILES:
        rules.parse_for_write(source, profile)


def test_emulator_cli_refuses_a_port_no_socket_can_have():
    from click.testing import CliRunner

    from kestra_sync.cli import cli

    result = CliRunner().invoke(cli, ["emulator", "--port", "99999"])
    assert result.exit_code == 2  # a usage error, not "this is a bug"
    assert "99999 is not in the range 0<=x<=65535" in result.output
