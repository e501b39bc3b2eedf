"""End to end: a connection cut while writing a KV pair or a namespace file, half-way through
an apply that also updates and deletes flows, through a saved plan. Nothing is deleted, the
report says once what may have happened, and the same `apply plan.json` converges."""

from __future__ import annotations

import pytest

from tests.e2e.test_resources import (
    files_dir,
    nested_flow,
    put_file,
    server_files,
    server_kv,
    write_kv,
)
from tests.support.project import Project, client, flow, line_with

NS = "company.team"


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    nested_flow(p, flow("etl"))
    nested_flow(p, flow("retired"))
    write_kv(p, "values:\n  region: eu\n")
    put_file(p, "load.py", b"v1")
    assert p.run("apply", "--auto-approve").returncode == 0
    (p.root / "flows" / "company" / "team" / "retired.yml").unlink()
    nested_flow(p, flow("etl", message="v2"))
    write_kv(p, "values:\n  region: eu\n  bucket: b2\n")
    put_file(p, "load.py", b"v2")
    saved = p.plan("--delete", "--out", "plan.json")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    return p


@pytest.mark.parametrize(
    ("method", "path", "named"),
    [("PUT", r"/kv/bucket$", "kv bucket"), ("POST", r"/files$", "file /load.py")],
)
def test_a_cut_write_deletes_nothing_says_it_once_and_the_saved_plan_converges(
    project, method, path, named
):
    project.emu.faults.add(method, path, drop=True, count=4)  # a PUT is retried 3 times

    failed = project.run("apply", "plan.json", "--auto-approve", "--parallelism", "1")

    assert failed.returncode == 1, failed.stdout + failed.stderr
    progress = "\n".join(line for line in failed.stdout.splitlines() if line.startswith("["))
    cut = line_with(progress, "FAILED", named)
    assert cut.count("re-run converges") == 1, cut
    assert cut.count("may have") == 1, cut
    line_with(progress, "skipped", "company.team/retired", "nothing is deleted")
    with client(project.emu) as c:
        assert c.get_flow(NS, "retired").revision == 1

    project.emu.faults.clear()
    again = project.run("apply", "plan.json", "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    assert server_kv(project) == {"region": "eu", "bucket": "b2"}
    assert server_files(project) == {"/load.py": b"v2"}
    assert project.plan("--delete", "--detailed-exitcode").returncode == 0
    assert (files_dir(project) / "load.py").read_bytes() == b"v2"


def test_a_failed_flow_delete_keeps_the_file_and_kv_pair_it_still_uses(tmp_path, emulator):
    """The delete guard lets a file and a KV pair go because the flow that uses them is being
    deleted too; when that flow's delete fails, the flow stays, so they must stay as well."""
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    nested_flow(p, flow("etl"))
    nested_flow(p, flow("old", message="\"{{ read('old.py') }} {{ kv('oldkey') }}\""))
    put_file(p, "keep.py", b"k")
    put_file(p, "old.py", b"o")
    write_kv(p, "managed: true\nvalues:\n  region: eu\n  oldkey: x\n")
    assert p.run("apply", "--auto-approve").returncode == 0
    (files_dir(p) / "old.py").unlink()
    (p.root / "flows" / "company" / "team" / "old.yml").unlink()
    write_kv(p, "managed: true\nvalues:\n  region: eu\n")
    emulator.faults.add("DELETE", r"/flows/company\.team/old$", status=500, count=1)

    failed = p.run("apply", "--auto-approve", "--delete")

    assert failed.returncode == 1, failed.stdout + failed.stderr
    progress = "\n".join(line for line in failed.stdout.splitlines() if line.startswith("["))
    line_with(progress, "FAILED", "delete company.team/old")
    line_with(progress, "skipped", "file /old.py", "delete of company.team/old failed")
    line_with(progress, "skipped", "kv oldkey", "delete of company.team/old failed")
    assert server_files(p) == {"/keep.py": b"k", "/old.py": b"o"}
    assert server_kv(p) == {"region": "eu", "oldkey": "x"}

    again = p.run("apply", "--auto-approve", "--delete")
    assert again.returncode == 0, again.stdout + again.stderr
    assert server_files(p) == {"/keep.py": b"k"}
    assert server_kv(p) == {"region": "eu"}


CALLER = """id: a_caller
namespace: company.team
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: z_sub
"""


def test_a_failed_caller_delete_keeps_the_subflow_it_calls(tmp_path, emulator):
    """Both removed from git: the guard lets the subflow go because its caller goes too; when
    the caller's delete fails, the subflow it still calls must stay."""
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    nested_flow(p, flow("etl"))
    nested_flow(p, flow("z_sub"))
    nested_flow(p, CALLER)
    assert p.run("apply", "--auto-approve").returncode == 0
    for fid in ("a_caller", "z_sub"):
        (p.root / "flows" / "company" / "team" / f"{fid}.yml").unlink()
    emulator.faults.add("DELETE", r"/flows/company\.team/a_caller$", status=500, count=1)

    failed = p.run("apply", "--auto-approve", "--delete", "--parallelism", "4")

    assert failed.returncode == 1, failed.stdout + failed.stderr
    progress = "\n".join(line for line in failed.stdout.splitlines() if line.startswith("["))
    line_with(progress, "FAILED", "delete company.team/a_caller")
    line_with(progress, "skipped", "company.team/z_sub", "delete of company.team/a_caller failed")
    with client(emulator) as c:
        assert sorted(f.id for f in c.search_flows(NS)) == ["a_caller", "etl", "z_sub"]

    again = p.run("apply", "--auto-approve", "--delete")
    assert again.returncode == 0, again.stdout + again.stderr
    with client(emulator) as c:
        assert [f.id for f in c.search_flows(NS)] == ["etl"]
