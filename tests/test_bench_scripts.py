"""The benchmark scripts run end to end at a tiny size (no timing is asserted: figures come from
running them, see README "Performance")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_bench_apply_prints_kestra_sync_and_both_naive_loops_side_by_side():
    out = run(
        "bench_apply.py", "--sizes", "12", "--latency-ms", "0", "--parallelism", "4", "--runs", "2"
    )
    # Two runs, each printed, then the range of each ratio (README "Performance" gives ranges).
    assert out.count("kestra-sync apply (first deploy)") == 2, out
    (spread,) = [line for line in out.splitlines() if "=> over 2 runs:" in line]
    assert "first deploy" in spread and "with no cache" in spread, spread
    for step in (
        "kestra-sync plan, empty server",
        "kestra-sync apply (first deploy)",
        "kestra-sync plan, server in sync",
        "kestra-sync plan in sync, no cache",
        "kestra-sync first deploy, no cache",
        "naive: POST, on 422 PUT (first deploy)",
        "naive: GET each flow and compare",
    ):
        assert step in out, out
    # Rows are "{flows:>6} {step:<40} {requests:>8} ...".
    requests = {
        line[7:47].strip(): int(line[47:].split()[0])
        for line in out.splitlines()
        if line.startswith("    12 ")
    }
    # 12 flows in one namespace: a plan is the server's version (one per run), one search and
    # one export, the naive loops one request per flow, the apply its plan plus one create per
    # flow.
    # ... and one listing of the tenant's namespaces (those that left git are named).
    assert requests["kestra-sync plan, server in sync"] == 1 + 2 + 1
    assert requests["naive: GET each flow and compare"] == 12
    # its plan (1 + 2 per namespace + 1), one listing of the namespace before writing, 12 creates
    assert requests["kestra-sync apply (first deploy)"] == 1 + 2 + 1 + 1 + 12
    # the result cache saves CPU, never a request
    assert requests["kestra-sync plan in sync, no cache"] == 1 + 2 + 1
    assert requests["kestra-sync first deploy, no cache"] == 1 + 2 + 1 + 1 + 12


def test_bench_validate_runs_on_a_few_flows():
    out = run("bench_validate.py", "--flows", "10", "--repeat", "1")
    assert "10 flows" in out and "whole command" in out and "CPU time" in out, out


def test_bench_client_prints_the_cpu_per_request_of_each_kind():
    out = run("bench_client.py", "--requests", "5", "--repeat", "1")
    for kind in ("POST /flows (create)", "GET /flows/{ns}/{id}", "PUT /flows/{ns}/{id}"):
        assert kind in out, out
    assert out.count(" ms\n") == 3, out
