"""End to end: a scan of the flow directory that was not complete never leads to a delete
(issue 9 items 1, 11, 12). Each test runs the real CLI against the emulator, with git's side
damaged the way a checkout, a permission or a stray link damages it, and checks what the
server still holds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kestra_sync.client import KestraClient
from kestra_sync.source.flowscan import scan
from tests.support.cli import ROOT, run_cli

# Creating symbolic links needs a privilege on Windows.
needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")


LOG = "io.kestra.plugin.core.log.Log"


def flow(namespace: str, flow_id: str) -> str:
    return f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n  - id: log\n    type: {LOG}\n    message: hi\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def live(emu) -> set[tuple[str, str]]:
    return {(r.namespace, r.id) for r in emu.store.live("main")}


@pytest.fixture
def deployed(emulator, tmp_path):
    """flows/acme/a.yml and flows/team/b.yml, both applied: the server holds acme/a and acme/b."""
    write(tmp_path / "flows/acme/a.yml", flow("acme", "a"))
    write(tmp_path / "flows/team/b.yml", flow("acme", "b"))
    with KestraClient(emulator.url) as client:
        client.create_flow(flow("acme", "a"))
        client.create_flow(flow("acme", "b"))
    return tmp_path


def apply_delete(emu, cwd: Path, prefix: tuple[str, ...] = ()):
    """`kestra-sync apply --delete --auto-approve`, optionally under a wrapper command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "GITHUB_"))}
    env.update(PYTHONPATH=str(ROOT), KESTRA_URL=emu.url, NO_COLOR="1")
    return subprocess.run(
        [*prefix, sys.executable, "-m", "kestra_sync", "apply", "--delete", "--auto-approve"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_refused_and_kept(result, emu, names: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert names in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert live(emu) == {("acme", "a"), ("acme", "b")}  # nothing was deleted
    assert emu.stats.count("DELETE") == 0


# -- unreadable directories ---------------------------------------------------------------------

# As root, chmod 000 changes nothing (CAP_DAC_OVERRIDE). Dropping the two capabilities that
# bypass file permissions from the child's bounding set makes root obey them, as a user would.
DROP_DAC = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")


def _unreadable_for_child(directory: Path) -> tuple[str, ...] | None:
    """A command prefix under which ``directory`` (mode 000) cannot be listed, or None."""
    probe = [sys.executable, "-c", f"import os; os.listdir({str(directory)!r})"]
    prefixes = [()] + ([DROP_DAC] if os.geteuid() == 0 and shutil.which("setpriv") else [])
    for prefix in prefixes:
        run = subprocess.run([*prefix, *probe], capture_output=True, text=True)
        if "PermissionError" in run.stderr:
            return prefix
    return None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_apply_delete_refuses_when_a_subdirectory_cannot_be_read(emulator, deployed):
    team = deployed / "flows/team"
    team.chmod(0)
    try:
        prefix = _unreadable_for_child(team)
        if prefix is None:
            pytest.skip("cannot make a directory unreadable here (root without setpriv)")
        result = apply_delete(emulator, deployed, prefix)
    finally:
        team.chmod(0o755)
    assert_refused_and_kept(result, emulator, os.path.join("flows", "team"))
    assert "cannot read this directory" in result.stderr


def test_a_directory_the_walk_cannot_list_is_an_error_naming_it(tmp_path, monkeypatch):
    """The same failure injected into the library (works as root and on every platform)."""
    write(tmp_path / "flows/acme/a.yml", flow("acme", "a"))
    write(tmp_path / "flows/team/b.yml", flow("acme", "b"))
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "team":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = scan(tmp_path / "flows")
    assert not result.ok
    [error] = [d for d in result.diagnostics if d.is_error]
    assert error.path.endswith(os.path.join("flows", "team"))
    assert "Permission denied" in error.message and error.code == "unreadable"
    assert [f.id for f in result.flows] == ["a"]


# -- symbolic links -----------------------------------------------------------------------------


@needs_symlinks
def test_a_symlinked_directory_inside_the_flow_directory_is_followed(emulator, deployed):
    """`current -> releases/v2` with releases/ ignored: the flows are read through the link."""
    shutil.move(deployed / "flows/team", deployed / "flows/releases/v2")
    write(deployed / "flows/.kestraignore", "releases/\n")
    os.symlink(os.path.join("releases", "v2"), deployed / "flows/current")
    result = apply_delete(emulator, deployed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert live(emulator) == {("acme", "a"), ("acme", "b")}
    assert emulator.stats.count("DELETE") == 0


@needs_symlinks
def test_a_symlink_leaving_the_flow_directory_is_an_error_and_nothing_is_deleted(
    emulator, deployed
):
    shutil.move(deployed / "flows/team", deployed / "shared")
    os.symlink(os.path.join("..", "shared"), deployed / "flows/team")
    result = apply_delete(emulator, deployed)
    assert_refused_and_kept(result, emulator, os.path.join("flows", "team"))
    assert "outside the flow directory" in result.stderr


@pytest.mark.parametrize("target", ["team", "gone"], ids=["loop", "dangling"])
@needs_symlinks
def test_a_broken_symlink_is_an_error_and_nothing_is_deleted(emulator, deployed, target):
    """A link to itself (ELOOP) or to nothing: it may have been a directory of flows."""
    shutil.rmtree(deployed / "flows/team")
    os.symlink(target, deployed / "flows/team")
    result = apply_delete(emulator, deployed)
    assert_refused_and_kept(result, emulator, os.path.join("flows", "team"))
    assert "broken symbolic link" in result.stderr


@needs_symlinks
def test_a_link_back_to_a_parent_is_read_once_with_a_warning(tmp_path):
    write(tmp_path / "flows/acme/a.yml", flow("acme", "a"))
    os.symlink("..", tmp_path / "flows/acme/up")
    r = run_cli("validate", "flows", cwd=tmp_path)
    assert r.returncode == 0, r.stdout  # not "acme/a is also defined in flows/acme/up/acme/a.yml"
    assert "flows/acme/up: warning: this directory was already read as flows" in r.stdout


# -- special files and names --------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_named_yml_is_skipped_with_a_warning_not_read(emulator, tmp_path):
    write(tmp_path / "flows/acme/a.yml", flow("acme", "a"))
    os.mkfifo(tmp_path / "flows/acme/pipe.yml")
    env = {"KESTRA_URL": emulator.url}
    # A short timeout of our own: today's scanner blocks for ever opening the FIFO.
    for args in (("validate",), ("plan",), ("validate", "flows/acme/pipe.yml")):
        try:
            base = dict(os.environ, PYTHONPATH=str(ROOT), **env)
            r = subprocess.run(
                [sys.executable, "-m", "kestra_sync", *args],
                cwd=tmp_path,
                env=base,
                capture_output=True,
                text=True,
                timeout=30,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"`kestra-sync {' '.join(args)}` hangs on a FIFO")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "pipe.yml" in r.stdout + r.stderr and "a FIFO" in r.stdout + r.stderr


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="names must be bytes")
def test_a_file_name_that_is_not_utf8_is_a_diagnostic_and_plan_out_writes_nothing(
    emulator, tmp_path
):
    write(tmp_path / "flows/acme/a.yml", flow("acme", "a"))
    bad = os.path.join(os.fsencode(tmp_path / "flows/acme"), b"caf\xe9.yml")
    with open(bad, "wb") as handle:
        handle.write(flow("acme", "cafe").encode())
    r = subprocess.run(
        [sys.executable, "-m", "kestra_sync", "validate", "--format", "json"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
    )
    assert r.returncode == 1
    report = json.loads(r.stdout.decode("utf-8"))  # strict: valid UTF-8 JSON
    [d] = report["diagnostics"]
    assert d["path"] == "flows/acme/caf\\xe9.yml" and d["code"] == "bad-file-name"

    old = write(tmp_path / "plan.json", "an older plan\n")
    r = run_cli("plan", "--out", "plan.json", cwd=tmp_path, env={"KESTRA_URL": emulator.url})
    assert r.returncode == 1 and "caf\\xe9.yml" in r.stderr, r.stderr
    assert old.read_text() == "an older plan\n"  # never emptied
    assert emulator.stats.count() == 0  # refused before reading the server


# -- .kestraignore ------------------------------------------------------------------------------


def test_a_bad_kestraignore_pattern_is_one_line_naming_the_file_and_line(tmp_path):
    write(tmp_path / "flows/acme/a.yml", flow("acme", "a"))
    write(tmp_path / "flows/.kestraignore", "# drafts\n[z-a].yml\n")
    r = run_cli("validate", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert f"error: {os.path.join('flows', '.kestraignore')}:2: bad pattern" in r.stderr
    assert "unexpected" not in r.stderr


def test_validate_dir_and_plan_dir_read_the_same_files(emulator, tmp_path):
    """DIR/.kestraignore is honoured by both (validate ignored it when given a directory)."""
    write(tmp_path / "other/acme/a.yml", flow("acme", "a"))
    write(tmp_path / "other/drafts/broken.yml", "id: [\n")
    write(tmp_path / "other/.kestraignore", "drafts/\n")
    r = run_cli("validate", "other", cwd=tmp_path)
    assert r.returncode == 0 and "1 file checked" in r.stdout, r.stdout
    r = run_cli("plan", "other", cwd=tmp_path, env={"KESTRA_URL": emulator.url})
    assert r.returncode == 0 and "1 to create" in r.stdout, r.stdout + r.stderr


def test_a_subdirectory_given_to_validate_honours_the_flow_directory_ignore_file(tmp_path):
    write(tmp_path / "flows/acme/a.yml", flow("acme", "a"))
    write(tmp_path / "flows/acme/drafts/broken.yml", "id: [\n")
    write(tmp_path / "flows/.kestraignore", "/acme/drafts/\n")
    assert run_cli("validate", cwd=tmp_path).returncode == 0
    r = run_cli("validate", "flows/acme", cwd=tmp_path)
    assert r.returncode == 0 and "1 file checked" in r.stdout, r.stdout


def test_yaml_under_files_is_never_read_as_a_flow_whatever_validate_is_given(tmp_path):
    """`_files` holds namespace files (kinds/nsfiles.py): a config.yml there is a file to
    upload, not a flow, whether validate is given the flow directory, the `_files` directory,
    a folder or a file below it, or is run from inside it."""
    write(tmp_path / "kestra-sync.yml", "directory: flows\n")
    write(tmp_path / "flows/acme/a.yml", flow("acme", "a"))
    write(tmp_path / "flows/acme/_files/conf.yml", "foo: bar\n")
    write(tmp_path / "flows/acme/_files/sub/c.yaml", "x: 1\n")
    inside = tmp_path / "flows/acme/_files"
    for args, cwd in (
        ((), tmp_path),
        (("flows/acme/_files",), tmp_path),
        (("flows/acme/_files/sub",), tmp_path),
        (("flows/acme/_files/conf.yml",), tmp_path),
        ((".",), inside),
        (("conf.yml", "sub/c.yaml"), inside),
    ):
        done = run_cli("validate", *args, cwd=cwd)
        assert done.returncode == 0, (args, done.stdout + done.stderr)
        assert "not-a-flow" not in done.stdout, args
    # Only the part below the flow directory counts: a checkout inside a folder named _files
    # still has its flows read.
    project = tmp_path / "_files" / "proj"
    write(project / "kestra-sync.yml", "directory: flows\n")
    write(project / "flows/acme/b.yml", flow("acme", "b").replace("tasks:", "tasks: 3\nx:"))
    for args in (("flows",), ("flows/acme/b.yml",)):
        broken = run_cli("validate", *args, cwd=project)
        assert broken.returncode == 1 and "b.yml" in broken.stdout, args


@needs_symlinks
def test_a_broken_link_is_one_problem_for_library_callers_too(tmp_path, monkeypatch):
    """The flow scan, the namespace-files scan and the kv.yml scan walk the same tree: a broken
    link was reported by each, three identical diagnostics for a caller of check_project (the
    CLI's reporters hid the copies)."""
    from kestra_sync.rules.validate import check_project
    from kestra_sync.settings.config import load_settings

    team = tmp_path / "flows" / "company" / "team"
    team.mkdir(parents=True)
    (team / "a.yml").write_text(flow("company.team", "a"), encoding="utf-8")
    (team / "gone.yml").symlink_to(tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"directory": "flows"}, env={}, cwd=tmp_path)
    codes = [(Path(d.path).name, d.code) for d in check_project(settings).diagnostics]
    assert codes == [("gone.yml", "broken-link")]


@needs_symlinks
def test_a_broken_link_stops_a_plan_as_one_problem_too(tmp_path, monkeypatch):
    """make_plan checks the namespace-files and kv.yml scans itself (a caller may pass the
    flows it scanned): both walk the tree and find the same broken link, said once."""
    from kestra_sync.planning.pipeline import InvalidFlowsError, make_plan
    from kestra_sync.settings.config import load_settings

    team = tmp_path / "flows" / "company" / "team"
    team.mkdir(parents=True)
    (team / "gone.yml").symlink_to(tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"directory": "flows"}, env={}, cwd=tmp_path)
    with pytest.raises(InvalidFlowsError) as err:
        make_plan(settings, client=None, local=[])  # refused before any request
    codes = [(Path(d.path).name, d.code) for d in err.value.diagnostics]
    assert codes == [("gone.yml", "broken-link")]
