"""Partial plans (issue 11 item 1): `--target NAMESPACE/ID`, `--target NAMESPACE/*` and flow
files as arguments, with the real CLI against the emulator."""

from __future__ import annotations

import json

from tests.support.project import Project, flow, seed, server_source


def project_with_two_namespaces(tmp_path, emulator) -> Project:
    seed(
        emulator,
        flow("a", message="old"),
        flow("b", message="old"),
        flow("ui-made"),  # in company.team, not in git
        flow("z", ns="other", message="old"),
    )
    project = Project(tmp_path, emulator)
    for source in (
        flow("a", message="new"),
        flow("b", message="new"),
        flow("z", ns="other", message="new"),
    ):
        project.write(source)
    return project


def test_a_flow_file_as_argument_plans_only_that_flow_and_says_so(tmp_path, emulator):
    project = project_with_two_namespaces(tmp_path, emulator)
    done = project.plan("flows/company.team/a.yml", "--delete", "--no-diff")
    assert done.returncode == 0, done.stderr
    assert "~ a" in done.stdout
    assert "~ b" not in done.stdout and "ui-made" not in done.stdout and "z" not in done.stdout
    assert "Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged." in done.stdout
    assert "Partial plan: only company.team/a" in done.stdout
    markdown = project.plan("flows/company.team/a.yml", "--format", "markdown").stdout
    assert "> [!NOTE]\n> Partial plan: only company.team/a" in markdown
    # Every namespace of git is read (a partial plan's guards look at the whole tree, issue 20
    # item 1), but the plan holds the targeted flow only.
    data = project.plan_json("flows/company.team/a.yml")
    assert "other" in json.dumps(data["scopes"])
    assert [(c["namespace"], c["id"]) for c in data["changes"]] == [("company.team", "a")]


def test_namespace_target_deletes_only_in_that_namespace(tmp_path, emulator):
    project = project_with_two_namespaces(tmp_path, emulator)
    seed(emulator, flow("stray", ns="other"))
    done = project.run("apply", "-y", "--delete", "--target", "company.team/*")
    assert done.returncode == 0, done.stderr
    assert "- ui-made" in done.stdout and "stray" not in done.stdout
    assert server_source(emulator, "company.team", "ui-made") is None
    assert server_source(emulator, "other", "stray") is not None  # not targeted: kept
    assert "message: old" in server_source(emulator, "other", "z")  # not targeted: not updated
    assert "message: new" in server_source(emulator, "company.team", "b")


def test_an_id_target_never_deletes_other_flows(tmp_path, emulator):
    project = project_with_two_namespaces(tmp_path, emulator)
    data = project.plan_json("--delete", "--target", "company.team/a")
    assert [(c["action"], c["id"]) for c in data["changes"]] == [("update", "a")]
    assert data["targets"] == ["company.team/a"]


def test_a_saved_partial_plan_applies_without_calling_the_rest_drift(tmp_path, emulator):
    project = project_with_two_namespaces(tmp_path, emulator)
    assert project.plan("--target", "company.team/a", "--out", "plan.json").returncode == 0
    done = project.run("apply", "plan.json")
    assert done.returncode == 0, done.stderr
    assert "Apply: 1 done" in done.stdout
    assert "message: old" in server_source(emulator, "company.team", "b")


def test_a_target_that_matches_nothing_or_is_malformed_is_an_error(tmp_path, emulator):
    project = project_with_two_namespaces(tmp_path, emulator)
    typo = project.plan("--target", "company.team/nope")
    assert typo.returncode == 1
    assert "--target company.team/nope matches no flow in git or on the server" in typo.stdout
    bad = project.plan("--target", "company.team")
    assert bad.returncode == 1 and "expected NAMESPACE/ID, NAMESPACE/*, file:" in bad.stderr


def test_a_flow_file_outside_the_flow_directory_is_an_error(tmp_path, emulator):
    project = project_with_two_namespaces(tmp_path, emulator)
    (tmp_path / "draft.yml").write_text(flow("draft"))
    done = project.plan("draft.yml")
    assert done.returncode == 1
    assert "error: draft.yml: not a flow of the flow directory flows/" in done.stderr
    assert emulator.stats.count("GET", "/api/v1/{tenant}/flows/search") == 0  # no flow read


def test_the_config_is_found_from_the_flow_file(tmp_path, emulator):
    """A monorepo: run from the repository root, the file's kestra/kestra-sync.yml applies."""
    (tmp_path / ".git").mkdir()
    kestra = tmp_path / "kestra"
    kestra.mkdir()
    project = Project(kestra, emulator)
    (kestra / "kestra-sync.yml").write_text("directory: flows\nlayout: dotted\n")
    project.write(flow("a"))
    project.root = tmp_path  # run from the repository root
    done = project.plan("kestra/flows/company.team/a.yml")
    assert done.returncode == 0, done.stderr
    assert "+ a" in done.stdout and "kestra/flows/company.team/a.yml" in done.stdout


def test_namespace_flags_do_not_silently_widen_a_partial_plan(tmp_path, emulator):
    project = project_with_two_namespaces(tmp_path, emulator)
    done = project.plan("--target", "company.team/a", "--namespace", "other")
    assert done.returncode == 1
    assert "--namespace cannot widen a partial plan" in done.stderr


def test_a_partial_plan_that_deletes_is_not_saved_but_applies_directly(tmp_path, emulator):
    """apply PLAN.json re-plans from the flows in the file: a partial plan's file lacks git's
    other flows in the namespace, so its deletions could not be re-checked."""
    project = project_with_two_namespaces(tmp_path, emulator)
    args = ("--delete", "--target", "company.team/ui-made")
    saved = project.plan(*args, "--out", "plan.json")
    assert saved.returncode == 1 and not (tmp_path / "plan.json").exists()
    assert "a partial plan that deletes (company.team/ui-made) cannot be saved" in saved.stderr
    done = project.run("apply", "-y", *args)
    assert done.returncode == 0, done.stderr
    assert server_source(emulator, "company.team", "ui-made") is None
    assert "message: old" in server_source(emulator, "company.team", "a")  # not targeted
