"""examples/gitlab-ci.yml's job scripts, run as GitLab runs them: each job's `script:` lines in
one shell that stops at the first failing line (sh -e: no bash, no pipefail assumed), with the
real CLI on PATH, against the Kestra API emulator and against a closed port."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = yaml.safe_load((ROOT / "examples" / "gitlab-ci.yml").read_text(encoding="utf-8"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def checkout(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "flows", repo / "flows")
    shutil.copy(ROOT / "kestra-sync.yml", repo / "kestra-sync.yml")
    bin_dir = tmp_path / "bin"  # `kestra-sync` as the image puts it on PATH
    bin_dir.mkdir()
    launcher = bin_dir / "kestra-sync"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kestra_sync "$@"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    return repo, bin_dir


def run_job(name: str, repo: Path, bin_dir: Path, server: str) -> subprocess.CompletedProcess:
    script = "\n".join(PIPELINE[name]["script"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "GITHUB_", "CI"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        KESTRA_URL=server,
    )
    return subprocess.run(
        ["sh", "-e", "-c", script],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_plan_job_fails_when_the_server_is_unreachable(checkout):
    repo, bin_dir = checkout
    done = run_job("plan", repo, bin_dir, f"http://127.0.0.1:{closed_port()}")
    assert done.returncode != 0, done.stdout + done.stderr
    assert "cannot reach http://127.0.0.1:" in done.stderr, done.stderr
    if (repo / "plan.json").exists():  # a plan with errors is saved, and apply refuses it
        assert json.loads((repo / "plan.json").read_text())["errors"]


def test_plan_then_apply_jobs_succeed_and_keep_the_plan(checkout, emulator):
    repo, bin_dir = checkout
    validate = run_job("validate", repo, bin_dir, emulator.url)
    assert validate.returncode == 0, validate.stderr
    plan = run_job("plan", repo, bin_dir, emulator.url)
    assert plan.returncode == 0, plan.stderr
    saved = json.loads((repo / "plan.json").read_text())
    assert saved["errors"] == [] and saved["changes"]
    assert "to create" in (repo / "plan.md").read_text()
    assert "to create" in plan.stdout  # the report is shown in the job log too
    apply = run_job("apply", repo, bin_dir, emulator.url)
    assert apply.returncode == 0, apply.stderr
    assert set(PIPELINE["plan"]["artifacts"]["paths"]) == {"plan.json", "plan.md"}
    assert PIPELINE["plan"]["artifacts"]["when"] == "always"


def test_apply_job_fails_when_the_server_is_unreachable(checkout):
    repo, bin_dir = checkout
    done = run_job("apply", repo, bin_dir, f"http://127.0.0.1:{closed_port()}")
    assert done.returncode != 0, done.stdout + done.stderr
