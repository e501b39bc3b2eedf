"""The `validate` command and the library API: output formats, exit codes, explicit files,
ignore file, layout rule, cross-file duplicates, big files, and never a traceback."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from kestra_sync.cli import cli
from kestra_sync.models import Diagnostic
from kestra_sync.report.github import annotation, escape_data, escape_property, render
from kestra_sync.rules.validate import validate_offline
from kestra_sync.source.flowscan import IgnoreRules, load_flow, scan
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "flows"

FLOW = "id: {id}\nnamespace: {ns}\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(args, cwd, env=None):
    full = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    full.pop("GITHUB_ACTIONS", None)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "kestra_sync", "validate", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def invoke(args, cwd, env=None):
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        env = {"GITHUB_ACTIONS": "", "NO_COLOR": "1", **(env or {})}
        return runner.invoke(cli, ["--debug", "validate", *args], env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


def test_this_repository_flows_validate_clean():
    r = run([], cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no problems" in r.stdout


def test_bad_corpus_exit_1_one_line_each_no_traceback():
    r = run([str(DATA / "invalid")], cwd=ROOT)
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    expected = json.loads((DATA / "invalid" / "expected.json").read_text())
    assert len(lines) == sum(len(v) for v in expected.values()) + 1
    assert lines[-1].startswith(f"{len(expected)} files checked:")
    assert any(":7:5: error: duplicate key 'message'" in line for line in lines)


def test_json_format_shape(tmp_path):
    write(tmp_path / "flows/a.yml", FLOW.format(id="a", ns="company") + "bogus: 1\n")
    r = invoke(["--format", "json"], tmp_path)
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["version"] == 1 and doc["valid"] is False
    assert (doc["errors"], doc["warnings"], doc["files"]) == (1, 0, 1)
    (d,) = doc["diagnostics"]
    assert set(d) == {"path", "line", "column", "severity", "code", "message"}
    assert (d["path"], d["line"], d["column"], d["code"]) == (
        os.path.join("flows", "a.yml"),
        7,
        1,
        "unknown-key",
    )


def test_github_format_is_auto_under_actions(tmp_path):
    write(tmp_path / "flows/a.yml", "id: a\nnamespace: Bad,Ns\ntasks: []\n")
    r = invoke([], tmp_path, env={"GITHUB_ACTIONS": "true"})
    assert r.exit_code == 1
    first = r.stdout.splitlines()[0]
    assert first.startswith(
        "::error file=flows/a.yml,line=2,col=12,title=kestra-sync%3A invalid-namespace::"
    )
    assert "flows/a.yml:3:8: error: 'tasks' is empty" in r.stdout  # plain lines follow


def test_github_escaping_and_caps():
    assert escape_data("50%\r\nx") == "50%25%0D%0Ax"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert annotation("warning", "m", file="d/x,y.yml", line=3, col=2) == (
        "::warning file=d/x%2Cy.yml,line=3,col=2::m"
    )
    diags = [Diagnostic("f.yml", f"e{i}", "error", i + 1, 1, "c") for i in range(13)]
    diags += [Diagnostic("f.yml", "w", "warning", 1, 1, "c")]
    lines = render(diags)
    assert sum(line.startswith("::error") for line in lines) == 10
    assert sum(line.startswith("::warning") for line in lines) == 1
    assert lines[-1].startswith("::notice") and "3 more errors not annotated" in lines[-1]


def test_explicit_files_only_those_are_reported(tmp_path):
    write(tmp_path / "flows/good.yml", FLOW.format(id="good", ns="company"))
    write(tmp_path / "flows/bad.yml", "id: bad\n")
    r = invoke(["flows/good.yml"], tmp_path)
    assert r.exit_code == 0, r.stdout
    r = invoke(["flows/bad.yml"], tmp_path)
    assert r.exit_code == 1 and "missing-namespace" in r.stdout


def test_explicit_file_duplicate_of_an_unlisted_file_is_found(tmp_path):
    # pre-commit passes only changed files: the copy in an untouched file must still be found.
    write(tmp_path / "flows/one.yml", FLOW.format(id="same", ns="company"))
    write(tmp_path / "flows/two.yml", FLOW.format(id="same", ns="company"))
    r = invoke(["flows/two.yml"], tmp_path)
    assert r.exit_code == 1
    assert (
        os.path.join("flows", "two.yml")
        + ":1:5: error: flow company/same is also defined in "
        + os.path.join("flows", "one.yml")
        in r.stdout
    )
    assert "one.yml:1" not in r.stdout  # reported only on the file given
    r = invoke([], tmp_path)
    assert r.stdout.count("duplicate-flow") == 2


def test_ignore_file(tmp_path):
    write(tmp_path / "flows/.kestraignore", "# drafts\ndrafts/\n*.tmp.yml\n!keep.tmp.yml\n")
    write(tmp_path / "flows/drafts/x.yml", "broken: [\n")
    write(tmp_path / "flows/a.tmp.yml", "broken: [\n")
    write(tmp_path / "flows/keep.tmp.yml", FLOW.format(id="keep", ns="company"))
    result = scan(tmp_path / "flows")
    assert [f.path.name for f in result.flows] == ["keep.tmp.yml"]
    assert result.ok
    r = invoke(["flows/drafts/x.yml"], tmp_path)  # an ignored file passed explicitly is skipped
    assert r.exit_code == 0


def test_ignore_rules_subset():
    rules = IgnoreRules.parse("/top.yml\n**/gen/**\nsub/*.yaml\n")
    assert rules.ignored_path("top.yml") and not rules.ignored_path("a/top.yml")
    assert rules.ignored_path("x/gen/y/z.yml")
    assert rules.ignored_path("sub/a.yaml") and not rules.ignored_path("sub/d/a.yaml")


def test_layout_rule(tmp_path):
    write(tmp_path / "kestra-sync.yml", "directory: flows\nlayout: nested\n")
    write(tmp_path / "flows/company/team/ok.yml", FLOW.format(id="ok", ns="company.team"))
    write(tmp_path / "flows/company/wrong.yml", FLOW.format(id="wrong", ns="company.team"))
    r = invoke([], tmp_path)
    assert r.exit_code == 1
    assert "flows/company/team/wrong.yml: move the file there" in r.stdout
    assert r.stdout.count("[layout]") == 1
    r = invoke(["--layout", "dotted"], tmp_path)
    assert r.stdout.count("[layout]") == 2
    r = invoke(["--layout", "none"], tmp_path)
    assert r.exit_code == 0


def test_config_in_pyproject(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.kestra-sync]\ndirectory = "deploy"\n')
    write(tmp_path / "deploy/a.yml", "id: a\n")
    r = invoke([], tmp_path)
    assert r.exit_code == 1 and os.path.join("deploy", "a.yml") in r.stdout


def test_missing_directory_is_one_clear_line(tmp_path):
    r = run([], cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("error: flows: flow directory not found")
    assert "Traceback" not in r.stderr


def test_too_large_file_is_refused_quickly(tmp_path):
    # 5 MB: over Kestra's 3 MiB code point limit (SnakeYAML LoaderOptions.codePointLimit).
    body = (
        FLOW.format(id="big", ns="company") + "description: |\n" + ("  " + "x" * 98 + "\n") * 52_000
    )
    path = write(tmp_path / "big.yml", body)
    assert path.stat().st_size > 5_000_000
    flow, diags = load_flow(path)
    assert [(d.code, d.line) for d in diags] == [("too-large", 1)]
    assert flow.source == body


def test_large_valid_file_under_the_limit(tmp_path):
    body = (
        FLOW.format(id="big", ns="company") + "description: |\n" + ("  " + "x" * 98 + "\n") * 25_000
    )
    path = write(tmp_path / "big.yml", body)
    flow, diags = load_flow(path)
    assert diags == [] and validate_offline([flow]) == []


def test_crlf_and_bytes_are_kept(tmp_path):
    raw = FLOW.format(id="a", ns="company").replace("\n", "\r\n").encode()
    path = tmp_path / "a.yml"
    path.write_bytes(raw)
    flow, diags = load_flow(path)
    assert diags == [] and flow.source.encode() == raw
    assert (flow.namespace, flow.id) == ("company", "a")


def test_numeric_id_is_text_as_kestra_binds_it(tmp_path):
    flow, _ = load_flow(write(tmp_path / "a.yml", FLOW.format(id="0755", ns="company")))
    assert flow.id == "0755"  # PyYAML would say 493 (YAML 1.1 octal); Jackson binds the text


def test_schema_option_with_a_full_schema_file(tmp_path):
    schema = {
        "type": "object",
        "properties": {
            "tasks": {
                "type": "array",
                "items": {"type": "object", "properties": {"message": {"type": "integer"}}},
            }
        },
    }
    write(tmp_path / "schema.json", json.dumps(schema))
    write(tmp_path / "flows/a.yml", FLOW.format(id="a", ns="company"))
    r = invoke(["--schema", "schema.json"], tmp_path)
    assert r.exit_code == 1
    assert (
        os.path.join("flows", "a.yml")
        + ":6:14: error: tasks[0].message: must be integer, not a string"
        in r.stdout
    )


def test_schema_url_is_cached_atomically(tmp_path, monkeypatch):
    import responses

    from kestra_sync.rules.schemacheck import resolve_schema

    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    url = "http://127.0.0.1:1/api/v1/plugins/schemas/flow"
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, url, json={"type": "object"})
        assert resolve_schema(url, env=env) == {"type": "object"}
    files = list((tmp_path / "cache/kestra-sync/schemas").iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"
    with responses.RequestsMock():  # offline: no request may be made
        assert resolve_schema(url, env=env) == {"type": "object"}


def test_help_and_validate_do_not_import_heavy_modules(tmp_path):
    code = (
        "import sys\nfrom kestra_sync.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('requests', 'kestra_sync.emulator', 'jsonschema', 'deepdiff') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    for args in (["--help"], ["validate", str(ROOT / "flows")]):
        r = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            timeout=60,
        )
        assert r.returncode == 0, r.stderr


def test_unexpected_error_is_one_line(tmp_path, monkeypatch):
    import kestra_sync.rules.validate as v

    def boom(*a, **k):
        raise RuntimeError("kaputt")

    monkeypatch.setattr(v, "validate_offline", boom)
    write(tmp_path / "flows/a.yml", FLOW.format(id="a", ns="company"))
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["validate"])
    assert r.exit_code == 3
    assert "unexpected error: RuntimeError: kaputt" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_copy_of_repo_flows(tmp_path):
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    shutil.copy(ROOT / "kestra-sync.yml", tmp_path)
    r = invoke(["--format", "json"], tmp_path)
    # 6 flows, and the namespace file and kv.yml of company.data: every file checked counts.
    assert json.loads(r.stdout)["files"] == 8 and r.exit_code == 0


def test_a_dashboard_file_given_alone_is_one_file_checked(tmp_path):
    # pre-commit passes only the changed dashboard: "0 files checked" would read as "skipped".
    write(tmp_path / "kestra-sync.yml", "directory: flows\n")
    write(tmp_path / "flows/a.yml", FLOW.format(id="a", ns="company"))
    chart = "  - id: c\n    type: io.kestra.plugin.core.dashboard.chart.TimeSeries\n"
    write(tmp_path / "flows/_dashboards/ops.yml", f"id: ops\ntitle: Ops\ncharts:\n{chart}")
    r = run(["flows/_dashboards/ops.yml"], cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 file checked, no problems" in r.stdout
    whole = run([], cwd=tmp_path)
    assert "2 files checked, no problems" in whole.stdout, whole.stdout


def test_explicit_files_outside_the_flow_directory_are_skipped(tmp_path):
    # pre-commit passes every staged *.yml: CI workflows and the config are not flows.
    write(tmp_path / "kestra-sync.yml", "directory: flows\n")
    write(tmp_path / ".github/workflows/ci.yml", "on: push\n")
    write(tmp_path / "flows/a.yml", FLOW.format(id="a", ns="company"))
    r = run(["kestra-sync.yml", ".github/workflows/ci.yml", "flows/a.yml"], cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 file checked, no problems" in r.stdout
    assert "note: skipped 2 file(s) outside every flow directory that are not flows" in r.stderr


def test_tenants_each_directory_gets_its_tenant(tmp_path):
    write(tmp_path / "kestra-sync.yml", "tenants:\n  main: flows/main\n  other: flows/other\n")
    write(tmp_path / "flows/main/a.yml", FLOW.format(id="a", ns="company"))
    write(tmp_path / "flows/other/a.yml", FLOW.format(id="a", ns="company"))
    r = invoke([], tmp_path)  # same namespace/id in two tenants is not a duplicate
    assert r.exit_code == 0, r.stdout


def test_server_side_uses_the_client_and_maps_back(tmp_path, monkeypatch):
    import types

    sent = {}

    class FakeClient:
        @classmethod
        def from_settings(cls, settings):
            sent["url"] = settings.url
            return cls()

        def server_version(self):
            return "1.3.2"

        def validate_flows(self, sources):
            sent["sources"] = sources
            return [
                types.SimpleNamespace(
                    index=0,
                    constraints="Validation error: tasks[a].message: must not be null\n",
                    warnings=[],
                    infos=[],
                    deprecation_paths=[],
                    outdated=False,
                )
            ]

    monkeypatch.setitem(
        sys.modules, "kestra_sync.client", types.SimpleNamespace(KestraClient=FakeClient)
    )
    write(tmp_path / "flows/a.yml", FLOW.format(id="a", ns="company"))
    r = invoke(["--server-side", "--server", "http://127.0.0.1:8080"], tmp_path)
    assert r.exit_code == 1
    assert sent["url"] == "http://127.0.0.1:8080" and sent["sources"] == [
        FLOW.format(id="a", ns="company")
    ]
    assert (
        os.path.join("flows", "a.yml") + ":6:14: error: server: tasks[a].message: must not be null"
        in r.stdout
    )
    # With a server, the rules follow the version it reports.
    assert "rules of Kestra 1.3, reported by the server: 1.3.2" in r.stdout


def test_server_side_without_url_is_a_config_error(tmp_path):
    write(tmp_path / "flows/a.yml", FLOW.format(id="a", ns="company"))
    r = run(["--server-side"], cwd=tmp_path, env={"KESTRA_URL": ""})
    assert r.returncode == 1
    assert r.stderr.startswith("error: --server-side needs a server URL")


def test_a_path_that_does_not_exist_is_an_error_not_a_silent_pass(tmp_path):
    (tmp_path / "flows").mkdir()
    result = run_cli("validate", "flows/typo.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert "flows/typo.yml" in result.stdout and "file not found" in result.stdout
