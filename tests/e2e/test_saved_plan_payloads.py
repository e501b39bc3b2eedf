"""End to end: a saved plan applies exactly the content it shows. Each namespace file and KV
change carries its payload and the digest the plan was reviewed with; a payload that no longer
has that digest (edited, and the plan's checksum recomputed to match) is refused before any
write, for every kind."""

from __future__ import annotations

import base64
import json

import pytest

from kestra_sync.report.planfile import content_checksum
from tests.e2e.test_resources import nested_flow, put_file, server_files, server_kv, write_kv
from tests.support.project import Project, flow


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    nested_flow(p, flow("etl"))
    put_file(p, "load.py", b"print('load')\n")
    write_kv(p, "values:\n  region: eu\n")
    saved = p.plan("--out", "plan.json")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    return p


def _swap_payload(p: Project, kind: str, payload) -> None:
    data = json.loads((p.root / "plan.json").read_text(encoding="utf-8"))
    for change in data["changes"]:
        if change["kind"] == kind:
            change["payload"] = payload
    data["checksum"] = content_checksum(data)  # anyone can recompute it
    (p.root / "plan.json").write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("kind", "payload", "named"),
    [
        ("file", base64.b64encode(b"import os; os.system('evil')").decode(), "/load.py"),
        ("kv", {"value": "attacker.example", "ttl": None}, "region"),
    ],
)
def test_a_payload_that_is_not_what_the_plan_shows_is_refused(project, kind, payload, named):
    _swap_payload(project, kind, payload)

    applied = project.run("apply", "plan.json", "--auto-approve")

    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert "Traceback" not in applied.stderr
    assert f"{named}" in applied.stderr and "does not match its digest" in applied.stderr
    assert server_files(project) == {}
    assert server_kv(project) == {}


def test_a_partial_plan_of_one_file_saves_and_applies_and_names_a_file_delete(project):
    assert project.run("apply", "plan.json", "--auto-approve").returncode == 0
    put_file(project, "load.py", b"print('v2')\n")
    put_file(project, "other.py", b"not targeted\n")

    saved = project.plan("--target", "file:company.team/load.py", "--out", "one.json")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    done = project.run("apply", "one.json", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_files(project) == {"/load.py": b"print('v2')\n"}

    (project.root / "flows" / "company" / "team" / "_files" / "load.py").unlink()
    args = ("--delete", "--allow-empty-namespace", "--target", "file:company.team/load.py")
    refused = project.plan(*args, "--out", "gone.json")
    assert refused.returncode == 1
    assert (
        "a partial plan that deletes (company.team file /load.py) cannot be saved" in refused.stderr
    )
    assert not (project.root / "gone.json").exists()


def test_applying_a_plan_file_that_is_not_there_says_so(project):
    missing = project.run("apply", "nothere.json", "--auto-approve")

    assert missing.returncode == 1
    assert "nothere.json: plan file not found" in missing.stderr
    assert "flow directory" not in missing.stderr
    assert server_files(project) == {}


def test_a_saved_plan_is_not_applied_to_a_tenant_other_than_the_one_named(tmp_path, make_emulator):
    # Made for tenant t1; KESTRA_TENANT=t2 at apply time means the user expects t2: refused,
    # as another server is, instead of writing to t1 without a word.
    from tests.support.cli import run_cli

    emu = make_emulator(edition="ee", tokens=["tok"])
    flows = tmp_path / "flows/company/team"
    flows.mkdir(parents=True)
    (flows / "a.yml").write_text(
        "id: a\nnamespace: company.team\ntasks:\n"
        "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    env = {"KESTRA_URL": emu.url, "KESTRA_API_TOKEN": "tok", "KESTRA_TENANT": "t1"}
    saved = run_cli("plan", "flows", "--out", "plan.json", cwd=tmp_path, env=env)
    assert saved.returncode == 0, saved.stderr
    other = run_cli("apply", "plan.json", cwd=tmp_path, env={**env, "KESTRA_TENANT": "t2"})
    assert other.returncode == 1
    assert "the saved plan was made for tenant t1, not t2 (KESTRA_TENANT)" in other.stderr
    assert emu.stats.count(method="POST") == 0  # nothing written anywhere
    same = run_cli("apply", "plan.json", cwd=tmp_path, env=env)
    assert same.returncode == 0, same.stderr
