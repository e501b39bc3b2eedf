"""Namespace files and KV pairs end to end: the real CLI in a child process, over real HTTP,
against the in-process emulator. Create, update, delete with every guard, binary files, a
listing that cannot be read, a failed upload half-way (a re-run converges), the saved plan,
and the pull round trip."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest

from kestra_sync.emulator.resources import store_of
from tests.e2e.test_plan import SCHEMA
from tests.support.project import Project, client, flow, line_with

NS = "company.team"
BINARY = bytes(range(256)) * 4 + b"\x00\xff\xfe"


def files_dir(p: Project, ns: str = NS):
    return p.root / "flows" / ns.replace(".", "/") / "_files"


def put_file(p: Project, path: str, content: bytes, ns: str = NS):
    target = files_dir(p, ns) / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return target


def server_files(p: Project, ns: str = NS) -> dict[str, bytes]:
    with client(p.emu) as c:
        return c.export_namespace_files(ns)


def server_kv(p: Project, ns: str = NS) -> dict:
    with client(p.emu) as c:
        return {k: v for k, (_, v) in c.namespace_kv(ns).items()}


def write_kv(p: Project, text: str, ns: str = NS) -> None:
    path = p.root / "flows" / ns.replace(".", "/") / "kv.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    return p


def nested_flow(p: Project, source: str, ns: str = NS) -> None:
    fid = source.split("\n", 1)[0].split(": ")[1]
    path = p.root / "flows" / ns.replace(".", "/") / f"{fid}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


def test_files_kv_and_flow_created_together_then_updates_show_a_diff(project):
    nested_flow(project, flow("etl"))
    put_file(project, "etl/load.py", b"print('v1')\n")
    put_file(project, "model.bin", BINARY)
    # YAML under _files is a namespace file, never scanned as a flow.
    put_file(project, "conf/settings.yml", b"not: a flow\n")
    write_kv(project, "values:\n  region: eu\n  retries: 3\n  dry_run: false\n  cfg: {a: [1]}\n")

    done = project.run("apply", "--auto-approve", "--parallelism", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    line_with(done.stdout, "Plan: 8 to create, 0 to update, 0 to delete, 0 unchanged.")
    # Files and KV values are written before the flow that uses them.
    order = [line.split("] ", 1)[1] for line in done.stdout.splitlines() if line.startswith("[")]
    assert order.index(next(o for o in order if "company.team/etl" in o)) == len(order) - 1
    assert server_files(project) == {
        "/etl/load.py": b"print('v1')\n",
        "/model.bin": BINARY,
        "/conf/settings.yml": b"not: a flow\n",
    }
    assert server_kv(project) == {"region": "eu", "retries": 3, "dry_run": False, "cfg": {"a": [1]}}

    same = project.plan("--detailed-exitcode")
    assert same.returncode == 0, same.stdout + same.stderr

    put_file(project, "etl/load.py", b"print('v2')\n")
    put_file(project, "model.bin", BINARY[::-1])
    write_kv(project, "values:\n  region: us\n  retries: 3\n  dry_run: false\n  cfg: {a: [1]}\n")
    changed = project.plan("--detailed-exitcode")
    assert changed.returncode == 2, changed.stdout + changed.stderr
    line_with(changed.stdout, "~ file /etl/load.py", "update")
    line_with(changed.stdout, "-print('v1')")
    line_with(changed.stdout, "+print('v2')")
    line_with(changed.stdout, "binary file changed: 1,027 bytes -> 1,027 bytes")
    # The server's old value is never shown: only what git sets.
    line_with(changed.stdout, 'value -> "us" (the server\'s value is not shown)')
    assert "\x00" not in changed.stdout and "\\x00" not in changed.stdout
    line_with(changed.stdout, "Plan: 0 to create, 3 to update, 0 to delete, 5 unchanged.")

    data = project.plan_json()  # validated against docs/plan.schema.json
    kinds = {(c["kind"], c["id"]): c["action"] for c in data["changes"]}
    assert kinds[("file", "/model.bin")] == "update"
    assert kinds[("kv", "region")] == "update"
    assert kinds[("flow", "etl")] == "unchanged"

    again = project.run("apply", "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    assert server_files(project)["/model.bin"] == BINARY[::-1]
    assert project.plan("--detailed-exitcode").returncode == 0


def test_file_deletes_are_opt_in_scoped_capped_and_never_from_an_empty_tree(project):
    nested_flow(project, flow("etl"))
    for name in ("a.py", "b.py", "c.py"):
        put_file(project, name, name.encode())
    assert project.run("apply", "--auto-approve").returncode == 0
    (files_dir(project) / "b.py").unlink()
    (files_dir(project) / "c.py").unlink()
    # Another namespace's files are out of scope: never read, never touched.
    with client(project.emu) as c:
        c.put_namespace_file("other.ns", "/x.py", b"x")

    kept = project.plan("--detailed-exitcode")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    line_with(kept.stdout, "? file /b.py", "keep")
    assert "--delete would remove it" in kept.stdout

    capped = project.plan("--delete", "--max-deletes", "1")
    assert capped.returncode == 1
    assert "would delete 2 namespace files, more than the limit of 1" in (capped.stdout)

    deleted = project.run("apply", "--auto-approve", "--delete")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert set(server_files(project)) == {"/a.py"}
    assert set(server_files(project, "other.ns")) == {"/x.py"}

    # Every file gone from git (a truncated checkout): nothing deleted unless allowed.
    (files_dir(project) / "a.py").unlink()
    project.config(
        f"directory: flows\nlayout: nested\nnamespace_files:\n  {NS}: flows/company/team/_files\n"
    )
    empty = project.plan("--delete", "--detailed-exitcode")
    assert empty.returncode == 0, empty.stdout + empty.stderr
    line_with(empty.stdout, "git has no namespace file in this namespace")
    allowed = project.run("apply", "--auto-approve", "--delete", "--allow-empty-namespace")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert server_files(project) == {}


def test_an_unreadable_file_listing_changes_nothing_in_that_namespace(project):
    nested_flow(project, flow("etl"))
    put_file(project, "keep.py", b"1")
    assert project.run("apply", "--auto-approve").returncode == 0
    (files_dir(project) / "keep.py").unlink()
    put_file(project, "new.py", b"2")
    # The export answers 200 but not with a zip (a proxy page, a cut-off body).
    project.emu.faults.add("GET", r"/files/export$", status=200, body={"oops": True}, count=10)
    done = project.plan("--delete", "--allow-empty-namespace", "--format", "json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    jsonschema.validate(data, SCHEMA)
    assert any(
        "could not read the namespace files of namespace company.team" in e for e in data["errors"]
    )
    assert not [c for c in data["changes"] if c["kind"] == "file"]
    applied = project.run("apply", "--auto-approve", "--delete", "--allow-empty-namespace")
    assert applied.returncode == 1
    project.emu.faults.clear()
    assert server_files(project) == {"/keep.py": b"1"}


def test_kv_keys_git_does_not_declare_are_kept_unless_the_namespace_is_managed(project):
    write_kv(project, "values:\n  region: eu\n")
    nested_flow(project, flow("etl"))
    with client(project.emu) as c:
        c.put_kv(NS, "made_in_ui", "x")
    kept = project.run("apply", "--auto-approve", "--delete")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    line_with(kept.stdout, "? kv made_in_ui", "keep")
    assert "managed: true" in kept.stdout
    assert server_kv(project) == {"region": "eu", "made_in_ui": "x"}

    write_kv(project, "managed: true\nvalues:\n  region: eu\n")
    without_delete = project.plan("--detailed-exitcode")
    assert without_delete.returncode == 0
    deleted = project.run("apply", "--auto-approve", "--delete")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert server_kv(project) == {"region": "eu"}


def test_a_failed_upload_half_way_stops_flows_and_deletes_and_a_rerun_converges(project):
    nested_flow(project, flow("etl"))
    nested_flow(project, flow("retired"))
    put_file(project, "a.py", b"a")
    put_file(project, "gone.py", b"old")
    assert project.run("apply", "--auto-approve").returncode == 0
    (files_dir(project) / "gone.py").unlink()
    (project.root / "flows" / NS.replace(".", "/") / "retired.yml").unlink()
    put_file(project, "a.py", b"a2")
    put_file(project, "b.py", b"b")
    nested_flow(project, flow("etl", message="v2"))
    nested_flow(project, flow("other", ns="company.other"), ns="company.other")
    project.emu.faults.add("POST", r"/namespaces/company\.team/files$", status=500, count=1)

    failed = project.run("apply", "--auto-approve", "--delete", "--parallelism", "1")
    assert failed.returncode == 1
    out = failed.stdout + failed.stderr
    # The progress lines ("[i/n] ...", on stdout with the report since the output contract).
    progress = "\n".join(line for line in failed.stdout.splitlines() if line.startswith("["))
    line_with(progress, "FAILED", "file /a.py")
    # The flow of that namespace waits for its files; another namespace's flow goes ahead.
    line_with(progress, "company.team/etl", "a namespace file write of its namespace")
    line_with(progress, "ok", "company.other/other: created")
    line_with(progress, "file /gone.py", "nothing is deleted")
    # Nor a flow: the guarantee holds across kinds (no delete after any failed write).
    line_with(progress, "company.team/retired", "nothing is deleted")
    assert "Traceback" not in out
    assert server_files(project)["/gone.py"] == b"old"  # no delete after a failed write
    with client(project.emu) as c:
        assert c.get_flow(NS, "retired").revision == 1

    rerun = project.run("apply", "--auto-approve", "--delete")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert server_files(project) == {"/a.py": b"a2", "/b.py": b"b"}
    assert project.plan("--delete", "--detailed-exitcode").returncode == 0


def test_saved_plan_carries_file_content_and_is_refused_when_a_file_moved(project):
    nested_flow(project, flow("etl"))
    put_file(project, "a.bin", BINARY)
    write_kv(project, "values:\n  region: eu\n")
    saved = project.plan("--out", "plan.json")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    data = json.loads((project.root / "plan.json").read_text())
    jsonschema.validate(data, SCHEMA)
    # Change the local file after planning: apply sends what the plan holds.
    put_file(project, "a.bin", b"edited after the plan")
    done = project.run("apply", "plan.json", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_files(project)["/a.bin"] == BINARY
    assert server_kv(project) == {"region": "eu"}
    # The same saved plan again: what it did is already there, so it converges.
    assert project.run("apply", "plan.json", "--auto-approve").returncode == 0

    put_file(project, "a.bin", b"v3")
    assert project.plan("--out", "plan2.json").returncode == 0
    with client(project.emu) as c:
        c.put_namespace_file(NS, "/a.bin", b"changed in the UI")
    stale = project.run("apply", "plan2.json", "--auto-approve")
    assert stale.returncode == 1
    assert (
        "stale" in stale.stderr and "company.team file /a.bin changed on the server" in stale.stderr
    )
    assert server_files(project)["/a.bin"] == b"changed in the UI"


def test_pull_brings_files_down_byte_for_byte_and_plan_then_shows_no_change(project, tmp_path):
    with client(project.emu) as c:
        c.create_flow(flow("etl"))
        c.put_namespace_file(NS, "/etl/load.py", b"print(1)\r\n")
        c.put_namespace_file(NS, "/data/blob.bin", BINARY)
        c.put_kv(NS, "region", "eu")
        c.put_kv(NS, "limits", {"cpu": 2, "tags": ["a"]})
        c.put_kv(NS, "flag", "true")  # a string, not a boolean
    pulled = project.run("pull", "--namespace", NS)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert (files_dir(project) / "etl/load.py").read_bytes() == b"print(1)\r\n"
    assert (files_dir(project) / "data/blob.bin").read_bytes() == BINARY
    assert (files_dir(project).parent / "kv.yml").is_file()
    same = project.plan("--delete", "--detailed-exitcode")
    assert same.returncode == 0, same.stdout + same.stderr

    # A local edit is kept unless --overwrite.
    put_file(project, "etl/load.py", b"local edit")
    kept = project.run("pull", "--namespace", NS)
    assert kept.returncode == 1 and "differs from the server; kept" in kept.stderr
    assert (files_dir(project) / "etl/load.py").read_bytes() == b"local edit"


def test_pull_never_writes_outside_the_directory(project):
    store_of(project.emu._server).put_file("main", NS, "/../../escape.txt", b"x")
    done = project.run("pull", "--namespace", NS)
    assert done.returncode == 1
    # Refused as it is read (Kestra's storage never holds a `..` path): nothing is written.
    assert "zip entry '../../escape.txt'" in done.stderr
    assert not (project.root / "flows" / "escape.txt").exists()
    assert not files_dir(project).exists()
    assert not (project.root / "escape.txt").exists()


def test_validate_refuses_files_kestra_would_refuse_and_secret_looking_kv(project):
    nested_flow(project, flow("etl"))
    put_file(project, "_flows/x.txt", b"x")
    put_file(project, "big.bin", b"x" * 2048)
    other = project.root / "scripts"
    other.mkdir()
    (other / "shared.py").write_text("x")
    project.config(
        "directory: flows\nmax_file_size: 1024\nnamespace_files:\n"
        "  company.a: scripts\n  company.b: scripts\n"
    )
    write_kv(project, "values:\n  api_key: abcdef\n  region: eu\n")
    done = project.run("validate")
    assert done.returncode == 1
    line_with(done.stdout, "_files/_flows/x.txt", "Kestra refuses namespace files under /_flows")
    line_with(done.stdout, "big.bin", "over the server's upload limit of 1,024 bytes")
    line_with(done.stdout, "shared.py", "mapped to two namespaces, company.a and company.b")
    line_with(done.stdout, "kv.yml:2", "'api_key' looks like a secret", "secret('NAME')")
    assert "abcdef" not in done.stdout + done.stderr
    plan = project.plan()
    assert plan.returncode == 1 and "Traceback" not in plan.stderr


def test_demo_deploys_a_script_and_kv_with_its_flow_then_shows_the_script_diff(tmp_path):
    import shutil

    from tests.conftest import ROOT, run_cli

    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    before = {p: p.read_bytes() for p in (tmp_path / "flows").rglob("*") if p.is_file()}
    done = run_cli("demo", "flows", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    # Its emulator demands credentials as Kestra >= 0.24 does; every step passes them.
    assert "(in memory, basic auth: demo@kestra.io)" in done.stdout.splitlines()[0]
    # One apply creates the script, the KV pairs and the flow (a progress line each, "[i/n] ...").
    progress = "\n".join(line for line in done.stdout.splitlines() if line.startswith("["))
    for created in (
        "create company.data file /scripts/row_count.py: created",
        "create company.data kv warehouse_table: created",
        "create company.data/row-count: created",
    ):
        line_with(progress, created)
    script_step = done.stdout.split("== 7. plan shows the script's diff", 1)[1]
    line_with(script_step, "~ file /scripts/row_count.py", "update")
    line_with(script_step, '+print("done")')
    # The edit was made in a copy: the user's directory is untouched.
    assert {p: p.read_bytes() for p in (tmp_path / "flows").rglob("*") if p.is_file()} == before


def test_plan_reads_each_namespaces_files_with_one_request_however_many(project):
    for n in range(3):
        ns = f"company.t{n}"
        nested_flow(project, flow("job", ns=ns), ns=ns)
        for i in range(4 + 6 * n):  # 4, 10 and 16 files
            put_file(project, f"scripts/s{i}.py", f"print({i})\n".encode(), ns=ns)
    assert project.run("apply", "--auto-approve").returncode == 0
    project.emu.stats.reset()
    done = project.plan("--detailed-exitcode")
    assert done.returncode == 0, done.stdout + done.stderr
    requests = project.emu.stats.snapshot()["requests"]
    files = {route: n for route, n in requests.items() if "/files" in route}
    assert files == {"GET /api/v1/{tenant}/namespaces/{namespace}/files/export": 3}


def test_pull_never_follows_a_files_link_out_of_the_directory(project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    files_dir(project).parent.mkdir(parents=True)
    files_dir(project).symlink_to(outside, target_is_directory=True)
    with client(project.emu) as c:
        c.put_namespace_file(NS, "/a.py", b"x")
    done = project.run("pull", "--namespace", NS)
    assert done.returncode == 1 and "would be written outside" in done.stderr
    assert list(outside.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_an_incomplete_files_scan_never_deletes_and_a_link_out_is_never_uploaded(project, tmp_path):
    """The flow scan's guarantees hold under _files too (README, "Scanning and pull"): a broken
    link is an error, so `apply --delete` changes nothing instead of deleting the server's copy
    of the file it could not read; a link to a file outside the flow directory is refused, not
    uploaded."""
    nested_flow(project, flow("etl"))
    put_file(project, "extra.py", b"kept")
    assert project.run("apply", "--auto-approve").returncode == 0
    target = files_dir(project) / "extra.py"
    target.unlink()
    os.symlink(tmp_path / "nonexistent", target)

    done = project.run("apply", "--auto-approve", "--delete")
    assert done.returncode == 1
    assert "extra.py" in done.stderr and "broken symbolic link" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert server_files(project)["/extra.py"] == b"kept"

    target.unlink()
    secret = tmp_path / "outside.txt"
    secret.write_bytes(b"not for the server")
    os.symlink(secret, target)
    planned = project.plan()
    assert planned.returncode == 1
    assert "outside the flow directory" in planned.stderr
    assert "not for the server" not in planned.stdout + planned.stderr


def test_a_saved_plan_that_deletes_a_file_applies(project):
    """A planned file delete is checked against the file listing, not the flow snapshot (which
    never holds files): the saved plan is applied, not refused as stale."""
    nested_flow(project, flow("etl"))
    put_file(project, "keep.py", b"k")
    put_file(project, "gone.py", b"g")
    assert project.run("apply", "--auto-approve").returncode == 0
    (files_dir(project) / "gone.py").unlink()
    saved = project.plan("--delete", "--out", "plan.json")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    done = project.run("apply", "plan.json", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_files(project) == {"/keep.py": b"k"}


def test_a_kv_value_yaml_cannot_send_as_json_is_a_one_line_error(project):
    nested_flow(project, flow("etl"))
    write_kv(project, "values:\n  blob: !!binary aGVsbG8=\n")
    for command in ("validate", "plan"):
        done = project.run(command)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "KV key 'blob': the value is not JSON data" in done.stdout + done.stderr
        assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr


def test_a_kv_file_alone_does_not_put_a_namespaces_flows_in_reach_of_delete(project):
    """README's deletion rules: a namespace without flows in git is touched only when it is
    managed (--namespace) and allowed. A kv.yml there is not a way around the first."""
    with client(project.emu) as c:
        c.create_flow(flow("made_in_ui", ns="company.victim"))
    write_kv(project, "values:\n  region: eu\n", ns="company.victim")
    nested_flow(project, flow("etl"))
    done = project.run("apply", "--auto-approve", "--delete", "--allow-empty-namespace")
    assert done.returncode == 0, done.stdout + done.stderr
    with client(project.emu) as c:
        assert c.get_flow("company.victim", "made_in_ui").revision == 1
    assert server_kv(project, ns="company.victim") == {"region": "eu"}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_under_files_blocks_the_plan_instead_of_deleting_the_servers_file(project):
    """A FIFO named like a flow is skipped with a warning: its flow id is unknown, so nothing is
    deleted for it. Under _files its name IS the server path: skipping it would let
    `apply --delete` remove the server's /extra.py. It is refused as an unreadable file is."""
    nested_flow(project, flow("etl"))
    put_file(project, "load.py", b"stays in git")
    put_file(project, "extra.py", b"kept")
    assert project.run("apply", "--auto-approve").returncode == 0
    target = files_dir(project) / "extra.py"
    target.unlink()
    os.mkfifo(target)

    done = project.run("apply", "--auto-approve", "--delete")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    line_with(done.stderr, "extra.py", "a FIFO, not a regular file")
    assert server_files(project)["/extra.py"] == b"kept"
    checked = project.run("validate")
    assert checked.returncode == 1 and "a FIFO" in checked.stdout


