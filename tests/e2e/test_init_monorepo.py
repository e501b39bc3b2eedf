"""`kestra-sync init` in a monorepo sub-folder (issue 22, bug 2), with real git repositories:
pre-commit and GitHub read their files at the git root only, and a config that already
applies is used, never replaced by a scan of the folder."""

from __future__ import annotations

import subprocess

import yaml

from tests.support.cli import run_cli

FLOW = "id: hello\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def git_repo(path):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_init_in_a_sub_folder_writes_the_hook_and_the_workflow_at_the_git_root(tmp_path):
    repo = git_repo(tmp_path / "repo")
    kestra = repo / "kestra"
    (kestra / "flows/company/team").mkdir(parents=True)
    (kestra / "flows/company/team/hello.yml").write_text(FLOW)
    done = run_cli("init", "--pre-commit", "--workflow", cwd=kestra)
    assert done.returncode == 0, done.stderr
    assert "wrote      kestra-sync.yml" in done.stdout
    assert "wrote      ../.pre-commit-config.yaml" in done.stdout
    assert "wrote      ../.github/workflows/kestra-sync.yml" in done.stdout
    assert not (kestra / ".pre-commit-config.yaml").exists()
    assert not (kestra / ".github").exists()
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["hooks"] == [{"id": "kestra-sync-validate", "files": "^kestra/"}]
    workflow = yaml.safe_load((repo / ".github/workflows/kestra-sync.yml").read_text())
    assert workflow[True]["pull_request"]["paths"] == ["kestra/flows/**", "kestra/kestra-sync.yml"]
    step = workflow["jobs"]["plan"]["steps"][1]["with"]
    assert step["working-directory"] == "kestra"
    assert yaml.safe_load((kestra / "kestra-sync.yml").read_text())["directory"] == "flows"
    # pre-commit runs validate from the git root with the staged paths: the config is found
    checked = run_cli("validate", "kestra/flows/company/team/hello.yml", cwd=repo)
    assert checked.returncode == 0, checked.stderr


def test_init_at_the_git_root_writes_paths_without_a_prefix(tmp_path):
    repo = git_repo(tmp_path / "repo")
    (repo / "flows/company/team").mkdir(parents=True)
    (repo / "flows/company/team/hello.yml").write_text(FLOW)
    done = run_cli("init", "--pre-commit", "--workflow", cwd=repo)
    assert done.returncode == 0, done.stderr
    hooks = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["hooks"] == [{"id": "kestra-sync-validate"}]
    step = yaml.safe_load((repo / ".github/workflows/kestra-sync.yml").read_text())
    assert "working-directory" not in step["jobs"]["plan"]["steps"][1]["with"]


def test_init_respects_an_existing_config_and_an_existing_hook_file(tmp_path):
    repo = git_repo(tmp_path / "repo")
    kestra = repo / "kestra"
    (kestra / "flows/company/team").mkdir(parents=True)
    (kestra / "flows/company/team/hello.yml").write_text(FLOW)
    # YAML that is not a flow beside the config: a scan of ./ would have made it the directory
    (kestra / "docker-compose.yml").write_text("services: {}\n")
    (kestra / "kestra-sync.yml").write_text("directory: flows\nlayout: nested\n")
    (repo / ".pre-commit-config.yaml").write_text("repos: []\n")
    done = run_cli("init", "--pre-commit", "--workflow", cwd=kestra)
    assert done.returncode == 0, done.stderr
    assert "Using kestra-sync.yml: directory flows/ (layout: nested), 1 flow file(s)." in (
        done.stdout
    )
    assert "kept       kestra-sync.yml (it exists; not changed)" in done.stdout
    assert (kestra / "kestra-sync.yml").read_text() == "directory: flows\nlayout: nested\n"
    assert not (kestra / ".kestraignore").exists()  # nothing to exclude under flows/
    assert "kept       ../.pre-commit-config.yaml (it exists; not changed)" in done.stdout
    assert (repo / ".pre-commit-config.yaml").read_text() == "repos: []\n"
    assert "hint: add this to ../.pre-commit-config.yaml:" in done.stderr
    assert "files: ^kestra/" in done.stderr
    workflow = yaml.safe_load((repo / ".github/workflows/kestra-sync.yml").read_text())
    assert workflow[True]["pull_request"]["paths"] == ["kestra/flows/**", "kestra/kestra-sync.yml"]

    # from a folder below the config, the config above is the one that applies
    below = run_cli("init", cwd=kestra / "flows")
    assert below.returncode == 0, below.stderr
    assert below.stdout.startswith("Using ../kestra-sync.yml: directory ./ (layout: nested)")
    assert not (kestra / "flows/kestra-sync.yml").exists()
