"""End to end: every file `pull` writes (flows, namespace files, kv.yml) goes through one rule
for what already stands at its path (README "pull"): a file with other content, or anything
that is not a regular file (a FIFO, a broken link), is kept unless --overwrite, and is never
opened in a way that could block. kv.yml used to be replaced without --overwrite when a FIFO
stood there, and a kv.yaml FIFO got a kv.yml written beside it."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from tests.e2e.test_trust_client import cli
from tests.support.project import Project, client, flow, line_with

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")

NS = "company.team"


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    with client(emulator) as c:
        c.put_kv(NS, "region", "eu-west-1")
    (tmp_path / "flows/company/team").mkdir(parents=True)
    return p


def pull(p: Project, *args: str):
    # A bound of our own: opening a FIFO to read it would block for ever.
    return cli("pull", "--namespace", NS, *args, cwd=p.root, env=p.env, timeout=30)


@pytest.mark.parametrize("name", ["kv.yml", "kv.yaml"])
def test_a_fifo_where_kv_file_goes_is_kept_without_overwrite_and_replaced_with_it(project, name):
    fifo = project.root / "flows/company/team" / name
    os.mkfifo(fifo)

    kept = pull(project)
    assert kept.returncode == 1, kept.stdout + kept.stderr
    line_with(kept.stderr, "conflict", f"company/team/{name}", "differs from the server; kept")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(fifo.parent)) == [name]  # no kv.yml written beside a kv.yaml
    assert "Traceback" not in kept.stderr

    replaced = pull(project, "--overwrite")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert "region: eu-west-1" in fifo.read_text(encoding="utf-8")


def test_a_broken_link_where_a_flow_file_goes_is_kept_without_overwrite(project, tmp_path):
    """A dangling link counts as something there (os.path.exists says no): before, the flow
    was written through it, replacing the link the user made."""
    with client(project.emu) as c:
        c.create_flow(flow("etl"))
    link = project.root / "flows/company/team/etl.yml"
    os.symlink("etl-v2.yml", link)

    kept = pull(project)
    assert kept.returncode == 1, kept.stdout + kept.stderr
    line_with(kept.stderr, "conflict", "company/team/etl.yml", "differs from the server; kept")
    assert os.path.islink(link) and not os.path.exists(link)


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_pull_never_writes_kv_file_through_a_link_out_of_the_directory(project, tmp_path):
    """The namespace's folder is a link out of the flow directory and the server has only KV
    pairs there (no flow, whose own check would stop the pull): kv.yml was written outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (project.root / "flows/company/team").rmdir()
    os.symlink(outside, project.root / "flows/company/team")

    done = pull(project)
    assert done.returncode == 1, done.stdout + done.stderr
    line_with(done.stderr, "refused", "kv.yml", "outside")
    assert list(outside.iterdir()) == []
