"""Run the real CLI in a child process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository


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
