"""End to end: namespace files behind a symbolic link follow the flow scan's rule for links
(README "Scanning and pull"). The `_files` scan used to walk the flow directory without
following links, so a namespace folder that is a link deployed its flows but silently not its
files, and `apply --delete` could then delete the server's copy of a file git still holds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from kestra_sync.kinds.nsfiles import NamespaceFiles
from kestra_sync.settings.config import load_settings
from tests.e2e.test_resources import server_files
from tests.e2e.test_trust_client import cli
from tests.support.project import Project, client, flow, line_with

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")

NS = "company.team"


def put(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    p = Project(tmp_path, emulator)
    p.config("directory: flows\n")
    return p


def test_a_linked_namespace_folder_deploys_its_files_as_it_deploys_its_flows(project):
    """`flows/company/team -> releases/team-v2` (releases/ ignored, as the README's
    `current -> releases/v2`): the flow was deployed, its `_files/load.py` silently not."""
    release = project.root / "flows/releases/team-v2"
    put(release / "etl.yml", flow("etl").encode())
    put(release / "_files/load.py", b"print('v2')\n")
    (project.root / "flows/.kestraignore").write_text("releases/\n", encoding="utf-8")
    (project.root / "flows/company").mkdir()
    os.symlink(os.path.join("..", "releases", "team-v2"), project.root / "flows/company/team")

    done = project.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_files(project) == {"/load.py": b"print('v2')\n"}
    with client(project.emu) as c:
        assert c.get_flow(NS, "etl") is not None


def test_apply_delete_never_deletes_a_file_that_sits_behind_a_linked_folder(project):
    """Two `_files` for one namespace (dotted and nested layouts), the nested one reached
    through a link: the scan saw only the first, so `--delete` deleted the server's /b.py."""
    put(project.root / "flows/company.team/_files/a.py", b"a")
    put(project.root / "flows/shared/team/_files/b.py", b"b")
    (project.root / "flows/.kestraignore").write_text("shared/\n", encoding="utf-8")
    (project.root / "flows/company").mkdir()
    os.symlink(os.path.join("..", "shared", "team"), project.root / "flows/company/team")
    with client(project.emu) as c:
        c.put_namespace_file(NS, "/a.py", b"a")
        c.put_namespace_file(NS, "/b.py", b"b")

    done = project.run("apply", "--auto-approve", "--delete")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "b.py" not in done.stdout  # unchanged, so not even listed as a change
    assert server_files(project) == {"/a.py": b"a", "/b.py": b"b"}


def test_a_linked_files_folder_leaving_the_flow_directory_is_refused_by_name(project, tmp_path):
    """`_files -> ../../outside`: deployed before (what lay outside the flow directory went to
    the server); now the flow scan's error for a link out, naming it."""
    outside = tmp_path / "outside"
    put(outside / "secret.txt", b"not for the server")
    (project.root / "flows/company/team").mkdir(parents=True)
    os.symlink(outside, project.root / "flows/company/team/_files")

    done = project.plan()
    assert done.returncode == 1, done.stdout + done.stderr
    line_with(done.stderr, "flows/company/team/_files", "outside the flow directory")
    assert "Traceback" not in done.stderr
    assert server_files(project) == {}


def test_one_folder_reached_by_two_paths_is_refused_not_deployed_to_one_namespace(project):
    """`flows/company/team -> ../shared`: the files of flows/shared/_files would be namespace
    `shared` by one path and `company.team` by the other. The walk reads a folder once, so
    which one won depended on the order of names; before, `company.team` was silently
    skipped. Now an error naming the folder."""
    put(project.root / "flows/shared/_files/x.py", b"x")
    (project.root / "flows/company").mkdir()
    os.symlink(os.path.join("..", "shared"), project.root / "flows/company/team")

    done = project.plan()
    assert done.returncode == 1, done.stdout + done.stderr
    line_with(done.stderr, "flows/shared", "second namespace", ".kestraignore")
    assert "Traceback" not in done.stderr
    checked = project.run("validate")
    assert checked.returncode == 1
    line_with(checked.stdout, "flows/shared", "second namespace")


def test_the_files_scan_alone_reports_a_folder_it_cannot_list(tmp_path, monkeypatch):
    """The `_files` scan must not lean on the flow scan to notice an unreadable folder: before,
    it skipped it silently (os.walk), and only the flow scan's error stood between it and a
    delete. Injected as in test_scan_safety (works as root)."""
    put(tmp_path / "flows/company/team/_files/a.py", b"a")
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "company":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "scandir", scandir)
    scan = NamespaceFiles().scan(load_settings({"directory": "flows"}))
    [error] = [d for d in scan.diagnostics if d.is_error]
    assert error.path == os.path.join("flows", "company") and "Permission denied" in error.message


# -- kv.yml: the same walker ----------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_named_kv_yml_is_an_error_not_a_hang(project):
    """The KV scan opened every kv.yml it found to read it: a FIFO there hung `validate` and
    `plan` for ever. Now the walker's rule: never opened, and an error (its keys are unknown)."""
    put(project.root / "flows/company/team/etl.yml", flow("etl").encode())
    os.mkfifo(project.root / "flows/company/team/kv.yml")
    for args in (("validate",), ("plan",)):
        done = cli(*args, cwd=project.root, env=project.env, timeout=30)
        assert done.returncode == 1, done.stdout + done.stderr
        line_with(done.stdout + done.stderr, "company/team/kv.yml", "a FIFO, not a regular file")
        assert "Traceback" not in done.stderr


def test_a_linked_namespace_folder_deploys_its_kv_file_as_it_deploys_its_flows(project):
    release = project.root / "flows/releases/team-v2"
    put(release / "etl.yml", flow("etl").encode())
    put(release / "kv.yml", b"values:\n  region: eu-west-1\n")
    (project.root / "flows/.kestraignore").write_text("releases/\n", encoding="utf-8")
    (project.root / "flows/company").mkdir()
    os.symlink(os.path.join("..", "releases", "team-v2"), project.root / "flows/company/team")

    done = project.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    with client(project.emu) as c:
        assert {k: v for k, (_, v) in c.namespace_kv(NS).items()} == {"region": "eu-west-1"}


def test_a_kv_file_in_a_folder_reached_by_two_paths_is_refused(project):
    """As for `_files`: kv.yml's namespace is its folder's path, so one folder reached as
    flows/shared and flows/company/team would give its keys to one of two namespaces."""
    put(project.root / "flows/shared/kv.yml", b"values:\n  region: eu\n")
    (project.root / "flows/company").mkdir()
    os.symlink(os.path.join("..", "shared"), project.root / "flows/company/team")
    done = project.plan()
    assert done.returncode == 1, done.stdout + done.stderr
    line_with(done.stderr, "flows/shared", "KV pairs", "second namespace")
