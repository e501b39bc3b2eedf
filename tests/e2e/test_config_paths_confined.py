"""Paths written in kestra-sync.yml stay inside the repository that holds it (issue 20, item
9): `namespace_files: {ns: ../../etc/default}` would upload the host's files with the next
apply. The real CLI, over real HTTP, against the emulator: the config is refused with one line
naming the file and the key, and nothing reaches the server."""

from __future__ import annotations

import os

import pytest

from tests.e2e.test_resources import NS, nested_flow, server_files
from tests.support.project import Project, flow


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    outside = tmp_path / "host"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0\n")
    p = Project(repo, emulator)
    nested_flow(p, flow("etl"))
    return p


@pytest.mark.parametrize(
    "config",
    [
        "namespace_files:\n  company.team: ../host\n",
        "namespace_files:\n  company.team: {outside}\n",
        "namespace_files:\n  company.team: scripts/../../host\n",
        "namespace_files:\n  company.team: linked\n",  # a link out of the repository
        "directory: ../host\n",
        "tenants:\n  main: linked\n",
    ],
)
def test_a_config_path_leaving_the_repository_is_refused_before_anything_is_read(project, config):
    outside = project.root.parent / "host"
    os.symlink(outside, project.root / "linked")
    project.config("layout: nested\n" + config.format(outside=outside))
    for command in (("validate",), ("apply", "--auto-approve")):
        done = project.run(*command)
        assert done.returncode != 0, done.stdout + done.stderr
        (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
        assert "kestra-sync.yml:" in line and "leads outside the repository" in line, line
    assert server_files(project, NS) == {}


def test_a_config_path_inside_the_repository_still_deploys(project):
    scripts = project.root / "scripts"
    scripts.mkdir()
    (scripts / "load.py").write_bytes(b"print(1)\n")
    project.config("directory: flows\nlayout: nested\nnamespace_files:\n  company.team: scripts\n")
    done = project.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_files(project, NS) == {"/load.py": b"print(1)\n"}