@pytest.mark.parametrize("content", ["compressible", "random"])
def test_a_pull_whose_files_export_is_over_the_limit_writes_nothing_and_hints_the_limit(
    project, content
):
    """The README promises a failed pull writes nothing: the flows used to be written before
    the namespace files were read. Over --max-reply-mb, on the wire (random bytes) or once
    unpacked (zeros), the pull stops before any write, and the hint is the limit, not a proxy."""
    big = os.urandom(2 << 20) if content == "random" else bytes(3 << 20)
    with client(project.emu) as c:
        c.create_flow(flow("etl"))
        c.put_namespace_file(NS, "/data/big.bin", big)
        c.put_kv(NS, "region", "eu")
    done = project.run("pull", "out", "--namespace", NS, "--max-reply-mb", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    line_with(done.stderr, "error:", f"/namespaces/{NS}/files/export", "--max-reply-mb")
    line_with(done.stderr, "hint:", "--max-reply-mb")
    assert "proxy" not in done.stderr and "wrote" not in done.stdout
    assert not (project.root / "out").exists()


def test_files_under_a_folder_kestraignore_excludes_are_not_deployed(project):
    """`.kestraignore` `drafts/` keeps the flow scan out of drafts/; the namespace files scan
    entered it all the same and planned drafts/acme/_files/x.py as a file of drafts.acme."""
    nested_flow(project, flow("etl"))
    (project.root / "flows/.kestraignore").write_text("drafts/\n", encoding="utf-8")
    put_file(project, "x.py", b"draft", ns="drafts.acme")
    done = project.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "x.py" not in done.stdout and server_files(project, "drafts.acme") == {}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_pull_never_reads_a_fifo_or_a_folder_standing_where_a_file_goes(project):
    """pull compared a local file by reading it: a FIFO at that path hung it for ever, a folder
    was exit 3. Both now differ from the server (kept); --overwrite replaces the FIFO, and a
    folder that cannot be replaced is one error naming it."""
    from tests.e2e.test_trust_client import cli

    with client(project.emu) as c:
        c.create_flow(flow("etl"))
        c.put_namespace_file(NS, "/etl/load.py", b"print(1)\n")
        c.put_namespace_file(NS, "/data/blob.bin", BINARY)
    (files_dir(project) / "etl").mkdir(parents=True)
    os.mkfifo(files_dir(project) / "etl/load.py")
    (files_dir(project) / "data/blob.bin").mkdir(parents=True)
    env = {"KESTRA_URL": project.emu.url}
    kept = cli("pull", "--namespace", NS, cwd=project.root, env=env, timeout=30)
    assert kept.returncode == 1, kept.stdout + kept.stderr
    line_with(kept.stderr, "conflict", "etl/load.py", "differs from the server; kept")
    line_with(kept.stderr, "conflict", "data/blob.bin", "differs from the server; kept")
    assert "Traceback" not in kept.stderr

    args = ("pull", "--namespace", NS, "--overwrite")
    forced = cli(*args, cwd=project.root, env=env, timeout=30)
    assert forced.returncode == 1 and "Traceback" not in forced.stderr
    line_with(forced.stderr, "error:", "data/blob.bin: cannot write", "nothing was written")
    (files_dir(project) / "data/blob.bin").rmdir()
    replaced = cli(*args, cwd=project.root, env=env, timeout=30)
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert (files_dir(project) / "etl/load.py").read_bytes() == b"print(1)\n"
