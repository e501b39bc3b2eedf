"""Config discovery with the real CLI (issue 11 item 4): the nearest kestra-sync.yml in the
current directory or a parent, the one nearest to each file named on the command line
(a monorepo's kestra/kestra-sync.yml), --config / KESTRA_SYNC_CONFIG, and a flow named on the
command line that no flow directory holds is an error."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli

GOOD = "id: {id}\nnamespace: company\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
NO_TYPE = "id: {id}\nnamespace: company\ntasks:\n  - id: a\n    message: hi\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def monorepo(root: Path) -> Path:
    (root / ".git").mkdir(parents=True)  # discovery stops at the repository's top
    write(root / "kestra/kestra-sync.yml", "directory: flows\nlayout: nested\n")
    write(root / "kestra/flows/company/good.yml", GOOD.format(id="good"))
    write(root / ".github/workflows/ci.yml", "on: push\njobs: {}\n")
    return root


def test_plan_from_a_sub_directory_uses_the_config_above(tmp_path, emulator):
    write(tmp_path / "kestra-sync.yml", f"url: {emulator.url}\ndirectory: flows\n")
    write(tmp_path / "flows/company/a.yml", GOOD.format(id="a"))
    r = run_cli("plan", cwd=tmp_path / "flows/company")
    assert r.returncode == 0, r.stderr
    assert "+ a" in r.stdout and "Plan: 1 to create" in r.stdout


def test_monorepo_file_is_checked_under_the_config_nearest_to_it(tmp_path):
    root = monorepo(tmp_path)
    write(root / "kestra/flows/company/broken.yml", NO_TYPE.format(id="broken"))
    r = run_cli(
        "validate",
        "kestra/flows/company/broken.yml",
        ".github/workflows/ci.yml",
        "kestra/kestra-sync.yml",
        cwd=root,
        env={"NO_COLOR": "1"},
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "kestra/flows/company/broken.yml:4:5: error: task tasks[0] has no 'type'" in r.stdout
    # the monorepo's layout rule applies too (the file is where `nested` wants it: no error)
    assert "layout" not in r.stdout
    assert "note: skipped 2 file(s)" in r.stderr  # the workflow and the config are not flows


def test_flow_outside_every_flow_directory_is_an_error(tmp_path):
    root = monorepo(tmp_path)
    write(root / "kestra/drafts/new.yml", GOOD.format(id="new"))
    r = run_cli("validate", "kestra/drafts/new.yml", cwd=root, env={"NO_COLOR": "1"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert (
        "kestra/drafts/new.yml: error: this flow is outside the flow directory kestra/flows/ "
        "(kestra/kestra-sync.yml)" in r.stdout
    )
    assert "[outside-flow-directory]" in r.stdout


def test_config_option_and_environment_variable(tmp_path):
    write(tmp_path / "deploy/kestra.yml", "directory: ../flows\nlayout: dotted\n")
    (tmp_path / ".git").mkdir()  # ../flows is in the repository the config belongs to
    write(tmp_path / "flows/company/a.yml", GOOD.format(id="a"))  # dotted wants flows/company/a.yml
    write(tmp_path / "flows/x/b.yml", GOOD.format(id="b"))  # not under its namespace: layout error
    for args, env in (
        (("--config", "deploy/kestra.yml"), {}),
        ((), {"KESTRA_SYNC_CONFIG": "deploy/kestra.yml"}),
    ):
        r = run_cli("validate", *args, cwd=tmp_path, env={"NO_COLOR": "1", **env})
        assert r.returncode == 1, r.stdout + r.stderr
        assert "flows/x/b.yml" in r.stdout and "flows/company/a.yml" not in r.stdout
    r = run_cli("validate", "--config", "nope.yml", cwd=tmp_path)
    assert r.returncode == 1 and "nope.yml: config file not found" in r.stderr
