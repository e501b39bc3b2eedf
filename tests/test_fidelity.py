"""Server behaviours that differ between Kestra versions and that a deployer must cope with,
each shown on both sides: the emulator's profile answers as that version does (read in Kestra's
code, cited in knowledge.py), and plan/validate says what the version would do to the files.
"""

from __future__ import annotations

import pytest
import requests

from kestra_sync.emulator import rules

from .conftest import run_cli

YAML = {"Content-Type": "application/x-yaml"}
FLOW = """id: f
namespace: company
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
"""
# workerSelector is a flow key of 2.0 only (AbstractFlow.java, da42c3422).
WITH_SELECTOR = FLOW + "workerSelector:\n  tags: [gpu]\n"


# --- PUT is lenient before 2.0 (knowledge.LENIENT_UPDATE) -------------------------------------


@pytest.mark.parametrize("profile", ["1.0", "1.3"])
def test_before_2_0_an_update_saves_a_flow_with_a_key_a_create_refuses(make_emulator, profile):
    emu = make_emulator(version=profile)
    flows = emu.url + "/api/v1/main/flows"
    created = requests.post(flows, data=WITH_SELECTOR, headers=YAML, timeout=10)
    assert created.status_code == 422
    assert 'Unrecognized field "workerSelector"' in created.json()["message"]
    assert requests.post(flows, data=FLOW, headers=YAML, timeout=10).status_code == 200
    updated = requests.put(flows + "/company/f", data=WITH_SELECTOR, headers=YAML, timeout=10)
    assert updated.status_code == 200, updated.text
    assert updated.json()["revision"] == 2


def test_2_0_refuses_an_unknown_key_on_update_as_on_create(make_emulator):
    emu = make_emulator(version="2.0")
    flows = emu.url + "/api/v1/main/flows"
    assert requests.post(flows, data=FLOW, headers=YAML, timeout=10).status_code == 200
    listeners = FLOW + "listeners: []\n"  # removed in 2.0 by ce1dcb178
    updated = requests.put(flows + "/company/f", data=listeners, headers=YAML, timeout=10)
    assert updated.status_code == 422
    assert 'Unrecognized field "listeners"' in updated.json()["message"]


def test_plan_against_1_3_stops_on_a_key_the_update_would_drop_naming_file_and_key(
    make_emulator, tmp_path
):
    emu = make_emulator(version="1.3")
    emu.store.create("main", rules.parse_for_write(FLOW, "1.3"))
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "f.yml").write_text(WITH_SELECTOR, encoding="utf-8")
    done = run_cli("plan", "--server", emu.url, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "flows/f.yml:7: flow-level 'workerSelector': Kestra 1.3 refuses it in a new flow " in (
        done.stderr
    )
    assert "drops it without a word from an existing one" in done.stderr
    assert [k for k in emu.stats.snapshot()["requests"] if k.startswith("PUT")] == []
