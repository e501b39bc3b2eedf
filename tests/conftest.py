"""Fixtures shared by every test: an in-process Kestra API emulator on 127.0.0.1 and a way to run
the real CLI against it in a child process, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kestra_sync.emulator import Emulator
from tests.oracles.tally import (  # noqa: F401 - hooks: the oracles' counts, printed at the end
    pytest_runtest_logreport,
    pytest_terminal_summary,
)

ROOT = Path(__file__).resolve().parent.parent

# The result cache (kestra_sync/source/resultcache.py) of every command a test runs, in-process or in a
# child process, goes here rather than into the user's ~/.cache.
CACHE_HOME = tempfile.mkdtemp(prefix="kestra-sync-tests-cache-")
os.environ["XDG_CACHE_HOME"] = CACHE_HOME
os.environ["KESTRA_SYNC_CACHE_DIR"] = os.path.join(CACHE_HOME, "kestra-sync")


@pytest.fixture
def make_emulator():
    """Start emulators with custom settings; all are stopped at teardown."""
    started: list[Emulator] = []

    def make(**kw) -> Emulator:
        # Auth off unless the test configures credentials or asks for the profile's own auth
        # (auth=None: from Kestra 0.24 on, 401 to everything without credentials).
        if not (kw.get("users") or kw.get("tokens")):
            kw.setdefault("auth", False)
        emu = Emulator(**kw).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(make_emulator) -> Emulator:
    """An OSS emulator with auth off."""
    return make_emulator()


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None):
    """Run `kestra-sync ARGS` from this source tree as a user would, in a child process.

    The environment is cleaned of KESTRA_* and GitHub variables so the host cannot leak in.
    """
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KESTRA_", "GITHUB_")) and k != "NO_COLOR"
    }
    base["PYTHONPATH"] = str(ROOT)
    base["KESTRA_SYNC_CACHE_DIR"] = os.environ["KESTRA_SYNC_CACHE_DIR"]
    return subprocess.run(
        [sys.executable, "-m", "kestra_sync", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
