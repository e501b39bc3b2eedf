"""Renames are not deletes (issue 22 item 6): with a `state_namespace`, apply records the commit
it deployed; the next plan reads git's history from there and shows a flow (or a namespace
folder) that git moved as "rename a → b", with the callers that still name a; apply creates b
before it deletes a; a re-plan converges. Real git repositories, the real CLI, the emulator."""

from __future__ import annotations

from tests.support import gitrepo
from tests.support.project import Project, client, edit_on_server, flow, line_with

STATE = "company.kestra_sync"
KEY = "kestra_sync_deployed_commit"
CREATE = "POST /api/v1/main/flows"


def caller(fid: str, target_ns: str, target_id: str, ns: str = "company.team") -> str:
    return (
        f"id: {fid}\nnamespace: {ns}\ntasks:\n  - id: call\n"
        f"    type: io.kestra.plugin.core.flow.Subflow\n"
        f"    namespace: {target_ns}\n    flowId: {target_id}\n"
    )


def deployed(tmp_path, emulator, *sources: str) -> Project:
    """A git repository with ``sources``, applied once (which records its commit)."""
    project = Project(tmp_path, emulator)
    project.config(f"directory: flows\nstate_namespace: {STATE}\n")
    for source in sources:
        project.write(source)
    gitrepo.init(tmp_path)
    head = gitrepo.commit_all(tmp_path, "first deploy")
    done = project.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert recorded(emulator) == head
    return project


def recorded(emulator) -> str | None:
    with client(emulator) as c:
        found = c.get_kv(STATE, KEY)
    return None if found is None else found[1]


def live_flows(emulator, namespace: str) -> list[str]:
    with client(emulator) as c:
        return sorted(f.id for f in c.namespace_flows(namespace))


