"""Messages that guide (issue 11 item 13), with the real CLI: a YAML file that is not a flow
gets one error with the .kestraignore hint, a typo gets a suggestion, a bad value says what is
expected."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli

FLOW = "id: a\nnamespace: company\n{extra}tasks:\n  - id: l\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_yaml_file_that_is_not_a_flow_gets_one_error_with_the_ignore_hint(tmp_path):
    write(tmp_path / "flows/company/a.yml", FLOW.format(extra=""))
    write(tmp_path / "flows/dbt/dbt_project.yml", "name: shop\nversion: '1.0'\nprofile: x\n")
    done = run_cli("validate", cwd=tmp_path, env={"NO_COLOR": "1"})
    assert done.returncode == 1
    lines = [line for line in done.stdout.splitlines() if "dbt_project.yml" in line]
    assert len(lines) == 1, done.stdout
    assert "not a Kestra flow (no id, namespace or tasks" in lines[0]
    assert ".kestraignore" in lines[0] and "[not-a-flow]" in lines[0]
    # the hint works
    write(tmp_path / "flows/.kestraignore", "dbt/\n")
    assert run_cli("validate", cwd=tmp_path).returncode == 0


def test_a_flow_key_typo_gets_a_suggestion(tmp_path):
    write(tmp_path / "flows/company/a.yml", FLOW.format(extra="descripton: x\n"))
    done = run_cli("validate", cwd=tmp_path, env={"NO_COLOR": "1"})
    assert "unknown top-level key 'descripton'" in done.stdout
    assert "did you mean 'description'?" in done.stdout


def test_a_config_typo_gets_a_suggestion_and_a_bad_value_what_is_expected(tmp_path):
    write(tmp_path / "flows/company/a.yml", FLOW.format(extra=""))
    write(tmp_path / "kestra-sync.yml", "max_delete: 3\n")
    done = run_cli("validate", cwd=tmp_path)
    assert done.returncode == 1
    assert "unknown setting 'max_delete'; did you mean 'max_deletes'?" in done.stderr
    write(tmp_path / "kestra-sync.yml", "max_deletes: lots\n")
    done = run_cli("validate", cwd=tmp_path)
    assert "invalid value 'lots' for 'max_deletes': expected a whole number, 0 or more" in (
        done.stderr
    )
    write(tmp_path / "kestra-sync.yml", "delete: maybe\n")
    assert "expected true or false" in run_cli("validate", cwd=tmp_path).stderr
