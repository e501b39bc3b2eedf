#!/usr/bin/env python
"""Benchmark `kestra-sync plan` with namespace files (not a test: prints figures).

    python scripts/bench_nsfiles.py [--namespaces 50] [--files 20] [--latency-ms 10]

Generates ``--namespaces`` namespaces, each with one flow and ``--files`` namespace files under
its ``_files`` directory, then, each step the real CLI in a child process against one
in-process emulator that adds ``--latency-ms`` per API request:
1. ``plan`` on an empty server;
2. ``apply --auto-approve`` (plans again, then uploads every file and flow);
3. ``plan`` again (no changes), and the same plan with twice as many files per namespace.
The emulator counts requests per route; the point is the last column: reading a namespace's
files costs one request (the export zip) however many files it holds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEP_TIMEOUT = 600

FLOW = """id: job
namespace: bench.ns{ns:02d}
tasks:
  - id: run
    type: io.kestra.plugin.scripts.python.Commands
    namespaceFiles:
      enabled: true
    commands:
      - python scripts/task_00.py
"""


def generate(directory: Path, namespaces: int, files: int) -> None:
    for ns in range(namespaces):
        folder = directory / "bench" / f"ns{ns:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "job.yml").write_text(FLOW.format(ns=ns), encoding="utf-8")
        for n in range(files):
            script = folder / "_files" / "scripts" / f"task_{n:02d}.py"
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(f"# task {n} of namespace {ns}\nprint({n})\n", encoding="utf-8")


def run_step(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kestra_sync", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )
    return done.returncode, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    opts = parser.parse_args()

    from kestra_sync.emulator import Emulator

    rows = []
    # Auth off (no Kestra >= 0.24 can): the benchmark measures the deployer, not basic auth.
    with tempfile.TemporaryDirectory() as tmp, Emulator(auth=False) as emu:
        emu.latency = opts.latency_ms / 1000
        env = {**os.environ, "KESTRA_URL": emu.url, "PYTHONPATH": str(ROOT)}
        work = Path(tmp)
        generate(work / "flows", opts.namespaces, opts.files)
        steps = [
            ("plan, empty server", ["plan", "flows"], (0, 2)),
            ("apply", ["apply", "flows", "--auto-approve"], (0,)),
            ("plan, no changes", ["plan", "flows", "--detailed-exitcode"], (0,)),
        ]
        for title, args, ok in steps:
            emu.stats.reset()
            code, seconds = run_step(args, env, work)
            if code not in ok:
                sys.exit(f"{title}: exit code {code}")
            rows.append((title, opts.files, emu.stats.snapshot(), seconds))
        generate(work / "flows", opts.namespaces, opts.files * 2)
        emu.stats.reset()
        code, seconds = run_step(["plan", "flows"], env, work)
        if code not in (0, 2):
            sys.exit(f"plan with more files: exit code {code}")
        rows.append(("plan, twice the files", opts.files * 2, emu.stats.snapshot(), seconds))

    print(
        f"{opts.namespaces} namespaces, 1 flow each, {opts.latency_ms:g} ms latency per request\n"
    )
    print(
        "| step | files per namespace | requests | file requests | seconds "
        "| requests per namespace |"
    )
    print("|---|---|---|---|---|---|")
    for title, files, stats, seconds in rows:
        file_requests = sum(n for route, n in stats["requests"].items() if "/files" in route)
        print(
            f"| {title} | {files} | {stats['total']} | {file_requests} | {seconds:.1f} "
            f"| {stats['total'] / opts.namespaces:g} |"
        )


if __name__ == "__main__":
    main()
