"""A namespace that left git is named (issue 11 item 3, issue 22 item 5): every plan, with or
without --delete, lists the server's namespaces with one request per tenant and names those
under the repository's roots that git has no folder for, with the command that removes them;
that command removes their flows, namespace files and KV pairs, under the usual guards."""

from __future__ import annotations

import shlex

from tests.support.project import Project, client, flow, seed

DISTINCT = "/api/v1/{tenant}/flows/distinct-namespaces"
COMMAND = "kestra-sync plan --delete --namespace company.marketing --allow-empty-namespace"


def renamed(tmp_path, emulator) -> Project:
    """`company.marketing` was deployed (two flows, a file, a KV pair), then renamed to
    `company.growth` in git. `other.team` and `system` are not this repository's."""
    seed(
        emulator,
        flow("signup", ns="company.marketing"),
        flow("newsletter", ns="company.marketing"),
        flow("audit", ns="system"),
    )
    with client(emulator) as c:
        c.put_namespace_file("company.marketing", "/sql/leads.sql", b"select 1\n")
        c.put_kv("company.marketing", "campaign", "spring", None)
    project = Project(tmp_path, emulator)
    project.write(flow("signup", ns="company.growth"))
    project.write(flow("newsletter", ns="company.growth"))
    return project


def left_on_server(emulator) -> tuple[list[str], list[str], list[str]]:
    with client(emulator) as c:
        flows = sorted(f.id for f in c.namespace_flows("company.marketing"))
        files = sorted(c.export_namespace_files("company.marketing"))
        keys = sorted(k["key"] for k in c.list_kv("company.marketing"))
    return flows, files, keys


def test_a_renamed_namespace_is_named_without_delete_and_its_command_removes_it(tmp_path, emulator):
    project = renamed(tmp_path, emulator)

    done = project.plan()  # the default plan, no --delete
    assert done.returncode == 0, done.stderr
    assert "2 to create" in done.stdout
    assert (
        "Not in git: 1 namespace with flows on the server that git has no folder for, not read "
        "or changed: company.marketing." in done.stdout
    )
    assert f"  To remove it: {COMMAND}\n" in done.stdout
    assert "system" not in done.stdout  # another root: not this repository's
    assert emulator.stats.count("GET", DISTINCT) == 1

    data = project.plan_json()
    assert data["other_namespaces"] == {"main": ["company.marketing"]}
    assert data["retire_commands"] == {"main": COMMAND}
    markdown = project.plan("--format", "markdown").stdout  # the Action's summary and comment
    assert "company.marketing" in markdown and "To remove it" in markdown

    # Apply the rename, then run the printed command: flows, file and KV pair go, under the
    # guards (the plan shows them as deletes), and nothing else.
    assert project.run("apply", "--auto-approve").returncode == 0
    words = shlex.split(COMMAND)[1:]
    retire = project.run(*words)
    assert retire.returncode == 0, retire.stderr
    for shown in ("- signup", "- newsletter", "- file /sql/leads.sql", "- kv campaign"):
        assert shown in retire.stdout, retire.stdout
    saved = project.run(*words, "--out", "retire.json")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    applied = project.run("apply", "retire.json", "--auto-approve")  # every guard re-checked
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert left_on_server(emulator) == ([], [], [])

    again = project.plan()
    assert "No changes: the server matches git." in again.stdout, again.stdout
    assert "Not in git" not in again.stdout


def test_without_allow_empty_namespace_nothing_of_it_is_deleted(tmp_path, emulator):
    """The empty-namespace guard covers the files and KV pairs of a retired namespace too."""
    project = renamed(tmp_path, emulator)
    done = project.run("apply", "--delete", "--namespace", "company.marketing", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert left_on_server(emulator) == (
        ["newsletter", "signup"],
        ["/sql/leads.sql"],
        ["campaign"],
    )


def test_a_refused_namespace_listing_is_one_warning_and_the_plan_still_works(tmp_path, emulator):
    project = renamed(tmp_path, emulator)
    emulator.faults.add("GET", r"/flows/distinct-namespaces$", status=403)
    done = project.plan()
    assert done.returncode == 0, done.stderr
    assert "2 to create" in done.stdout
    warnings = [
        x for x in done.stderr.splitlines() if "could not list the server's namespaces" in x
    ]
    assert len(warnings) == 1, done.stderr
    assert "Not in git" not in done.stdout


def test_a_namespace_git_holds_only_files_for_is_not_named(tmp_path, emulator):
    """A folder with only `_files` is git's namespace: its UI-made flows are not leftovers."""
    seed(emulator, flow("made_in_ui", ns="company.shared"))
    project = Project(tmp_path, emulator)
    project.write(flow("a"))
    shared = tmp_path / "flows" / "company.shared" / "_files"
    shared.mkdir(parents=True)
    (shared / "x.txt").write_text("x\n", encoding="utf-8")
    done = project.plan()
    assert done.returncode == 0, done.stderr
    assert "Not in git" not in done.stdout
