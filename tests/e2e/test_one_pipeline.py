"""End to end, through the real CLI against the emulator: the guarantees every kind gets from
the one planning pipeline (issue 19, issue 20 items 1, 3 and 4)."""

from __future__ import annotations

from tests.support.project import Project, client, line_with, server_source

LOG = "io.kestra.plugin.core.log.Log"
BLOCK = f"id: note\nnamespace: company.team\ntasks:\n  - id: log\n    type: {LOG}\n    message: |\n      total:\n      done\n"


def test_trailing_spaces_inside_a_block_scalar_are_deployed(tmp_path, emulator):
    """`message: |` keeps the spaces at the end of its lines: Kestra stores and runs them. The
    plan called such an edit "No changes" and never deployed it."""
    p = Project(tmp_path, emulator)
    path = p.write(BLOCK)
    assert p.run("apply", "--auto-approve").returncode == 0

    edited = BLOCK.replace("      total:\n", "      total:   \n")
    path.write_text(edited, encoding="utf-8")
    planned = p.plan("--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    line_with(planned.stdout, "~ note", "update")
    line_with(planned.stdout, "+      total:   ⏎")

    done = p.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_source(emulator, "company.team", "note") == edited

    # Trailing spaces outside any scalar change nothing Kestra runs: still no change.
    path.write_text(edited.replace("id: note\n", "id: note  \n"), encoding="utf-8")
    assert p.plan("--detailed-exitcode").returncode == 0


SUBFLOW = "io.kestra.plugin.core.flow.Subflow"


def caller(fid: str, ns: str, target_ns: str, target_id: str) -> str:
    return (
        f"id: {fid}\nnamespace: {ns}\ntasks:\n  - id: call\n    type: {SUBFLOW}\n"
        f"    namespace: {target_ns}\n    flowId: {target_id}\n"
    )


def plain(fid: str, ns: str) -> str:
    return f"id: {fid}\nnamespace: {ns}\ntasks:\n  - id: log\n    type: {LOG}\n    message: hi\n"


def test_a_target_never_deletes_a_flow_the_full_plan_keeps(tmp_path, emulator):
    """Issue 20 item 1: ref.other/xcaller calls ref.ns/sub2; sub2.yml leaves git. The full
    `plan --delete` keeps sub2 (still referenced); a partial apply deleted it, breaking xcaller."""
    p = Project(tmp_path, emulator)
    p.write(plain("sub1", "ref.ns"))
    sub2 = p.write(plain("sub2", "ref.ns"))
    p.write(caller("xcaller", "ref.other", "ref.ns", "sub2"))
    assert p.run("apply", "--auto-approve").returncode == 0
    sub2.unlink()

    full = p.plan("--delete")
    line_with(full.stdout, "? sub2", "keep")
    line_with(full.stdout, "not deleted: ref.other/xcaller still references it")
    for target in ("ref.ns/sub2", "ref.ns/*"):
        done = p.run("apply", "--auto-approve", "--delete", "--target", target)
        assert done.returncode == 0, done.stdout + done.stderr
        line_with(done.stdout, "not deleted: ref.other/xcaller still references it")
        assert server_source(emulator, "ref.ns", "sub2") is not None, target


def resources(p: Project, ns: str = "company.team"):
    folder = p.root / "flows" / ns
    (folder / "_files" / "etl").mkdir(parents=True, exist_ok=True)
    return folder


def test_targets_name_files_and_kv_pairs_and_a_namespace_covers_every_kind(tmp_path, emulator):
    """--target used to leave namespace files and KV pairs out without a word."""
    p = Project(tmp_path, emulator)
    p.write(plain("etl", "company.team"))
    folder = resources(p)
    (folder / "_files" / "etl" / "load.py").write_bytes(b"v1\n")
    (folder / "_files" / "other.py").write_bytes(b"v1\n")
    (folder / "kv.yml").write_text("values:\n  region: eu\n  zone: a\n", encoding="utf-8")

    one = p.run("apply", "--auto-approve", "--target", "file:company.team/etl/load.py")
    assert one.returncode == 0, one.stdout + one.stderr
    line_with(one.stdout, "Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged.")
    key = p.run("apply", "--auto-approve", "--target", "kv:company.team/region")
    assert key.returncode == 0, key.stdout + key.stderr
    line_with(key.stdout, "Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged.")
    data = p.plan_json("--target", "company.team/*")
    assert sorted((c["kind"], c["id"], c["action"]) for c in data["changes"]) == [
        ("file", "/etl/load.py", "unchanged"),
        ("file", "/other.py", "create"),
        ("flow", "etl", "create"),
        ("kv", "region", "unchanged"),
        ("kv", "zone", "create"),
    ]
    typo = p.plan("--target", "kv:company.team/nope")
    assert typo.returncode == 1
    line_with(
        typo.stdout, "--target kv:company.team/nope matches no KV pair in git or on the server"
    )


def test_a_file_or_kv_pair_a_flow_still_uses_is_kept(tmp_path, emulator):
    """Issue 20 item 3: a flow reads `{{ read('script.py') }}` and `{{ kv('region') }}`;
    both leave git. `plan --delete` deleted them with no note; now they are kept, and why is
    said, as for a still-called subflow. A file only a flow being deleted used does go."""
    p = Project(tmp_path, emulator)
    user = (
        "id: user\nnamespace: company.team\ntasks:\n  - id: run\n"
        "    type: io.kestra.plugin.scripts.shell.Commands\n"
        "    namespaceFiles:\n      enabled: true\n      include: [lib/*.sh]\n"
        "    commands:\n      - sh etl/run.sh {{ kv('region') }}\n"
        "      - echo \"{{ read('script.py') }}\"\n"
    )
    path = p.write(user)
    gone = p.write(
        plain("gone", "company.team").replace("message: hi", "message: \"{{ read('old.py') }}\"")
    )
    folder = resources(p)
    for name in ("script.py", "etl/run.sh", "lib/a.sh", "old.py", "unused.py"):
        (folder / "_files" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "_files" / name).write_bytes(b"x\n")
    (folder / "kv.yml").write_text(
        "managed: true\nvalues:\n  region: eu\n  spare: 1\n", encoding="utf-8"
    )
    assert p.run("apply", "--auto-approve").returncode == 0
    for name in ("script.py", "etl/run.sh", "lib/a.sh", "old.py", "unused.py"):
        (folder / "_files" / name).unlink()
    (folder / "_files" / "keep.txt").write_bytes(b"stays\n")  # git still has files here
    (folder / "kv.yml").write_text("managed: true\nvalues:\n  keep: 1\n", encoding="utf-8")
    gone.unlink()

    done = p.run("apply", "--auto-approve", "--delete")
    assert done.returncode == 0, done.stdout + done.stderr
    line_with(done.stdout, "not deleted: company.team/user (read('script.py')) still uses it")
    line_with(done.stdout, "not deleted: company.team/user (names etl/run.sh) still uses it")
    line_with(done.stdout, "not deleted: company.team/user (namespaceFiles include 'lib/*.sh')")
    line_with(done.stdout, "not deleted: company.team/user (kv('region')) still uses it")
    with client(emulator) as c:
        assert sorted(c.export_namespace_files("company.team")) == [
            "/etl/run.sh",
            "/keep.txt",
            "/lib/a.sh",
            "/script.py",
        ]
        assert sorted(c.namespace_kv("company.team")) == ["keep", "region"]
    assert server_source(emulator, "company.team", "gone") is None
    # Once the flow stops using them, they go.
    path.write_text(plain("user", "company.team"), encoding="utf-8")
    assert p.run("apply", "--auto-approve", "--delete").returncode == 0
    with client(emulator) as c:
        assert sorted(c.export_namespace_files("company.team")) == ["/keep.txt"]
        assert sorted(c.namespace_kv("company.team")) == ["keep"]


def test_a_flow_made_during_the_apply_that_reads_a_file_keeps_it_from_deletion(tmp_path, emulator):
    """apply's delete guard reads the server again for every kind: while the writes run,
    someone adds a flow that reads the file about to be deleted; the file stays."""
    from kestra_sync.client import KestraClient
    from tests.e2e.test_apply import Recorder

    p = Project(tmp_path, emulator)
    path = p.write(plain("a", "company.team"))
    folder = resources(p)
    for name in ("keep.py", "gone.py"):
        (folder / "_files" / name).write_bytes(b"x\n")
    assert p.run("apply", "--auto-approve").returncode == 0
    (folder / "_files" / "gone.py").unlink()
    path.write_text(plain("a", "company.team").replace("hi", "hello"), encoding="utf-8")
    late = plain("late", "company.team").replace(
        "message: hi", "message: \"{{ read('gone.py') }}\""
    )
    recorder = Recorder(emulator)
    with KestraClient(emulator.url) as c:
        recorder.add("PUT", "company.team/a", before=lambda: c.create_flow(late))
        done = p.run("apply", "--auto-approve", "--delete")

    assert done.returncode == 1, done.stdout + done.stderr
    line_with(
        done.stdout,
        "[2/2] skipped delete company.team file /gone.py: not attempted: not deleted: "
        "company.team/late (read('gone.py')) still uses it",
    )
    with client(emulator) as c:
        assert sorted(c.export_namespace_files("company.team")) == ["/gone.py", "/keep.py"]


def test_a_kv_yml_with_managed_written_twice_is_refused_with_its_line(tmp_path, emulator):
    """Issue 20 item 12: kv.yml is read with the flows' positioned reader, so a key written
    twice is refused as in a flow file (YAML keeps the last `managed:` without a word, which
    would turn deletion on while a reviewer reads `false`)."""
    p = Project(tmp_path, emulator)
    p.write(plain("a", "company.team"))
    kv = tmp_path / "flows" / "company.team" / "kv.yml"
    kv.write_text("managed: false\nvalues:\n  region: eu\nmanaged: true\n", encoding="utf-8")
    for command in ("validate", "plan"):
        done = p.run(command)
        assert done.returncode == 1, (command, done.stdout + done.stderr)
        out = done.stdout + done.stderr
        line_with(out, "kv.yml:4", "`managed` is written twice (first at line 1)")
    assert emulator.stats.count("GET") == 0  # refused before asking the server anything


def test_a_targeted_delete_of_a_file_a_flow_uses_keeps_it(tmp_path, emulator):
    """The cross-kind guard holds for a partial plan too: `--target file:...` or `NS/*` with
    --delete never deletes a file a flow that stays reads."""
    p = Project(tmp_path, emulator)
    p.write(plain("user", "company.team").replace("message: hi", "message: \"{{ read('s.py') }}\""))
    folder = resources(p)
    for name in ("s.py", "keep.txt"):
        (folder / "_files" / name).write_bytes(b"x\n")
    assert p.run("apply", "--auto-approve").returncode == 0
    (folder / "_files" / "s.py").unlink()
    for target in ("file:company.team/s.py", "company.team/*"):
        done = p.run("apply", "--auto-approve", "--delete", "--target", target)
        assert done.returncode == 0, done.stdout + done.stderr
        line_with(done.stdout, "not deleted: company.team/user (read('s.py')) still uses it")
        with client(emulator) as c:
            assert "/s.py" in c.export_namespace_files("company.team"), target
