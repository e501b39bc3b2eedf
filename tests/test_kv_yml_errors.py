"""What `validate` says about a kv.yml it cannot read: one clear line, at the line."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import run_cli

FLOW = "id: f\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def test_a_kv_yml_syntax_error_is_named_once_at_its_line(tmp_path: Path):
    ns = tmp_path / "flows" / "company" / "team"
    ns.mkdir(parents=True)
    (ns / "f.yml").write_text(FLOW)
    (ns / "kv.yml").write_text("region: eu\nbad: a: b\nother: 1\n")
    result = run_cli("validate", "flows", cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if "kv.yml" in line]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith("flows/company/team/kv.yml:2: error: invalid YAML: ")
    assert lines[0].count("invalid YAML") == 1
