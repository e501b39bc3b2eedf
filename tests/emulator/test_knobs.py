"""Emulator-only features: fault plan, latency, stats, control API, persistence, threads, CLI."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from kestra_sync.emulator import KNOWN_GAPS, Emulator

from .conftest import Api, flow_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_fault_fails_next_n_matching_requests_with_retry_after(api, emulator):
    emulator.faults.add("POST", r"/flows$", status=503, count=2, retry_after=3)
    r1 = api.create(flow_yaml())
    r2 = api.create(flow_yaml())
    assert (r1.status_code, r2.status_code) == (503, 503)
    assert r1.headers["Retry-After"] == "3"
    assert api.get("/search").status_code == 200  # other routes are untouched
    assert api.create(flow_yaml()).status_code == 200


def test_fault_drop_closes_the_connection_without_response(api, emulator):
    emulator.faults.add("GET", r"/search", drop=True)
    with pytest.raises(requests.ConnectionError):
        api.get("/search")
    assert api.get("/search").status_code == 200


def test_latency_attribute_delays_api_requests(api, emulator):
    emulator.latency = 0.15
    start = time.monotonic()
    api.get("/search")
    assert time.monotonic() - start >= 0.15
    emulator.latency = 0.0


def test_stats_count_requests_per_method_and_route(api, emulator):
    api.create(flow_yaml())
    api.get("/company.team/hello")
    api.get("/company.team/hello")
    snap = requests.get(f"{emulator.url}/_emulator/stats").json()
    assert snap["requests"]["POST /api/v1/{tenant}/flows"] == 1
    assert snap["requests"]["GET /api/v1/{tenant}/flows/{namespace}/{id}"] == 2
    assert snap["total"] == 3
    assert emulator.stats.count("GET") == 2


def test_control_api_faults_latency_and_reset(api, emulator):
    ctl = f"{emulator.url}/_emulator"
    r = requests.post(f"{ctl}/faults", json={"method": "GET", "path": "/search", "status": 500})
    assert r.status_code == 200 and r.json()["remaining"] == 1
    assert len(requests.get(f"{ctl}/faults").json()) == 1
    assert api.get("/search").status_code == 500
    assert requests.post(f"{ctl}/latency", json={"ms": 0}).json() == {"ms": 0.0}
    api.create(flow_yaml())
    assert requests.post(f"{ctl}/reset").status_code == 204
    assert api.get("/search").json()["total"] == 0
    assert requests.get(f"{ctl}/stats").json()["total"] == 1  # the search after the reset


def test_state_file_is_loaded_at_start_and_written_after_each_write(tmp_path):
    state = tmp_path / "state.json"
    with Emulator(state=state, auth=False) as emu:
        api = Api(emu)
        api.create(flow_yaml())
        api.update("company.team", "hello", flow_yaml(extra="description: x\n"))
        api.close()
        saved = json.loads(state.read_text())
        assert [r["revision"] for r in saved["tenants"]["main"]] == [1, 2]
    assert not [p for p in tmp_path.iterdir() if p.name != "state.json"]  # no temp files left
    with Emulator(state=state, auth=False) as emu:
        api = Api(emu)
        body = api.get("/company.team/hello", params={"source": "true"}).json()
        api.close()
        assert body["revision"] == 2 and body["source"] == flow_yaml(extra="description: x\n")


def test_concurrent_creates_of_one_id_yield_one_200_and_422s(emulator):
    def create(_):
        return requests.post(
            f"{emulator.url}/api/v1/main/flows",
            data=flow_yaml(),
            headers={"Content-Type": "application/x-yaml"},
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(create, range(16)))
    assert sorted(codes) == [200] + [422] * 15


def test_concurrent_clients_on_distinct_flows(emulator):
    def create(i):
        return requests.post(
            f"{emulator.url}/api/v1/main/flows",
            data=flow_yaml(f"f{i}"),
            headers={"Content-Type": "application/x-yaml"},
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(create, range(40))) == {200}
    assert emulator.store.count() == 40


def test_known_gaps_is_a_non_empty_list_of_strings():
    assert KNOWN_GAPS and all(isinstance(g, str) and g for g in KNOWN_GAPS)


def test_cli_emulator_prints_url_serves_with_the_default_account_and_exits_0_on_ctrl_c(tmp_path):
    # The default profile (2.0) demands basic auth as every Kestra OSS >= 0.24 does
    # (knowledge.MANDATORY_BASIC_AUTH): with no --username the emulator has a default account,
    # printed on the second line.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kestra_sync",
            "emulator",
            "--port",
            "0",
            "--state",
            str(tmp_path / "s.json"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.endswith(" - basic auth\n"), line
        account = proc.stdout.readline()
        assert "KESTRA_USERNAME=admin@kestra.io KESTRA_PASSWORD=Admin1234" in account
        url = line.split("listening on ")[1].split(" ")[0]
        post = functools.partial(
            requests.post,
            f"{url}/api/v1/main/flows",
            data=flow_yaml(),
            headers={"Content-Type": "application/x-yaml"},
        )
        assert post().status_code == 401
        assert post(auth=("admin@kestra.io", "Admin1234")).status_code == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)  # generous: CI machines can be loaded
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert (tmp_path / "s.json").exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["--no-auth"], "auth OFF (turned off; a real Kestra OSS >= 0.24 always requires"),
        (["--kestra-version", "0.22"], "auth off (optional before Kestra 0.24)"),
    ],
)
def test_cli_emulator_answers_without_credentials_with_no_auth_or_before_0_24(args, says):
    proc = subprocess.Popen(
        [sys.executable, "-m", "kestra_sync", "emulator", "--port", "0", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert says in line, line
        url = line.split("listening on ")[1].split(" ")[0]
        assert requests.get(f"{url}/api/v1/main/flows/search", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_cli_emulator_rejects_token_on_oss():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "kestra_sync", "emulator", "--port", "0", "--token", "x"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert "--edition ee" in proc.stderr


def test_cli_emulator_unreadable_state_file_is_one_line_error(tmp_path):
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "kestra_sync", "emulator", "--port", "0", "--state", str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 1
    assert "cannot read state file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_cli_emulator_stops_cleanly_even_when_started_in_the_background(signum):
    # A shell starts `kestra-sync emulator &` with SIGINT ignored; it must still stop on
    # Ctrl-C / kill, and on SIGTERM (what `kill` and CI runners send).
    proc = subprocess.Popen(
        [sys.executable, "-m", "kestra_sync", "emulator", "--port", "0"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert "listening on" in proc.stdout.readline()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "emulator stopped" in err and "Traceback" not in err
