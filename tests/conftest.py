"""Fixtures shared by every test: an in-process Kestra API emulator on 127.0.0.1 and a way to run
the real CLI against it in a child process, over real HTTP."""

from __future__ import annotations

import os
import tempfile

import pytest

from kestra_sync.emulator import Emulator
from tests.oracles.tally import (  # noqa: F401 - hooks: the oracles' counts, printed at the end
    pytest_runtest_logreport,
    pytest_terminal_summary,
)
from tests.support.cli import ROOT, run_cli  # noqa: F401 - shared with the fixtures' users
from tests.support.github import fake_github

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


@pytest.fixture
def github():
    """A loopback stand-in for GitHub's issue comments API (tests/support/github.py); its URL."""
    with fake_github() as url:
        yield url
