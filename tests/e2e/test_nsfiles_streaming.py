"""Namespace files are hashed streaming, never held whole by validate or plan, and uploaded only
with the content that was planned (issue 20, item 11). The real CLI in a child process."""

from __future__ import annotations

import os
import pty
import resource
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.e2e.test_resources import NS, files_dir, nested_flow, put_file, server_files
from tests.support.project import Project, flow

MiB = 1 << 20


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\nmax_file_size: 1073741824\n")
    nested_flow(p, flow("etl"))
    return p


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KESTRA_", "GITHUB_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["KESTRA_SYNC_CACHE_DIR"] = os.environ["KESTRA_SYNC_CACHE_DIR"]
    return {**env, **(extra or {})}


def test_validate_checks_a_file_larger_than_its_memory_allows(project):
    """300 MiB under `_files` (sparse: no disk used), the validating process limited to 256 MiB
    of address space: reading the file whole could not fit."""
    big = files_dir(project) / "data" / "big.bin"
    big.parent.mkdir(parents=True)
    with open(big, "wb") as f:
        f.truncate(300 * MiB)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (256 * MiB, 256 * MiB))

    done = subprocess.run(
        [sys.executable, "-m", "kestra_sync", "validate"],
        cwd=project.root,
        env=_env(),
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no problems" in done.stdout


def test_a_file_over_the_limit_is_named(project):
    put_file(project, "data/big.bin", b"x" * 2048)
    project.config("directory: flows\nlayout: nested\nmax_file_size: 1024\n")
    done = project.run("validate")
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "big.bin" in done.stdout and "over the server's upload limit of 1,024 bytes" in done.stdout
    )


def _read_until(fd: int, text: bytes, timeout: float = 60) -> bytes:
    seen = b""
    end = time.monotonic() + timeout
    while text not in seen:
        left = end - time.monotonic()
        assert left > 0, f"no {text!r} in {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            assert chunk, f"closed before {text!r}: {seen!r}"
            seen += chunk
    return seen


def test_a_file_edited_while_the_plan_awaits_approval_is_not_uploaded(project):
    script = put_file(project, "etl/load.py", b"print('reviewed')\n")
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "kestra_sync", "apply"],
        cwd=project.root,
        env=_env({"KESTRA_URL": project.emu.url, "TERM": "dumb"}),
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    try:
        _read_until(master, b"Apply these changes")
        script.write_bytes(b"print('never reviewed')\n")  # after the review, before the yes
        os.write(master, b"y\n")
        out = b""
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            try:
                chunk = os.read(master, 4096) if ready else b""
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        assert child.wait(timeout=60) == 1, out.decode()
    finally:
        child.kill() if child.poll() is None else None
        os.close(master)
    text = out.decode()
    assert "load.py changed since the plan was made: it was not uploaded" in text, text
    assert "/etl/load.py" not in server_files(project, NS)
