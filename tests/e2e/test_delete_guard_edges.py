"""The delete guard met the way a team's server is: flows that git does not manage still read
what git manages. The real CLI against the emulator."""

from __future__ import annotations

from tests.support.cli import run_cli
from tests.support.project import client, flow, seed

READER = flow("report", "company.team", message="\"{{ kv('region') }}\"")


def repository(root, emulator) -> None:
    """`company`'s kv.yml is managed and git has a flow in `company` (so the plan reads
    `company` without its children); the server holds `region`, which kv.yml does not list."""
    (root / "flows" / "company").mkdir(parents=True)
    (root / "flows" / "company" / "a.yml").write_text(flow("a", "company"), encoding="utf-8")
    (root / "flows" / "company" / "kv.yml").write_text(
        "managed: true\nvalues:\n  keep: 1\n", encoding="utf-8"
    )
    with client(emulator) as c:
        c.put_kv("company", "region", "eu-west-1")


def region_exists(emulator) -> bool:
    with client(emulator) as c:
        return "region" in c.namespace_kv("company")


def test_a_kv_pair_a_child_namespace_flow_reads_by_inheritance_is_kept(tmp_path, emulator):
    """`company.team/report` (made in the UI, not in git) reads `kv('region')`, which Kestra
    looks up in company.team, then company: the plan keeps `region` and says who uses it, and
    apply converges."""
    repository(tmp_path, emulator)
    seed(emulator, READER)
    server = ("flows", "--server", emulator.url, "--delete")
    shown = run_cli("plan", *server, cwd=tmp_path)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    kept = shown.stdout.split("kv region", 1)[1]
    assert kept.split("\n")[0].split()[0] == "keep", shown.stdout
    assert "company.team/report (kv('region')) still uses it" in kept
    done = run_cli("apply", *server, "--auto-approve", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert region_exists(emulator)
    again = run_cli("plan", *server, "--detailed-exitcode", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_reader_made_after_the_plan_keeps_the_pair_at_apply(tmp_path, emulator):
    """The reader appears on the server between `plan --out` and `apply plan.json`: the pair
    is not deleted (the saved plan no longer follows, or the delete guard keeps it)."""
    repository(tmp_path, emulator)
    saved = run_cli(
        "plan", "flows", "--server", emulator.url, "--delete", "--out", "plan.json", cwd=tmp_path
    )
    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert "- kv region" in saved.stdout
    seed(emulator, READER)
    done = run_cli("apply", "plan.json", "--server", emulator.url, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert region_exists(emulator)
    assert "company.team/report" in done.stdout + done.stderr


def test_a_file_a_ui_flow_reads_is_kept_where_git_holds_only_files(tmp_path, emulator):
    """Git holds only `_files` for company.data (no flow there, so the plan does not read its
    flows); a flow made in the UI there reads `b.py`. The plan keeps `b.py` and says why, and
    apply converges (the guard refused the delete on every run before)."""
    files = tmp_path / "flows" / "company" / "data" / "_files"
    files.mkdir(parents=True)
    (files / "a.py").write_text("A = 1\n", encoding="utf-8")
    (tmp_path / "flows" / "company" / "x").mkdir()
    (tmp_path / "flows" / "company" / "x" / "f.yml").write_text(
        flow("f", "company.x"), encoding="utf-8"
    )
    seed(emulator, flow("ui", "company.data", message="\"{{ read('b.py') }}\""))
    with client(emulator) as c:
        c.put_namespace_file("company.data", "/b.py", b"B = 2\n")
    server = ("flows", "--server", emulator.url, "--delete")
    shown = run_cli("plan", *server, cwd=tmp_path)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    kept = shown.stdout.split("file /b.py", 1)[1]
    assert kept.split("\n")[0].split()[0] == "keep", shown.stdout
    assert "company.data/ui (read('b.py')) still uses it" in kept
    done = run_cli("apply", *server, "--auto-approve", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    with client(emulator) as c:
        assert c.export_namespace_files("company.data")["/b.py"] == b"B = 2\n"
    again = run_cli("plan", *server, "--detailed-exitcode", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
