#!/usr/bin/env python
"""Micro-benchmark: the client's own CPU time per request (not a test: prints figures).

    python scripts/bench_client.py [--requests 2000] [--repeat 3]

One in-process emulator with no added latency; one KestraClient in this thread sends
``--requests`` creates (``POST /flows``, a realistic 45-line flow each), then as many reads
(``GET /flows/{ns}/{id}?source=true``) and updates of the same source (``PUT``, a no-op on the
server). Each figure is ``time.thread_time`` of the sending thread only, divided by the number
of requests: the emulator's threads are not counted, and neither is time spent waiting for the
GIL or the socket, so the figure is the client's CPU cost per request even on a busy machine.
The best of ``--repeat`` runs is shown (noise only ever adds time).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def per_request_ms(action, items) -> float:
    start = time.thread_time()
    for item in items:
        action(item)
    return (time.thread_time() - start) / len(items) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000, help="requests of each kind per run")
    ap.add_argument("--repeat", type=int, default=3, help="runs; the best is shown")
    args = ap.parse_args()

    from bench_apply import FLOW

    from kestra_sync.client import KestraClient
    from kestra_sync.emulator import Emulator

    n = args.requests
    flows = [
        (f"bench.team{i % 50:02d}", f"flow-{i:05d}", FLOW.format(n=i, team=i % 50, hour=i % 24))
        for i in range(n)
    ]
    best: dict[str, float] = {}
    with Emulator(latency=0.0, auth=False) as emu:
        for _ in range(max(1, args.repeat)):
            emu.reset()
            with KestraClient(emu.url) as client:
                client.server_version()  # open the connection outside the measured loops
                runs = {
                    "POST /flows (create)": per_request_ms(
                        lambda f: client.create_flow(f[2]), flows
                    ),
                    "GET /flows/{ns}/{id}?source=true": per_request_ms(
                        lambda f: client.get_flow(f[0], f[1]), flows
                    ),
                    "PUT /flows/{ns}/{id} (same source)": per_request_ms(
                        lambda f: client.update_flow(f[0], f[1], f[2]), flows
                    ),
                }
            for name, ms in runs.items():
                best[name] = min(best.get(name, ms), ms)
    print(
        f"client CPU per request (thread_time of the sending thread, best of {args.repeat} runs "
        f"of {n} each, emulator in-process with no latency, python {sys.version.split()[0]})"
    )
    for name, ms in best.items():
        print(f"  {name:<40} {ms:6.3f} ms")


if __name__ == "__main__":
    main()
