"""Ownership (issue 11 item 2): with an ownership label, --delete removes only the server flows
that carry it (git put them there), the plan says why each flow is or is not deleted, and
validate requires the label on every flow in git. Real CLI against the emulator."""

from __future__ import annotations

from tests.support.project import Project, flow, seed, server_source

OWNED = "labels:\n  system.readOnly: true\n"


def test_only_flows_carrying_the_label_are_deleted_and_the_plan_says_why(tmp_path, emulator):
    seed(emulator, flow("old-from-git", head=OWNED), flow("made-in-ui"), flow("keep", head=OWNED))
    project = Project(tmp_path, emulator)
    project.write(flow("keep", head=OWNED))
    args = ("--delete", "--ownership-label", "system.readOnly=true")

    planned = project.plan(*args)
    assert planned.returncode == 0, planned.stderr
    out = planned.stdout
    assert "- old-from-git" in out
    assert "deleted: it carries the ownership label, git put it there" in out
    assert "? made-in-ui" in out
    assert "not deleted: it does not carry the ownership label system.readOnly=true" in out

    data = project.plan_json(*args)
    assert data["options"]["ownership_label"] == "system.readOnly=true"

    done = project.run("apply", "-y", *args)
    assert done.returncode == 0, done.stderr
    assert server_source(emulator, "company.team", "old-from-git") is None
    assert server_source(emulator, "company.team", "made-in-ui") is not None


def test_the_label_from_the_config_file_and_a_bad_value(tmp_path, emulator):
    seed(emulator, flow("made-in-ui"))
    project = Project(tmp_path, emulator)
    project.write(flow("a", head="labels:\n  managed-by: kestra-sync\n"))
    project.config("delete: true\nownership_label: managed-by=kestra-sync\n")
    assert "not deleted: it does not carry the ownership label" in project.plan().stdout
    project.config("ownership_label: '=x'\n")
    bad = project.plan()
    assert bad.returncode == 1
    assert "kestra-sync.yml: ownership label '=x': expected KEY or KEY=VALUE" in bad.stderr


def test_validate_requires_the_label_on_every_flow_in_git(tmp_path, emulator):
    project = Project(tmp_path, emulator)
    project.write(flow("labelled", head="labels:\n  - key: system.readOnly\n    value: 'true'\n"))
    bare = project.write(flow("bare"))
    done = project.run("validate", "--ownership-label", "system.readOnly=true")
    assert done.returncode == 1
    rel = bare.relative_to(tmp_path)
    assert f"{rel}:1: error: flow has no label system.readOnly=true" in done.stdout
    assert "labelled.yml" not in done.stdout
    assert "[missing-ownership-label]" in done.stdout


def test_a_saved_plan_keeps_its_ownership_rule(tmp_path, emulator):
    """apply PLAN.json re-plans with the options the file records, the label among them."""
    seed(emulator, flow("old-from-git", head=OWNED), flow("made-in-ui"))
    project = Project(tmp_path, emulator)
    project.write(flow("keep", head=OWNED))
    args = ("--delete", "--ownership-label", "system.readOnly=true", "--out", "plan.json")
    assert project.plan(*args).returncode == 0
    done = project.run("apply", "plan.json")
    assert done.returncode == 0, done.stderr
    assert server_source(emulator, "company.team", "old-from-git") is None
    assert server_source(emulator, "company.team", "made-in-ui") is not None
    refused = project.run("apply", "plan.json", "--ownership-label", "x")
    assert refused.returncode == 2 and "--ownership-label cannot be used with a saved plan" in (
        refused.stderr
    )
