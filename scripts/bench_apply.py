#!/usr/bin/env python
"""Benchmark `kestra-sync plan` and `apply` against the emulator, next to a naive loop
(not a test: prints figures).

    python scripts/bench_apply.py [--flows 2000] [--namespaces 50] [--latency-ms 10]
                                  [--parallelism 4] [--naive-rerun]

In one run, against one in-process emulator that adds ``--latency-ms`` to every API request:

1. kestra-sync, each step as a user runs it (``python -m kestra_sync ...`` in a child process,
   so the client never shares the emulator's interpreter): ``plan`` on an empty server,
   ``apply --auto-approve`` (which plans again, then writes), and ``plan`` once more (no changes).
2. The emulator is reset, then a naive sequential loop (also in a child process, one
   ``requests.Session``): for each flow GET it, POST it, on 422 PUT it. With ``--naive-rerun``
   the loop runs a second time on the now full server (GET, POST -> 422, PUT for every flow).

Requests are counted by the emulator (its per-route stats), time is wall-clock per step.
Everything is bounded: each child process has a timeout.
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

STEP_TIMEOUT = 600  # seconds: no step may hang the benchmark

FLOW = """# Generated flow {n}.
id: flow-{n:04d}
namespace: bench.team{team:02d}
labels:
  team: team{team:02d}
tasks:
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: https://api.example.com/records?team={team}
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ outputs.extract.uri }}}}"
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
"""

NAIVE = r"""
import sys, pathlib, requests
url, directory = sys.argv[1], pathlib.Path(sys.argv[2])
s = requests.Session()
yaml = {"Content-Type": "application/x-yaml"}
failed = 0
for path in sorted(directory.rglob("*.yml")):
    source = path.read_text(encoding="utf-8")
    ns, fid = path.parent.relative_to(directory).as_posix().replace("/", "."), path.stem
    s.get(f"{url}/api/v1/main/flows/{ns}/{fid}", params={"source": "true"}, timeout=30)
    r = s.post(f"{url}/api/v1/main/flows", data=source.encode(), headers=yaml, timeout=30)
    if r.status_code == 422:
        r = s.put(f"{url}/api/v1/main/flows/{ns}/{fid}", data=source.encode(), headers=yaml,
                  timeout=30)
    failed += r.status_code != 200
sys.exit(1 if failed else 0)
"""


def generate(directory: Path, flows: int, namespaces: int) -> None:
    for n in range(flows):
        team = n % namespaces
        path = directory / "bench" / f"team{team:02d}" / f"flow-{n:04d}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FLOW.format(n=n, team=team), encoding="utf-8")


def child_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KESTRA_")}
    env.update(KESTRA_URL=url, PYTHONPATH=str(ROOT), NO_COLOR="1")
    return env


def step(emu, name: str, argv: list[str], cwd: Path, expect: tuple[int, ...] = (0,)) -> dict:
    emu.stats.reset()
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=child_env(emu.url),
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )
    seconds = time.perf_counter() - start
    if done.returncode not in expect:
        sys.exit(f"{name}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    stats = emu.stats.snapshot()
    return {"name": name, "seconds": seconds, "requests": stats["total"], "routes": stats}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--flows", type=int, default=2000)
    ap.add_argument("--namespaces", type=int, default=50)
    ap.add_argument("--latency-ms", type=float, default=10.0)
    ap.add_argument("--parallelism", type=int, default=4)
    ap.add_argument("--naive-rerun", action="store_true", help="also time the naive loop re-run")
    ap.add_argument("--routes", action="store_true", help="print requests per route")
    args = ap.parse_args()

    from kestra_sync.emulator import Emulator

    ks = [sys.executable, "-m", "kestra_sync"]
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency=args.latency_ms / 1000) as emu:
        root = Path(tmp)
        generate(root / "flows", args.flows, args.namespaces)
        par = ["--parallelism", str(args.parallelism)]
        rows = [
            step(emu, "kestra-sync plan (empty server)", [*ks, "plan", "flows", *par], root),
            step(
                emu,
                "kestra-sync apply --auto-approve",
                [*ks, "apply", "flows", "--auto-approve", *par],
                root,
            ),
            step(
                emu,
                "kestra-sync plan (no changes)",
                [*ks, "plan", "flows", "--detailed-exitcode", *par],
                root,
            ),
        ]
        if emu.store.count() != args.flows:
            sys.exit(f"apply left {emu.store.count()} flows on the server, not {args.flows}")
        emu.reset()
        naive = [sys.executable, "-c", NAIVE, emu.url, str(root / "flows")]
        rows.append(step(emu, "naive loop: GET, POST, on 422 PUT", naive, root))
        if args.naive_rerun:
            rows.append(step(emu, "naive loop again (all exist)", naive, root))
        if emu.store.count() != args.flows:
            sys.exit(f"the naive loop left {emu.store.count()} flows, not {args.flows}")

    print(
        f"{args.flows} flows in {args.namespaces} namespaces, emulator latency "
        f"{args.latency_ms:g} ms per request, --parallelism {args.parallelism}, "
        f"{os.cpu_count()} CPU(s), each step a child process\n"
    )
    print(f"{'step':<38} {'requests':>9} {'seconds':>8} {'req/ns':>7}")
    for row in rows:
        per_ns = row["requests"] / args.namespaces
        print(f"{row['name']:<38} {row['requests']:>9} {row['seconds']:>8.2f} {per_ns:>7.1f}")
        if args.routes:
            for route, n in row["routes"]["requests"].items():
                print(f"    {route:<60} {n:>6}")
    apply_row, naive_row = rows[1], rows[3]
    print(
        f"\napply vs naive loop: {naive_row['seconds'] / apply_row['seconds']:.1f}x faster, "
        f"{naive_row['requests'] / apply_row['requests']:.2f}x fewer requests; "
        f"plan: {rows[0]['requests'] / args.namespaces:.1f} requests per namespace"
    )
    if args.naive_rerun:
        again, naive_again = rows[2], rows[4]
        print(
            f"nothing to change: kestra-sync plan {again['requests']} requests in "
            f"{again['seconds']:.2f} s vs the naive loop {naive_again['requests']} in "
            f"{naive_again['seconds']:.2f} s ({naive_again['seconds'] / again['seconds']:.0f}x)"
        )


if __name__ == "__main__":
    main()
