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


# --- namespace file paths with a space (knowledge.NSFILE_SPACE_AS_PLUS) -----------------------


def _upload(emu, path: str, content: bytes) -> requests.Response:
    return requests.post(
        emu.url + "/api/v1/main/namespaces/company/files",
        params={"path": path},
        files={"fileContent": ("x", content)},
        timeout=10,
    )


def _listed(emu) -> list[str]:
    answer = requests.get(
        emu.url + "/api/v1/main/namespaces/company/files/directory",
        params={"path": "/"},
        timeout=10,
    )
    return sorted(entry["fileName"] for entry in answer.json())


@pytest.mark.parametrize("profile", ["0.22", "1.0", "1.3"])
def test_before_2_0_a_space_in_a_file_path_is_stored_as_a_plus(make_emulator, profile):
    emu = make_emulator(version=profile)
    assert _upload(emu, "/a b.txt", b"spaced").status_code == 200
    assert _listed(emu) == ["a+b.txt"]
    assert _upload(emu, "/a+b.txt", b"plus").status_code == 200  # the same file
    assert _listed(emu) == ["a+b.txt"]
    got = requests.get(
        emu.url + "/api/v1/main/namespaces/company/files", params={"path": "/a b.txt"}, timeout=10
    )
    assert got.content == b"plus"


def test_2_0_keeps_the_space_and_tells_it_from_a_plus(make_emulator):
    emu = make_emulator(version="2.0")
    assert _upload(emu, "/a b.txt", b"spaced").status_code == 200
    assert _upload(emu, "/a+b.txt", b"plus").status_code == 200
    assert _listed(emu) == ["a b.txt", "a+b.txt"]


def _project_with_spaced_file(tmp_path):
    files = tmp_path / "flows" / "company" / "_files"
    files.mkdir(parents=True)
    (files / "a b.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "flows" / "company" / "f.yml").write_text(FLOW, encoding="utf-8")
    (tmp_path / "kestra-sync.yml").write_text("directory: flows\nlayout: nested\n", "utf-8")
    return tmp_path


def test_validate_refuses_a_spaced_file_name_on_1_x_names_the_file_and_accepts_it_on_2_0(
    tmp_path,
):
    root = _project_with_spaced_file(tmp_path)
    on_13 = run_cli("validate", "--kestra-version", "1.3", cwd=root)
    assert on_13.returncode == 1
    assert (
        "flows/company/_files/a b.txt: error: /a b.txt: Kestra 1.3 stores it as /a+b.txt"
        in on_13.stdout
    )
    assert "[nsfile-space]" in on_13.stdout
    on_20 = run_cli("validate", "--kestra-version", "2.0", cwd=root)
    assert on_20.returncode == 0 and "nsfile-space" not in on_20.stdout
    unknown = run_cli("validate", cwd=root)
    assert unknown.returncode == 0
    assert "warning: /a b.txt: Kestra 0.22-1.3 store it as /a+b.txt" in unknown.stdout


def test_plan_against_1_3_stops_before_uploading_a_spaced_file_and_2_0_converges(
    tmp_path, make_emulator
):
    root = _project_with_spaced_file(tmp_path)
    old = make_emulator(version="1.3")
    refused = run_cli("plan", "--server", old.url, cwd=root)
    assert refused.returncode == 1
    assert "a b.txt" in refused.stderr and "Kestra 1.3 stores it as /a+b.txt" in refused.stderr
    new = make_emulator(version="2.0")
    applied = run_cli("apply", "-y", "--server", new.url, cwd=root)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = run_cli("plan", "--server", new.url, "--detailed-exitcode", cwd=root)
    assert again.returncode == 0, again.stdout  # nothing left to do


# --- filters[namespace][PREFIX] (knowledge.NAMESPACE_PREFIX_FILTER) ---------------------------


def _seed_namespaces(emu, profile: str) -> None:
    for ns in ("company", "company.team", "company2"):
        emu.store.create("main", rules.parse_for_write(FLOW.replace("company", ns), profile))


def test_0_22_has_no_prefix_filter_and_its_starts_with_is_the_namespace_or_a_child(
    make_emulator,
):
    emu = make_emulator(version="0.22")
    _seed_namespaces(emu, "0.22")
    search = emu.url + "/api/v1/main/flows/search"
    refused = requests.get(search, params={"filters[namespace][PREFIX]": "company"}, timeout=10)
    assert refused.status_code == 422
    assert refused.json()["message"] == (
        "Illegal argument: No enum constant io.kestra.core.models.QueryFilter.Op.PREFIX"
    )
    found = requests.get(search, params={"filters[namespace][STARTS_WITH]": "company"}, timeout=10)
    assert sorted(f["namespace"] for f in found.json()["results"]) == ["company", "company.team"]


@pytest.mark.parametrize("profile", ["0.22", "1.3"])
def test_the_client_lists_a_namespace_and_its_children_on_every_profile(make_emulator, profile):
    from kestra_sync.client import KestraClient

    emu = make_emulator(version=profile)
    _seed_namespaces(emu, profile)
    with KestraClient(emu.url, retries=0) as client:
        flows = client.search_flows("company", include_children=True)
    assert sorted(f.namespace for f in flows) == ["company", "company.team"]
    asked = [k for k in emu.stats.snapshot()["requests"] if "search" in k]
    assert asked  # the search route, once or twice (0.22: PREFIX, then STARTS_WITH)


# --- --fix: each rewrite is valid on the version it fixes for ---------------------------------

LEGACY = """id: legacy
namespace: company
tasks:
  - id: log
    type: io.kestra.core.tasks.log.Log
    message: "{{ outputs | json }} and {{ json('{}') }}"
    runIf: "{{ true }}"
  - id: purge
    type: "io.kestra.core.tasks.storages.PurgeExecution"
triggers:
  - id: nightly
    type: io.kestra.core.models.triggers.types.Schedule
    cron: "0 2 * * *"
"""


def test_fix_rewrites_legacy_aliases_and_json_into_a_flow_the_2_0_emulator_accepts(tmp_path):
    (tmp_path / "flows").mkdir()
    path = tmp_path / "flows" / "legacy.yml"
    path.write_text(LEGACY, encoding="utf-8")
    with pytest.raises(rules.ConstraintViolations):
        rules.parse_for_write(LEGACY, "2.0")
    done = run_cli("validate", "--kestra-version", "2.0", "--fix", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    fixed = path.read_text(encoding="utf-8")
    assert fixed == (
        LEGACY.replace("io.kestra.core.tasks.log.Log", "io.kestra.plugin.core.log.Log")
        .replace("| json", "| toJson")
        .replace("json('{}')", "fromJson('{}')")
        .replace(
            "io.kestra.core.tasks.storages.PurgeExecution",
            "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles",
        )
        .replace(
            "io.kestra.core.models.triggers.types.Schedule",
            "io.kestra.plugin.core.trigger.Schedule",
        )
    )
    assert "runIf" in fixed  # 2.0 still calls it runIf
    assert "(valid since Kestra 0.17: io.kestra.plugin.core.* classes, a31310850" in done.stderr
    assert "(valid since Kestra 0.18: pebble toJson / fromJson, 9c2158c9f)" in done.stderr
    rules.parse_for_write(fixed, "2.0")  # the 2.0 profile takes the result
