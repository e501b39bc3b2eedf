"""The emulator's control API (`/_emulator/*`) is guarded like the API it sits next to (issue 9
item 14): with credentials configured, an anonymous request cannot wipe the state (nor its
file), add faults or read stats; a malformed request is a 400, never a dropped connection."""

from __future__ import annotations

import json

import pytest
import requests

from .conftest import Api, flow_yaml

USER, PASSWORD = "admin@kestra.io", "Admin1234"
CONTROL = [
    ("POST", "/_emulator/reset", None),
    ("POST", "/_emulator/faults", {"status": 500}),
    ("GET", "/_emulator/faults", None),
    ("DELETE", "/_emulator/faults", None),
    ("GET", "/_emulator/stats", None),
    ("DELETE", "/_emulator/stats", None),
    ("POST", "/_emulator/latency", {"ms": 5000}),
]


@pytest.mark.parametrize("method, path, body", CONTROL, ids=[f"{m} {p}" for m, p, _ in CONTROL])
def test_control_routes_need_the_api_credentials(make_emulator, tmp_path, method, path, body):
    state = tmp_path / "state.json"
    emu = make_emulator(users={USER: PASSWORD}, state=state)
    assert Api(emu, auth=(USER, PASSWORD)).create(flow_yaml()).status_code == 200
    saved = state.read_bytes()

    anonymous = requests.request(method, emu.url + path, json=body, timeout=10)
    wrong = requests.request(method, emu.url + path, json=body, auth=(USER, "nope"), timeout=10)
    assert anonymous.status_code == wrong.status_code == 401
    assert state.read_bytes() == saved and len(emu.store.live("main")) == 1
    assert emu.faults.pending() == [] and emu.latency == 0

    allowed = requests.request(method, emu.url + path, json=body, auth=(USER, PASSWORD), timeout=10)
    assert allowed.status_code in (200, 204), allowed.text


def test_reset_with_credentials_still_wipes_the_state(make_emulator, tmp_path):
    emu = make_emulator(users={USER: PASSWORD}, state=tmp_path / "state.json")
    Api(emu, auth=(USER, PASSWORD)).create(flow_yaml())
    r = requests.post(f"{emu.url}/_emulator/reset", auth=(USER, PASSWORD), timeout=10)
    assert r.status_code == 204 and emu.store.live("main") == []


def test_ee_tokens_open_the_control_routes_too(make_emulator):
    emu = make_emulator(edition="ee", tokens=["tok"])
    headers = {"Authorization": "Bearer tok"}
    assert requests.get(f"{emu.url}/_emulator/stats", timeout=10).status_code == 401
    assert requests.get(f"{emu.url}/_emulator/stats", headers=headers, timeout=10).ok


@pytest.mark.parametrize(
    "body",
    [
        {"sttaus": 500},
        {"status": "500"},
        {"status": 99},
        {"count": 0},
        {"path": "("},
        {"method": 7},
        [1, 2],
        "not an object",
    ],
    ids=str,
)
def test_a_malformed_fault_is_a_400_and_the_server_keeps_serving(emulator, body):
    r = requests.post(f"{emulator.url}/_emulator/faults", data=json.dumps(body), timeout=10)
    assert r.status_code == 400 and "bad fault" in r.json()["message"]
    assert emulator.faults.pending() == []
    assert requests.get(f"{emulator.url}/api/v1/main/flows/search", timeout=10).status_code == 200


@pytest.mark.parametrize("body", [{"ms": "slow"}, {"ms": -1}, [5]], ids=str)
def test_a_malformed_latency_is_a_400(emulator, body):
    r = requests.post(f"{emulator.url}/_emulator/latency", data=json.dumps(body), timeout=10)
    assert r.status_code == 400 and emulator.latency == 0
