"""End to end: `kestra-sync pull` adopts a server's flows byte for byte, and a `plan` right after
it shows no changes (the issue's acceptance test)."""

from __future__ import annotations

from pathlib import Path

from kestra_sync.client import KestraClient
from tests.support.cli import run_cli

# Comments, blank lines, odd quoting, CRLF line ends, non-ASCII: all must survive unchanged.
CRLF = (
    "# Owned by the data team\r\nid: crlf\r\nnamespace: acme\r\n\r\ntasks:\r\n"
    "  - id: log   # inline comment\r\n    type: io.kestra.plugin.core.log.Log\r\n"
    "    message: 'Grüße, ''quoted'''\r\n"
)
PLAIN = (
    "id: plain\nnamespace: acme\ndescription: |\n  Two lines\n  of text\n\ntasks:\n"
    "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
)
CHILD = "id: child\nnamespace: acme.sub\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"
OTHER = "id: other\nnamespace: other\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"


def seed(emu) -> None:
    with KestraClient(emu.url) as client:
        for source in (CRLF, PLAIN, CHILD, OTHER):
            client.create_flow(source)
        client.create_flow(OTHER.replace("id: other", "id: removed"))
        client.delete_flow("other", "removed")


def kestra(emu, *args: str, cwd: Path):
    return run_cli(*args, cwd=cwd, env={"KESTRA_URL": emu.url})


