"""The shipped hook manifest, installed for real by pre-commit from this tree (`try-repo` builds
a venv from the repository, uncommitted changes included), run on a fresh user repository.
This is the one slow test (~10 s: pre-commit pip-installs kestra-sync and its dependencies)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
GOOD = "id: {id}\nnamespace: company.team\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def test_manifest_shape():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "kestra-sync-validate"
    assert hook["entry"] == "kestra-sync validate"
    assert hook["language"] == "python"
    assert hook["require_serial"] is True  # cross-file duplicate check needs one process
    import re

    files = re.compile(hook["files"])
    assert files.search("flows/a.yml") and files.search("flows/b.yaml")
    assert not files.search("flows/a.json")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
        env=dict(
            os.environ,
            GIT_AUTHOR_NAME="t",
            GIT_AUTHOR_EMAIL="t@t",
            GIT_COMMITTER_NAME="t",
            GIT_COMMITTER_EMAIL="t@t",
        ),
    )


@pytest.mark.skipif(not Path(PRE_COMMIT).exists(), reason="pre-commit not installed")
def test_hook_installs_and_runs_in_a_fresh_clone(tmp_path):
    repo = tmp_path / "repo"
    (repo / "flows/company/team").mkdir(parents=True)
    (repo / "kestra-sync.yml").write_text("directory: flows\nlayout: nested\n")
    (repo / ".github/workflows").mkdir(parents=True)
    (repo / ".github/workflows/ci.yml").write_text("on: push\njobs: {}\n")  # not a flow
    (repo / "flows/company/team/hello.yml").write_text(GOOD.format(id="hello"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)

    def try_repo():
        return subprocess.run(
            [
                PRE_COMMIT,
                "try-repo",
                str(ROOT),
                "kestra-sync-validate",
                "--all-files",
                "--color",
                "never",
            ],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    r = try_repo()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kestra-sync validate" in r.stdout and "Passed" in r.stdout

    (repo / "flows/company/team/broken.yml").write_text(
        "id: broken\nnamespace: company.team\ntasks:\n  - id: a\n    message: hi\n"
    )
    (repo / "flows/company/team/copy.yml").write_text(GOOD.format(id="hello"))
    git(repo, "add", "-A")
    r = try_repo()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "flows/company/team/broken.yml:4:5: error: task tasks[0] has no 'type'" in r.stdout
    assert (
        "flows/company/team/copy.yml:1:5: error: flow company.team/hello is also defined in"
        in r.stdout
    )
    assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.skipif(not Path(PRE_COMMIT).exists(), reason="pre-commit not installed")
def test_hook_in_a_monorepo_blocks_a_real_commit_of_a_broken_flow(tmp_path):
    """Issue 12 item 6: kestra/kestra-sync.yml owns kestra/flows; the hook, installed with
    `pre-commit install` as the README shows, runs on `git commit` from the repository root."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    repo = tmp_path / "repo"
    (repo / "kestra/flows/company/team").mkdir(parents=True)
    (repo / "app").mkdir()
    (repo / "kestra/kestra-sync.yml").write_text("directory: flows\nlayout: nested\n")
    (repo / "kestra/flows/company/team/hello.yml").write_text(GOOD.format(id="hello"))
    (repo / "app/docker-compose.yml").write_text("services: {}\n")  # other YAML: not a flow
    # The shipped hook, built from this tree (uncommitted changes included) as a local hook.
    local_hook = {
        key: hook[key] for key in ("id", "name", "entry", "language", "files", "require_serial")
    }
    local_hook["additional_dependencies"] = [str(ROOT)]
    (repo / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local_hook]}]})
    )
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)
    env = {k: v for k, v in env.items() if not k.startswith("KESTRA_")}
    git(repo, "init", "-q")
    subprocess.run([PRE_COMMIT, "install"], cwd=repo, env=env, check=True, capture_output=True)

    def commit(message: str):
        git(repo, "add", "-A")
        return subprocess.run(
            ["git", "commit", "-m", message],
            cwd=repo,
            env=dict(
                env,
                GIT_AUTHOR_NAME="t",
                GIT_AUTHOR_EMAIL="t@t",
                GIT_COMMITTER_NAME="t",
                GIT_COMMITTER_EMAIL="t@t",
            ),
            capture_output=True,
            text=True,
            timeout=600,
        )

    r = commit("good flows")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kestra-sync validate" in r.stdout + r.stderr and "Passed" in r.stdout + r.stderr

    (repo / "kestra/flows/company/team/broken.yml").write_text(
        "id: broken\nnamespace: company.team\ntasks:\n  - id: a\n    message: hi\n"
    )
    r = commit("a broken flow")
    assert r.returncode != 0, r.stdout + r.stderr
    out = r.stdout + r.stderr  # git shows hook output on either stream
    assert "kestra/flows/company/team/broken.yml:4:5: error: task tasks[0] has no 'type'" in out

    # A flow staged outside the flow directory cannot be placed: the commit fails too.
    (repo / "kestra/flows/company/team/broken.yml").unlink()
    (repo / "kestra/hello-copy.yml").write_text(GOOD.format(id="copy"))
    r = commit("a flow in the wrong place")
    assert r.returncode != 0, r.stdout + r.stderr
    assert (
        "kestra/hello-copy.yml: error: this flow is outside the flow directory"
        in r.stdout + r.stderr
    )
    assert "Traceback" not in r.stdout + r.stderr
