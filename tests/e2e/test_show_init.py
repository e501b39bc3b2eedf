"""`kestra-sync show PLAN.json` and `kestra-sync init` (issue 11 item 5), with the real CLI."""

from __future__ import annotations

import json
import shutil

import jsonschema
import yaml

from tests.e2e.test_plan import SCHEMA
from tests.support.cli import ROOT, run_cli
from tests.support.project import Project, flow, seed


def saved_plan(tmp_path, emulator) -> Project:
    seed(emulator, flow("b", message="old"))
    project = Project(tmp_path, emulator)
    project.write(flow("a"))
    project.write(flow("b", message="new"))
    done = project.plan("--out", "plan.json")
    assert done.returncode == 0, done.stderr
    return project


def test_show_renders_a_saved_plan_as_text_markdown_and_json_without_the_server(tmp_path, emulator):
    project = saved_plan(tmp_path, emulator)
    emulator.stats.reset()
    text = run_cli("show", "plan.json", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Saved plan plan.json, made 20")
    assert f"Plan for {emulator.url}, tenant main" in text.stdout
    assert "+ a" in text.stdout and "~ b" in text.stdout and "+    message: new" in text.stdout
    assert "Plan: 1 to create, 1 to update, 0 to delete, 0 unchanged." in text.stdout
    assert "+    message" not in run_cli("show", "plan.json", "--no-diff", cwd=tmp_path).stdout

    markdown = run_cli("show", "plan.json", "--format", "markdown", cwd=tmp_path)
    assert markdown.stdout.startswith("### kestra-sync plan\n\n**Plan: 1 to create, 1 to update")
    assert "+    message: new" in markdown.stdout

    data = json.loads(run_cli("show", "plan.json", "--format", "json", cwd=tmp_path).stdout)
    jsonschema.validate(data, SCHEMA)
    assert data["summary"]["create"] == 1
    assert all("source" not in c for c in data["changes"])  # sources stay in the file
    assert emulator.stats.count() == 0  # nothing was read from the server

    # a plan printed with --format json (no sources) can be shown too, not applied
    (tmp_path / "printed.json").write_text(project.plan("--format", "json").stdout)
    assert run_cli("show", "printed.json", cwd=tmp_path).returncode == 0
    assert project.run("apply", "printed.json").returncode == 1


def test_show_a_file_that_is_not_a_plan(tmp_path):
    (tmp_path / "x.json").write_text("[]")
    done = run_cli("show", "x.json", cwd=tmp_path)
    assert done.returncode == 1 and "x.json: not a kestra-sync plan file" in done.stderr
    assert "Traceback" not in done.stderr


def test_init_detects_the_directory_and_layout_and_never_overwrites(tmp_path, emulator):
    shutil.copytree(ROOT / "flows", tmp_path / "deploy" / "flows")
    (tmp_path / "app").mkdir()
    (tmp_path / "app/docker-compose.yml").write_text("services: {}\n")
    done = run_cli("init", "--pre-commit", "--workflow", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    flows = [
        p
        for p in (ROOT / "flows").rglob("*.yml")
        if "_files" not in p.parts and p.name != "kv.yml"  # namespace files and KV pairs
    ]
    assert f"Found {len(flows)} flow file(s) under deploy/flows/ (layout: nested)." in done.stdout
    config = yaml.safe_load((tmp_path / "kestra-sync.yml").read_text())
    assert config == {"directory": "deploy/flows", "layout": "nested"}
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["hooks"] == [{"id": "kestra-sync-validate"}]
    workflow = yaml.safe_load((tmp_path / ".github/workflows/kestra-sync.yml").read_text())
    # PyYAML reads the key `on` as True (YAML 1.1)
    assert workflow[True]["pull_request"]["paths"] == ["deploy/flows/**", "kestra-sync.yml"]
    # what init wrote works: validate and plan use it
    # and the namespace file and kv.yml beside them
    checked = f"{len(flows) + 2} files checked, no problems"
    assert checked in run_cli("validate", cwd=tmp_path).stdout
    planned = run_cli("plan", cwd=tmp_path, env={"KESTRA_URL": emulator.url})
    # 6 flows, the namespace file and 2 KV pairs
    assert "Plan: 9 to create" in planned.stdout

    (tmp_path / "kestra-sync.yml").write_text("directory: mine\n")
    again = run_cli("init", cwd=tmp_path)
    assert "kept       kestra-sync.yml (it exists; not changed)" in again.stdout
    assert (tmp_path / "kestra-sync.yml").read_text() == "directory: mine\n"


def test_init_in_an_empty_repository_proposes_flows(tmp_path):
    done = run_cli("init", cwd=tmp_path)
    assert done.returncode == 0
    assert "Found no flow file; proposing flows/ with the nested layout." in done.stdout
    assert yaml.safe_load((tmp_path / "kestra-sync.yml").read_text())["directory"] == "flows"


def readme_console(command: str) -> list[str]:
    """The lines the README shows after `$ kestra-sync COMMAND` in a console block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(f"```console\n$ kestra-sync {command}", 1)[1].split("```", 1)[0]
    return block.split("\n", 1)[1].rstrip("\n").splitlines()


def test_readme_init_output_is_what_init_prints_on_this_repository(tmp_path):
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    done = run_cli("init", cwd=tmp_path)
    assert done.stdout.splitlines() == readme_console("init")


def test_readme_show_output_is_what_show_prints(tmp_path, emulator):
    project = Project(tmp_path, emulator)
    (tmp_path / "flows/company/team").mkdir(parents=True)
    (tmp_path / "flows/company/team/weekly-report.yml").write_text(flow("weekly-report"))
    assert project.plan("--out", "plan.json").returncode == 0
    done = run_cli("show", "plan.json", "--no-diff", cwd=tmp_path)
    shown = readme_console("show plan.json --no-diff")
    # the time, the commit and the server differ from run to run; the rest is the same
    assert shown[0].startswith("Saved plan plan.json, made ")
    assert done.stdout.startswith("Saved plan plan.json, made ")
    assert done.stdout.splitlines()[1] == f"Plan for {emulator.url}, tenant main"
    assert done.stdout.splitlines()[2:] == shown[2:]


def test_init_in_a_repository_whose_flows_sit_in_sibling_folders_writes_a_config_validate_accepts(
    tmp_path,
):
    """Flows in team-a/ and team-b/ share only the repository root, where this config,
    docker-compose.yml and a Helm chart also live: `directory: .` alone made validate read them
    as flows. init now excludes that YAML in .kestraignore (a folder without flows whole)."""
    (tmp_path / "team-a/acme").mkdir(parents=True)
    (tmp_path / "team-a/acme/a.yml").write_text(flow("a").replace("company.team", "acme"))
    (tmp_path / "team-b/other").mkdir(parents=True)
    (tmp_path / "team-b/other/b.yml").write_text(flow("b").replace("company.team", "other"))
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    (tmp_path / "charts/app").mkdir(parents=True)
    (tmp_path / "charts/app/values.yaml").write_text("replicas: 1\n")
    done = run_cli("init", "--pre-commit", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load((tmp_path / "kestra-sync.yml").read_text())["directory"] == "."
    assert "wrote      .kestraignore (excludes 4 YAML path(s) that are not flows)" in done.stdout
    ignored = (tmp_path / ".kestraignore").read_text().splitlines()
    assert [line for line in ignored if not line.startswith("#")] == [
        "/.pre-commit-config.yaml",
        "/charts/",
        "/docker-compose.yml",
        "/kestra-sync.yml",
    ]
    checked = run_cli("validate", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 files checked, no problems" in checked.stdout

    # An ignore file of the user's own is never overwritten: init says what to add.
    (tmp_path / "kestra-sync.yml").unlink()
    (tmp_path / ".kestraignore").write_text("/charts/\n")
    again = run_cli("init", cwd=tmp_path)
    assert "kept       .kestraignore" in again.stdout
    assert "add these lines" in again.stderr and "/docker-compose.yml" in again.stderr
    assert "/charts/" not in again.stderr.split("add these lines", 1)[1]
    assert (tmp_path / ".kestraignore").read_text() == "/charts/\n"


def test_init_after_a_pull_finds_the_pulled_directory_and_layout(tmp_path, emulator):
    """pull ends with "run `kestra-sync init` (it finds out/ and the nested layout)": with one
    namespace, init used to pick out/acme with no layout, whose _files then sat at the top of
    the flow directory (an error). It now finds out/ and nested, and a plan shows no change."""
    from kestra_sync.client import KestraClient

    with KestraClient(emulator.url) as c:
        c.create_flow(flow("etl").replace("company.team", "acme"))
        c.put_namespace_file("acme", "/etl/load.py", b"print(1)\n")
    env = {"KESTRA_URL": emulator.url}
    pulled = run_cli("pull", "out", "--namespace", "acme", cwd=tmp_path, env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert "run `kestra-sync init`" in pulled.stderr and "finds out/ and the nested" in (
        pulled.stderr
    )
    done = run_cli("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load((tmp_path / "kestra-sync.yml").read_text())
    assert config == {"directory": "out", "layout": "nested"}
    assert run_cli("validate", cwd=tmp_path).returncode == 0
    plan = run_cli("plan", "--detailed-exitcode", cwd=tmp_path, env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_init_records_the_kestra_version_of_the_server_it_reaches(tmp_path, make_emulator):
    """With KESTRA_URL set, init asks the server its version (GET /api/v1/configs) and writes
    it as kestra_version: validate then follows 1.3's rules without a server, instead of
    counting what 2.0 changes."""
    emu = make_emulator(version="1.3")
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "hello.yml").write_text(
        "id: hello\nnamespace: company\ntasks:\n  - id: log\n"
        "    type: io.kestra.core.tasks.log.Log\n    message: hi\n",
        encoding="utf-8",
    )
    done = run_cli("init", cwd=tmp_path, env={"KESTRA_URL": emu.url})
    assert done.returncode == 0, done.stderr
    assert "The server runs Kestra 1.3.0: recording kestra_version: 1.3." in done.stdout
    config = yaml.safe_load((tmp_path / "kestra-sync.yml").read_text(encoding="utf-8"))
    assert config["kestra_version"] == "1.3"
    checked = run_cli("validate", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "rules of Kestra 1.3" in checked.stdout and "changes-in-2.0" not in checked.stdout


def test_init_without_a_reachable_server_leaves_the_version_as_a_comment(tmp_path):
    done = run_cli("init", cwd=tmp_path, env={"KESTRA_URL": "http://127.0.0.1:9"})
    assert done.returncode == 0, done.stderr
    assert "note: could not read the server's Kestra version" in done.stderr
    config = yaml.safe_load((tmp_path / "kestra-sync.yml").read_text(encoding="utf-8"))
    assert "kestra_version" not in config
    assert '# kestra_version: "1.3"' in (tmp_path / "kestra-sync.yml").read_text(encoding="utf-8")