def files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_pull_writes_byte_for_byte_in_the_nested_layout_and_plan_then_shows_no_changes(
    emulator, tmp_path
):
    seed(emulator)
    pulled = kestra(emulator, "pull", "flows", "--namespace", "acme", cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    assert files(tmp_path / "flows") == {
        "acme/crlf.yml": CRLF.encode("utf-8"),
        "acme/plain.yml": PLAIN.encode("utf-8"),
    }  # acme.sub only with --include-children; other namespaces never
    assert "Pulled 2 flow(s): 2 written" in pulled.stderr

    plan = kestra(emulator, "plan", "flows", "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "2 unchanged" in plan.stdout

    again = kestra(emulator, "pull", "flows", "--namespace", "acme", cwd=tmp_path)
    assert again.returncode == 0
    assert "2 unchanged" in again.stderr and "wrote" not in again.stdout


def test_pull_with_children_in_the_dotted_layout_then_plan_shows_no_changes(emulator, tmp_path):
    seed(emulator)
    args = ("--namespace", "acme", "--include-children", "--layout", "dotted")
    pulled = kestra(emulator, "pull", "flows", *args, cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    assert files(tmp_path / "flows") == {
        "acme.sub/child.yml": CHILD.encode(),
        "acme/crlf.yml": CRLF.encode("utf-8"),
        "acme/plain.yml": PLAIN.encode(),
    }
    plan = kestra(
        emulator,
        "plan",
        "flows",
        "--namespace",
        "acme",
        "--include-children",
        "--delete",
        "--detailed-exitcode",
        cwd=tmp_path,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_a_differing_local_file_is_kept_without_overwrite(emulator, tmp_path):
    seed(emulator)
    local = tmp_path / "flows" / "acme" / "plain.yml"
    local.parent.mkdir(parents=True)
    mine = PLAIN.replace("message: hi", "message: my local work")
    local.write_text(mine, encoding="utf-8")

    kept = kestra(emulator, "pull", "flows", "--namespace", "acme", cwd=tmp_path)
    assert kept.returncode == 1
    assert "conflict" in kept.stderr and "--overwrite" in kept.stderr
    assert local.read_text(encoding="utf-8") == mine
    assert (tmp_path / "flows" / "acme" / "crlf.yml").read_bytes() == CRLF.encode()

    taken = kestra(emulator, "pull", "flows", "--namespace", "acme", "--overwrite", cwd=tmp_path)
    assert taken.returncode == 0, taken.stderr
    assert local.read_bytes() == PLAIN.encode()


def test_overlapping_namespaces_pull_each_flow_once(emulator, tmp_path):
    """`--namespace acme --namespace acme.sub --include-children` lists acme.sub's flows twice;
    the second copy used to be reported as a conflict with the file the first had just written."""
    seed(emulator)
    args = ("--namespace", "acme", "--namespace", "acme.sub", "--include-children")
    pulled = kestra(emulator, "pull", "flows", *args, cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    assert "Pulled 3 flow(s): 3 written, 0 unchanged, 0 kept" in pulled.stderr
    assert sorted(files(tmp_path / "flows")) == [
        "acme/crlf.yml",
        "acme/plain.yml",
        "acme/sub/child.yml",
    ]


def test_overwrite_never_replaces_a_file_that_holds_another_flow(emulator, tmp_path):
    """flows/acme/plain.yml holds flow acme/renamed (a file not named after its flow): pulling
    acme/plain with --overwrite used to write over it, losing acme/renamed's only definition."""
    seed(emulator)
    squatter = tmp_path / "flows" / "acme" / "plain.yml"
    squatter.parent.mkdir(parents=True)
    other = PLAIN.replace("id: plain", "id: renamed")
    squatter.write_text(other, encoding="utf-8")

    pulled = kestra(emulator, "pull", "flows", "--namespace", "acme", "--overwrite", cwd=tmp_path)

    assert pulled.returncode == 1
    assert "acme/plain" in pulled.stderr and "holds acme/renamed" in pulled.stderr
    assert squatter.read_text(encoding="utf-8") == other
    assert (tmp_path / "flows" / "acme" / "crlf.yml").read_bytes() == CRLF.encode()


def test_a_flow_defined_in_two_local_files_is_reported_not_silently_half_updated(
    emulator, tmp_path
):
    """Two local files held acme/plain (one of them differing): pull compared one of them,
    said "unchanged", exit 0, and the stale copy stayed for the next plan to trip on."""
    seed(emulator)
    folder = tmp_path / "flows" / "acme"
    folder.mkdir(parents=True)
    (folder / "plain.yml").write_text(PLAIN.replace("hi", "stale"), encoding="utf-8")
    (folder / "copy.yml").write_text(PLAIN, encoding="utf-8")

    pulled = kestra(emulator, "pull", "flows", "--namespace", "acme", cwd=tmp_path)

    assert pulled.returncode == 1
    assert "acme/plain is defined in 2 files" in pulled.stderr
    assert "one file per flow" in pulled.stderr
    assert (folder / "plain.yml").read_text(encoding="utf-8") == PLAIN.replace("hi", "stale")
    assert (folder / "crlf.yml").read_bytes() == CRLF.encode()  # the other flows still pulled


# --- issue 11 item 6: --all, a parent namespace without flows, a config written ----------------


def test_pull_all_takes_every_namespace_and_init_then_writes_a_config_validate_enforces(
    emulator, tmp_path
):
    seed(emulator)
    pulled = kestra(emulator, "pull", "flows", "--all", "--layout", "dotted", cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    assert sorted(files(tmp_path / "flows")) == [
        "acme.sub/child.yml",
        "acme/crlf.yml",
        "acme/plain.yml",
        "other/other.yml",  # the deleted flow is not pulled
    ]
    # pull writes nothing outside DIR: it names the command that writes the config
    assert not (tmp_path / "kestra-sync.yml").exists()
    assert "hint: no kestra-sync.yml: run `kestra-sync init`" in pulled.stderr
    assert "and the dotted layout" in pulled.stderr
    inited = kestra(emulator, "init", cwd=tmp_path)
    assert "layout: dotted" in (tmp_path / "kestra-sync.yml").read_text(), inited.stdout
    plan = kestra(emulator, "plan", "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    # the layout is enforced from now on
    (tmp_path / "flows/acme/misplaced.yml").write_text(CHILD.replace("id: child", "id: x"))
    checked = kestra(emulator, "validate", cwd=tmp_path)
    assert checked.returncode == 1 and "with layout 'dotted'" in checked.stdout


def test_pull_of_a_parent_namespace_without_flows_hints_at_its_children(emulator, tmp_path):
    with KestraClient(emulator.url) as client:
        client.create_flow(CHILD.replace("acme.sub", "company.team"))
    (tmp_path / "kestra-sync.yml").write_text("directory: flows\n")  # a config: no init hint
    pulled = kestra(emulator, "pull", "--namespace", "company", cwd=tmp_path)
    assert "Pulled 0 flow(s)" in pulled.stderr
    assert (
        "hint: namespace company has no flows of its own, but its children do (company.team): "
        "add --include-children" in pulled.stderr
    )
    assert "kestra-sync init" not in pulled.stderr
    both = kestra(emulator, "pull", "--namespace", "company", "--all", cwd=tmp_path)
    assert both.returncode == 2 and "give --namespace NS (repeatable) or --all" in both.stderr


def test_a_pull_that_cannot_write_a_file_stops_there_and_says_what_it_wrote(emulator, tmp_path):
    """A write that fails (here a file stands where a folder must go; elsewhere permissions or a
    full disk) is one error naming the path and what was written before it, not exit 3."""
    with KestraClient(emulator.url) as client:
        client.create_flow(PLAIN)  # acme/plain: written first (sorted)
        client.create_flow(OTHER.replace("namespace: other", "namespace: other.team"))
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows/other").write_text("a file, not a folder", encoding="utf-8")
    args = ("pull", "flows", "--namespace", "acme", "--namespace", "other.team")
    done = kestra(emulator, *args, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: {Path('flows/other/team/other.yml')}: cannot write")
    assert "1 file(s) were written before it" in error
    assert "wrote      flows/acme/plain.yml" in done.stdout
    assert (tmp_path / "flows/acme/plain.yml").read_text(encoding="utf-8") == PLAIN


def test_pull_follows_a_tenants_map_one_tenant_at_a_time(make_emulator, tmp_path):
    """`tenants:` maps each tenant to its directory: pull used to read tenant main into flows/
    whatever the map said. It reads the tenant --tenant names (or the map's only one) into
    that tenant's directory, and a plan right after shows no change."""
    emu = make_emulator(edition="ee")
    for tenant in ("dev", "prod"):
        with KestraClient(emu.url, tenant=tenant) as client:
            client.create_flow(PLAIN.replace("Two lines", f"Two lines of {tenant}"))
    (tmp_path / "kestra-sync.yml").write_text(
        "tenants:\n  dev: flows/dev\n  prod: flows/prod\n", encoding="utf-8"
    )
    both = kestra(emu, "pull", "--namespace", "acme", cwd=tmp_path)
    assert both.returncode == 1 and "maps several tenants (dev, prod)" in both.stderr
    assert "--tenant NAME" in both.stderr and not (tmp_path / "flows").exists()

    prod = kestra(emu, "pull", "--namespace", "acme", "--tenant", "prod", cwd=tmp_path)
    assert prod.returncode == 0, prod.stdout + prod.stderr
    assert files(tmp_path / "flows") == {
        "prod/acme/plain.yml": PLAIN.replace("Two lines", "Two lines of prod").encode()
    }
    (tmp_path / "kestra-sync.yml").write_text("tenants:\n  dev: flows/dev\n", encoding="utf-8")
    dev = kestra(emu, "pull", "--namespace", "acme", cwd=tmp_path)
    assert dev.returncode == 0, dev.stdout + dev.stderr
    assert (tmp_path / "flows/dev/acme/plain.yml").read_text() == PLAIN.replace(
        "Two lines", "Two lines of dev"
    )
    plan = kestra(emu, "plan", "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    named = kestra(emu, "pull", "elsewhere", "--namespace", "acme", cwd=tmp_path)
    assert named.returncode == 0, named.stdout + named.stderr  # a named directory wins
    assert "Two lines of dev" in (tmp_path / "elsewhere/acme/plain.yml").read_text()
