"""A namespace whose folder left git is named (issue 11 item 3): `plan --delete` lists the
server's namespaces with one request per tenant and names those it does not read, with the
command that would retire one, instead of saying the server matches git."""

from __future__ import annotations

from tests.support.project import Project, flow, seed


def test_plan_delete_names_a_namespace_removed_from_git(tmp_path, emulator):
    seed(
        emulator, flow("a"), flow("old1", ns="company.retired"), flow("old2", ns="company.retired")
    )
    project = Project(tmp_path, emulator)
    project.write(flow("a"))  # company.retired's folder was removed

    done = project.plan("--delete")
    assert done.returncode == 0, done.stderr
    assert "the server matches git" not in done.stdout
    assert (
        "Not in git and not managed, so not read or changed: 1 namespace with flows on the "
        "server: company.retired." in done.stdout
    )
    assert (
        "To retire one: kestra-sync plan --delete --namespace company.retired "
        "--allow-empty-namespace" in done.stdout
    )
    assert emulator.stats.count("GET", "/api/v1/{tenant}/flows/distinct-namespaces") == 1

    # The command it gives does what it says.
    retire = project.plan("--delete", "--namespace", "company.retired", "--allow-empty-namespace")
    assert "- old1" in retire.stdout and "- old2" in retire.stdout
    assert "Not in git and not managed" not in retire.stdout

    data = project.plan_json("--delete")
    assert data["other_namespaces"] == {"main": ["company.retired"]}
    markdown = project.plan("--delete", "--format", "markdown").stdout  # the PR comment too
    assert "company.retired" in markdown and "To retire one" in markdown


def test_without_delete_the_server_namespaces_are_not_listed(tmp_path, emulator):
    seed(emulator, flow("old1", ns="company.retired"))
    project = Project(tmp_path, emulator)
    project.write(flow("a"))
    done = project.plan()
    assert "Not in git" not in done.stdout
    assert emulator.stats.count("GET", "/api/v1/{tenant}/flows/distinct-namespaces") == 0