def test_a_renamed_flow_is_created_before_its_old_name_is_deleted(tmp_path, emulator):
    project = deployed(tmp_path, emulator, flow("load"))
    gitrepo.move(
        tmp_path, "flows/company.team/load.yml", "flows/company.team/ingest.yml", ("load", "ingest")
    )
    head = gitrepo.commit_all(tmp_path, "rename load to ingest")

    done = project.plan()  # deletion off: the rename is shown, the old flow kept
    assert done.returncode == 0, done.stderr
    assert (
        "rename company.team/load → company.team/ingest: company.team/load is kept: deletion "
        "is off (--delete deletes it once company.team/ingest is created)" in done.stdout
    ), done.stdout
    assert "\n      renamed from company.team/load\n" in done.stdout  # under `+ ingest`
    assert "create  flows/company.team/ingest.yml" in line_with(done.stdout, "+ ingest")

    done = project.plan("--delete")
    assert (
        "rename company.team/load → company.team/ingest: company.team/load is deleted once "
        "company.team/ingest is created" in done.stdout
    ), done.stdout
    assert "Plan: 1 to create, 0 to update, 1 to delete, 0 unchanged." in done.stdout
    data = project.plan_json("--delete")
    assert data["renames"] == [
        {
            "tenant": "main",
            "from": {"namespace": "company.team", "id": "load"},
            "to": {"namespace": "company.team", "id": "ingest"},
            "callers": [],
        }
    ]
    markdown = project.plan("--delete", "--format", "markdown").stdout
    assert "🔀 rename company.team/load → company.team/ingest" in markdown, markdown

    emulator.stats.reset()
    applied = project.run("apply", "--delete", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    log = emulator.stats.recent()
    assert log.index(CREATE) < log.index("DELETE /api/v1/main/flows/company.team/load"), log
    assert live_flows(emulator, "company.team") == ["ingest"]
    assert recorded(emulator) == head

    again = project.plan("--delete")
    assert "No changes: the server matches git." in again.stdout, again.stdout
    assert "rename" not in again.stdout


def test_a_flow_moved_to_another_namespace_is_kept_while_a_caller_still_names_it(
    tmp_path, emulator
):
    project = deployed(tmp_path, emulator, flow("load"), caller("nightly", "company.team", "load"))
    gitrepo.move(
        tmp_path,
        "flows/company.team/load.yml",
        "flows/company.data/load.yml",
        ("namespace: company.team", "namespace: company.data"),
    )
    first = gitrepo.commit_all(tmp_path, "move load to company.data")

    done = project.plan("--delete")
    assert done.returncode == 0, done.stderr
    assert "rename company.team/load → company.data/load: company.team/load is kept" in done.stdout
    assert (
        "warning: company.team/nightly still calls or listens to company.team/load: change it "
        "to company.data/load, or it breaks when company.team/load goes" in done.stdout
    ), done.stdout
    assert "Plan: 1 to create, 0 to update, 0 to delete" in done.stdout
    assert "flows/company.team/nightly.yml: warning: company.team/nightly still calls" in (
        done.stderr
    ), done.stderr

    # Applied as planned: the new flow exists, the old one stays for its caller, and the
    # recorded commit does not move while the rename is pending.
    applied = project.run("apply", "--delete", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "not recorded while a rename is pending" in applied.stderr, applied.stderr
    assert recorded(emulator) != first
    assert live_flows(emulator, "company.team") == ["load", "nightly"]

    # The caller follows: the same rename now completes with --delete alone.
    project.write(caller("nightly", "company.data", "load"))
    head = gitrepo.commit_all(tmp_path, "nightly calls the moved flow")
    done = project.plan("--delete")
    assert (
        "rename company.team/load → company.data/load: company.team/load is deleted once "
        "company.data/load is created" in done.stdout
    ), done.stdout
    applied = project.run("apply", "--delete", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert live_flows(emulator, "company.team") == ["nightly"]
    assert live_flows(emulator, "company.data") == ["load"]
    assert recorded(emulator) == head
    again = project.plan("--delete")
    assert "No changes: the server matches git." in again.stdout, again.stdout


def test_a_renamed_namespace_folder_moves_with_delete_alone_and_a_saved_plan(tmp_path, emulator):
    project = deployed(
        tmp_path,
        emulator,
        flow("signup", ns="company.marketing"),
        flow("newsletter", ns="company.marketing"),
    )
    gitrepo.move(
        tmp_path,
        "flows/company.marketing",
        "flows/company.growth",
        ("company.marketing", "company.growth"),
    )
    head = gitrepo.commit_all(tmp_path, "company.marketing is now company.growth")

    saved = project.plan("--delete", "--out", "plan.json")  # no --namespace, no --allow-empty
    assert saved.returncode == 0, saved.stdout + saved.stderr
    for name in ("newsletter", "signup"):
        assert (
            f"rename company.marketing/{name} → company.growth/{name}: "
            f"company.marketing/{name} is deleted once company.growth/{name} is created"
        ) in saved.stdout, saved.stdout
    assert "Plan: 2 to create, 0 to update, 2 to delete, 0 unchanged." in saved.stdout
    assert "Not in git" not in saved.stdout  # the old namespace is the renames', not a leftover
    shown = project.run("show", "plan.json")  # the saved plan carries its renames
    assert "rename company.marketing/signup → company.growth/signup" in shown.stdout, shown.stdout

    emulator.stats.reset()
    applied = project.run("apply", "plan.json", "--auto-approve")  # every guard re-checked
    assert applied.returncode == 0, applied.stdout + applied.stderr
    log = emulator.stats.recent()
    creates = [i for i, entry in enumerate(log) if entry == CREATE]
    deletes = [i for i, entry in enumerate(log) if entry.startswith("DELETE /api/v1/main/flows/")]
    assert len(creates) == 2 and len(deletes) == 2 and max(creates) < min(deletes), log
    assert live_flows(emulator, "company.marketing") == []
    assert live_flows(emulator, "company.growth") == ["newsletter", "signup"]
    assert recorded(emulator) == head

    again = project.plan("--delete")
    assert "No changes: the server matches git." in again.stdout, again.stdout


TEMPLATE = """tasks:
  - id: extract
    type: io.kestra.plugin.scripts.python.Script
    containerImage: python:3.12-slim
    script: |
      import requests
      print("extract")
  - id: load
    type: io.kestra.plugin.core.log.Log
    message: {sql}
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "{cron}"
"""


def test_a_new_flow_from_the_same_template_is_not_a_rename_of_a_removed_one(tmp_path, emulator):
    # Git pairs a removed file with an added one at least half the same: two unrelated flows
    # built from one template (a blueprint) are. Taking that as a rename would delete the old
    # namespace's flow with --delete alone (no --namespace, no --allow-empty-namespace, not
    # counted by --max-deletes). A rename keeps its id or its namespace; this one keeps neither.
    report = "id: report\nnamespace: company.legacy\n" + TEMPLATE.format(
        sql="select 1", cron="0 9 * * *"
    )
    project = deployed(tmp_path, emulator, report)
    gitrepo.git(tmp_path, "rm", "-q", "-r", "flows/company.legacy")
    project.write(
        "id: signup\nnamespace: company.growth\n"
        + TEMPLATE.format(sql="select count(*) from signups", cron="0 10 * * *")
    )
    gitrepo.commit_all(tmp_path, "retire the legacy report; a signup job")
    moved = gitrepo.git(tmp_path, "diff", "-M50%", "--summary", "HEAD~1", "HEAD")
    assert "rename flows/{company.legacy/report.yml => company.growth/signup.yml}" in moved

    done = project.plan("--delete")
    assert done.returncode == 0, done.stderr
    assert "rename company.legacy/report" not in done.stdout, done.stdout
    assert "Plan: 1 to create, 0 to update, 0 to delete" in done.stdout, done.stdout
    applied = project.run("apply", "--delete", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert live_flows(emulator, "company.legacy") == ["report"]  # its namespace's guards apply


def test_a_failed_apply_does_not_move_the_recorded_commit(tmp_path, emulator):
    project = deployed(tmp_path, emulator, flow("load"))
    before = recorded(emulator)
    gitrepo.move(
        tmp_path, "flows/company.team/load.yml", "flows/company.team/ingest.yml", ("load", "ingest")
    )
    gitrepo.commit_all(tmp_path, "rename")
    emulator.faults.add("POST", r"/api/v1/main/flows$", status=500, count=10)
    failed = project.run("apply", "--delete", "--auto-approve")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert recorded(emulator) == before
    assert live_flows(emulator, "company.team") == ["load"]  # no delete after a failed write
    emulator.faults.clear()
    retried = project.plan("--delete")  # still diffed from the last good deploy
    assert "rename company.team/load → company.team/ingest" in retried.stdout, retried.stdout


def test_without_the_history_the_plan_says_why_and_plans_as_before(tmp_path, emulator):
    """A shallow clone (GitHub Actions' default) cannot show the deployed commit."""
    origin = tmp_path / "origin"
    origin.mkdir()
    deployed(origin, emulator, flow("load"))
    gitrepo.move(
        origin, "flows/company.team/load.yml", "flows/company.team/ingest.yml", ("load", "ingest")
    )
    gitrepo.commit_all(origin, "rename")
    clone = tmp_path / "clone"
    gitrepo.git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    done = Project(clone, emulator).plan("--delete")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "renames are not recognised: the deployed commit" in done.stderr, done.stderr
    assert "set `fetch-depth: 0` on actions/checkout" in done.stderr
    assert "Plan: 1 to create, 0 to update, 1 to delete" in done.stdout  # as without renames
    assert "rename" not in done.stdout


def test_a_recorded_value_that_is_not_a_commit_id_is_said_and_never_handed_to_git(
    tmp_path, emulator
):
    # The KV pair is writable by anyone with KV rights: "HEAD~1" would be read by git as a
    # revision (renames from whatever it names), "--output=..." as an option.
    project = deployed(tmp_path, emulator, flow("load"))
    gitrepo.move(
        tmp_path, "flows/company.team/load.yml", "flows/company.team/ingest.yml", ("load", "ingest")
    )
    gitrepo.commit_all(tmp_path, "rename")
    for value in ("HEAD~1", "--output=x", "main"):
        with client(emulator) as c:
            c.put_kv(STATE, KEY, value)
        done = project.plan("--delete")
        assert done.returncode == 0, done.stderr
        assert (
            f"renames are not recognised: the value of KV {STATE}/{KEY} is not a commit id"
            in done.stderr
        ), done.stderr
        assert "rename company.team/load" not in done.stdout


def test_outside_git_or_before_the_first_apply_the_plan_says_so(tmp_path, emulator):
    project = Project(tmp_path, emulator)
    project.config(f"directory: flows\nstate_namespace: {STATE}\n")
    project.write(flow("load"))
    done = project.plan()
    assert done.returncode == 0, done.stderr
    assert "renames are not recognised: not in a git repository" in done.stderr, done.stderr

    gitrepo.init(tmp_path)
    gitrepo.commit_all(tmp_path, "first")
    done = project.plan()
    assert f"no deployed commit is recorded in KV {STATE}/{KEY} yet" in done.stderr, done.stderr
    assert project.run("apply", "--auto-approve").returncode == 0
    assert "Recorded the deployed commit" in project.run("apply", "--auto-approve").stderr


def test_a_managed_kv_yml_in_the_state_namespace_never_deletes_the_record(tmp_path, emulator):
    state = tmp_path / "flows" / STATE
    state.mkdir(parents=True)
    (state / "kv.yml").write_text("managed: true\nvalues:\n  owner: data\n", encoding="utf-8")
    project = deployed(tmp_path, emulator, flow("load"))
    head = recorded(emulator)

    done = project.plan("--delete")
    assert done.returncode == 0, done.stderr
    assert "- kv" not in done.stdout, done.stdout
    kept = line_with(done.stdout, "? kv kestra_sync_deployed_commit")
    assert "keep" in kept
    assert "kestra-sync's record of the deployed commit (state_namespace)" in done.stdout
    saved = project.plan("--delete", "--out", "plan.json")
    assert saved.returncode == 0, saved.stderr
    applied = project.run("apply", "plan.json", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert recorded(emulator) == head


def test_a_record_the_server_refuses_is_a_warning_and_the_apply_still_succeeds(tmp_path, emulator):
    project = deployed(tmp_path, emulator, flow("load"))
    before = recorded(emulator)
    project.write(flow("load", message="changed"))
    gitrepo.commit_all(tmp_path, "edit")
    emulator.faults.add("PUT", rf"/namespaces/{STATE}/kv/", status=403)
    done = project.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"warning: could not record the deployed commit in KV {STATE}/{KEY}:" in done.stderr, (
        done.stderr
    )
    assert recorded(emulator) == before


def test_a_partial_plan_of_the_new_flow_leaves_the_old_one_and_says_so(tmp_path, emulator):
    project = deployed(tmp_path, emulator, flow("load"))
    gitrepo.move(
        tmp_path, "flows/company.team/load.yml", "flows/company.team/ingest.yml", ("load", "ingest")
    )
    gitrepo.commit_all(tmp_path, "rename")
    done = project.plan("--delete", "--target", "company.team/ingest")
    assert done.returncode == 0, done.stderr
    assert (
        "rename company.team/load → company.team/ingest: company.team/load is not in this "
        "partial plan, and stays" in done.stdout
    ), done.stdout
    assert "Plan: 1 to create, 0 to update, 0 to delete" in done.stdout
    both = project.plan(
        "--delete", "--target", "company.team/ingest", "--target", "company.team/load"
    )
    assert "company.team/load is deleted once company.team/ingest is created" in both.stdout


def test_a_partial_apply_of_the_old_flow_alone_does_not_delete_it_before_the_new_one_exists(
    tmp_path, emulator
):
    # A narrower run is never less safe: targeting the old name alone must not delete the
    # flow while its new name is not created (the full plan creates first).
    project = deployed(tmp_path, emulator, flow("load"))
    gitrepo.move(
        tmp_path, "flows/company.team/load.yml", "flows/company.team/ingest.yml", ("load", "ingest")
    )
    gitrepo.commit_all(tmp_path, "rename")
    done = project.run("apply", "--delete", "--auto-approve", "--target", "company.team/load")
    assert done.returncode == 0, done.stdout + done.stderr
    assert live_flows(emulator, "company.team") == ["load"]
    assert (
        "rename company.team/load → company.team/ingest: company.team/load is kept: "
        "company.team/ingest is not in this partial plan" in done.stdout
    ), done.stdout
    # Once the new flow exists, the old one alone may go: nothing is lost.
    assert project.run("apply", "--auto-approve", "--target", "company.team/ingest").returncode == 0
    done = project.run("apply", "--delete", "--auto-approve", "--target", "company.team/load")
    assert done.returncode == 0, done.stdout + done.stderr
    assert live_flows(emulator, "company.team") == ["ingest"]


def test_environments_sharing_a_server_keep_their_own_record_and_map_the_old_name(
    tmp_path, emulator
):
    project = Project(tmp_path, emulator)
    project.config(
        f"""directory: flows
state_namespace: {STATE}
default_env: prod
environments:
  staging:
    url: {emulator.url}
    namespace_map: {{company: staging.company}}
  prod:
    url: {emulator.url}
"""
    )
    project.write(flow("load"))
    gitrepo.init(tmp_path)
    head = gitrepo.commit_all(tmp_path, "first deploy")
    for env in ("staging", "prod"):
        done = project.run("apply", "--env", env, "--auto-approve")
        assert done.returncode == 0, done.stdout + done.stderr
    with client(emulator) as c:
        assert c.get_kv(STATE, f"{KEY}_staging") == ("STRING", head)
        assert c.get_kv(STATE, f"{KEY}_prod") == ("STRING", head)
    gitrepo.move(
        tmp_path, "flows/company.team/load.yml", "flows/company.team/ingest.yml", ("load", "ingest")
    )
    gitrepo.commit_all(tmp_path, "rename")
    staged = project.plan("--env", "staging", "--delete")
    assert (
        "rename staging.company.team/load → staging.company.team/ingest: "
        "staging.company.team/load is deleted once staging.company.team/ingest is created"
    ) in staged.stdout, staged.stdout
    assert project.run("apply", "--env", "staging", "--delete", "--auto-approve").returncode == 0
    # prod's record did not move: its plan still shows its own rename
    prod = project.plan("--env", "prod", "--delete")
    assert "rename company.team/load → company.team/ingest" in prod.stdout, prod.stdout
    assert live_flows(emulator, "staging.company.team") == ["ingest"]


def test_the_ownership_label_guards_a_renames_delete_too(tmp_path, emulator):
    labelled = "id: {id}\nnamespace: company.team\nlabels:\n  managed-by: git\n" + (
        "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    project = Project(tmp_path, emulator)
    project.config(f"directory: flows\nstate_namespace: {STATE}\nownership_label: managed-by=git\n")
    project.write(labelled.format(id="load"))
    project.write(labelled.format(id="other"))
    gitrepo.init(tmp_path)
    gitrepo.commit_all(tmp_path, "first deploy")
    assert project.run("apply", "--auto-approve").returncode == 0
    # someone took the flow over in the UI: it no longer carries the label
    edit_on_server(emulator, "company.team", "load", "labels:\n  managed-by: git\n", "")
    gitrepo.move(
        tmp_path, "flows/company.team/load.yml", "flows/company.team/ingest.yml", ("load", "ingest")
    )
    gitrepo.commit_all(tmp_path, "rename")
    done = project.plan("--delete")
    assert done.returncode == 0, done.stderr
    assert (
        "rename company.team/load → company.team/ingest: company.team/load is kept: it does not "
        "carry the ownership label managed-by=git" in done.stdout
    ), done.stdout
