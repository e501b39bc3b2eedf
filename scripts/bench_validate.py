#!/usr/bin/env python
"""Benchmark `kestra-sync validate` on generated flows (not a test: prints figures).

    python scripts/bench_validate.py [--flows 1000] [--repeat 5]

Measures, best of N:
- the whole command as a user runs it: `python -m kestra_sync validate DIR` in a subprocess
  (interpreter start, imports, scan, parse, checks, output), with no result cache (every file
  parsed and checked: a fresh CI job) and with the cache a previous run left (a laptop, a
  pre-commit hook: only changed files are parsed and checked): wall time, and the child's CPU
  time (from ``wait4``: on a machine whose cores are shared, wall times stretch, CPU times
  much less);
- the same work in-process with no cache (scan + validate_offline), without interpreter
  start-up;
- `python -m kestra_sync --help`, and which heavy modules the command imports.
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

FLOW = """# Generated flow {n}: nightly extract for team {team}.
id: flow-{n:04d}
namespace: company.{team}
description: |
  Pull yesterday's records for team {team}, keep the valid ones
  and load them into the warehouse.
labels:
  team: {team}
  tier: silver
inputs:
  - id: day
    type: DATE
    defaults: 2024-01-01
variables:
  api: https://api.example.com/{team}
tasks:
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: "{{{{ vars.api }}}}/records?day={{{{ inputs.day }}}}"
  - id: transform
    type: io.kestra.plugin.scripts.python.Script
    containerImage: python:3.12-slim
    inputFiles:
      in.json: "{{{{ outputs.extract.uri }}}}"
    outputFiles:
      - out.json
    script: |
      import json
      rows = json.load(open("in.json"))
      json.dump([r for r in rows if r.get("ok")], open("out.json", "w"))
  - id: parallel
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: count
        type: io.kestra.plugin.core.log.Log
        message: counting
      - id: notify
        type: io.kestra.plugin.core.log.Log
        message: "done {{{{ execution.id }}}}"
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 {hour} * * *"
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    level: ERROR
    message: failed
"""
TEAMS = ["data", "marketing", "finance", "ops", "sales"]


def generate(directory: Path, count: int) -> None:
    for n in range(count):
        team = TEAMS[n % len(TEAMS)]
        path = directory / "company" / team / f"flow-{n:04d}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FLOW.format(n=n, team=team, hour=n % 24), encoding="utf-8")


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", KESTRA_SYNC_CACHE="off")
    env.pop("GITHUB_ACTIONS", None)
    os.environ["KESTRA_SYNC_CACHE"] = "off"  # the in-process figure: the work itself
    with tempfile.TemporaryDirectory() as tmp:
        warm_env = {**env, "KESTRA_SYNC_CACHE": "on", "KESTRA_SYNC_CACHE_DIR": f"{tmp}/cache"}
        flows = Path(tmp) / "flows"
        generate(flows, args.flows)
        size = sum(p.stat().st_size for p in flows.rglob("*.yml"))
        cmd = [
            sys.executable,
            "-m",
            "kestra_sync",
            "validate",
            "--layout",
            "nested",
            "--directory",
            str(flows),
        ]

        cpu_times: dict[str, list[float]] = {"cold": [], "warm": []}

        def whole(environment=env):
            with tempfile.TemporaryFile() as out:
                proc = subprocess.Popen(
                    cmd, env=environment, cwd=tmp, stdout=out, stderr=subprocess.STDOUT
                )
                _, status, usage = os.wait4(proc.pid, 0)
                out.seek(0)
                text = out.read().decode("utf-8", "replace")
            assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
            kind = "warm" if environment is warm_env else "cold"
            cpu_times[kind].append(usage.ru_utime + usage.ru_stime)
            return text

        last = whole()
        wall = best(whole, args.repeat)
        whole(warm_env)  # fills the cache
        cpu_times["warm"].clear()
        wall_warm = best(lambda: whole(warm_env), args.repeat)
        cpu, cpu_warm = min(cpu_times["cold"]), min(cpu_times["warm"])
        helptime = best(
            lambda: subprocess.run(
                [sys.executable, "-m", "kestra_sync", "--help"],
                env=env,
                capture_output=True,
                check=True,
            ),
            args.repeat,
        )
        startup = best(
            lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.repeat
        )

        from kestra_sync.rules.validate import validate_offline
        from kestra_sync.source.flowscan import scan

        def inproc():
            result = scan(flows)
            diags = validate_offline(
                result.flows, layout="nested", root=flows, parsed=result.parsed
            )
            assert not diags and len(result.flows) == args.flows

        inproc()
        t_in = best(inproc, args.repeat)
        probe = (
            "import sys\nfrom kestra_sync.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(','.join(m for m in ('requests', 'jsonschema', 'deepdiff', "
            "'kestra_sync.emulator') if m in sys.modules) or 'none')\n"
        )
        heavy_help = (
            subprocess.run(
                [sys.executable, "-c", probe, "--help"], env=env, capture_output=True, text=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        heavy_val = (
            subprocess.run(
                [sys.executable, "-c", probe, "validate", str(flows)],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )

    import yaml

    print(
        f"python {sys.version.split()[0]}, PyYAML {yaml.__version__} "
        f"({'C loader' if hasattr(yaml, 'CSafeLoader') else 'pure Python'})"
    )
    print(f"{args.flows} flows, {size / 1024:.0f} KiB, best of {args.repeat}")
    print(
        f"  whole command (subprocess)   {wall * 1000:7.0f} ms   [{last.strip().splitlines()[-1]}]"
    )
    print(f"  whole command, CPU time      {cpu * 1000:7.0f} ms")
    print(f"  the same, cache of a run before {wall_warm * 1000:4.0f} ms")
    print(f"  the same, cache, CPU time    {cpu_warm * 1000:7.0f} ms")
    print(
        f"  in-process scan + validate   {t_in * 1000:7.0f} ms   ({t_in / args.flows * 1e3:.2f} ms/flow)"
    )
    print(f"  kestra-sync --help           {helptime * 1000:7.0f} ms")
    print(f"  bare interpreter start       {startup * 1000:7.0f} ms")
    print(f"  heavy modules imported by --help: {heavy_help}; by validate: {heavy_val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
