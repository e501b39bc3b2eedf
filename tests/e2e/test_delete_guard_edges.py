"""The delete guard met the way a team's server is: flows that git does not manage still read
what git manages. The real CLI against the emulator."""

from __future__ import annotations

from tests.support.cli import run_cli
from tests.support.project import client, flow, seed


def test_a_kv_pair_a_child_namespace_flow_reads_by_inheritance_is_not_deleted(tmp_path, emulator):
    """`company`'s kv.yml is managed; `company.team/report` (made in the UI, not in git) reads
    `kv('region')`, which Kestra looks up in company.team, then company. Deleting `region`
    would break it at run time, so apply must not, even though git has a flow in `company`
    (whose scope, without children, once made the guard skip the child namespaces)."""
    (tmp_path / "flows" / "company").mkdir(parents=True)
    (tmp_path / "flows" / "company" / "a.yml").write_text(flow("a", "company"), encoding="utf-8")
    (tmp_path / "flows" / "company" / "kv.yml").write_text(
        "managed: true\nvalues:\n  keep: 1\n", encoding="utf-8"
    )
    seed(emulator, flow("report", "company.team", message="\"{{ kv('region') }}\""))
    with client(emulator) as c:
        c.put_kv("company", "region", "eu-west-1")
    done = run_cli(
        "apply", "flows", "--server", emulator.url, "--delete", "--auto-approve", cwd=tmp_path
    )
    with client(emulator) as c:
        assert "region" in c.namespace_kv("company"), done.stdout + done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if "kv region" in x and "not attempted" in x)
    assert "company.team/report (kv('region')) still uses it" in line
