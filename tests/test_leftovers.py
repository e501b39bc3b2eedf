"""The command a plan prints to remove namespaces that left git works as printed: the flags
every guard needs, the tenant and environment it was made with, names quoted for a shell."""

from __future__ import annotations

import shlex
from pathlib import Path

from kestra_sync.kinds.base import LocalScan
from kestra_sync.models import LocalFlow
from kestra_sync.planning.leftovers import repository_roots, retire_command
from kestra_sync.planning.plan import Plan
from kestra_sync.report.markdown import render_plan_markdown
from kestra_sync.report.plantext import render_plan


def test_the_command_names_each_namespace_and_the_guards_it_needs():
    assert retire_command(["a.x", "a.y"], "main", environment=None, many_tenants=False) == (
        "kestra-sync plan --delete --namespace a.x --namespace a.y --allow-empty-namespace"
    )


def test_the_command_keeps_the_environment_and_the_tenant():
    command = retire_command(["a.x"], "prod", environment="prod-eu", many_tenants=False)
    assert command == (
        "kestra-sync plan --env prod-eu --tenant prod --delete --namespace a.x "
        "--allow-empty-namespace"
    )
    # With several tenants, even main is named: the command must not reach another tenant's
    # namespace of the same name.
    assert "--tenant main" in retire_command(["a"], "main", environment=None, many_tenants=True)


def test_a_name_from_the_server_is_one_shell_word():
    hostile = "a.b; rm -rf ~"
    words = shlex.split(retire_command([hostile], "main", environment=None, many_tenants=False))
    assert words[words.index("--namespace") + 1] == hostile


def test_roots_are_the_first_segments_of_what_git_holds_or_manages():
    local = [LocalFlow(Path("a.yml"), "", None, "company.growth", "a")]
    scans = {"kv": LocalScan(namespaces={("main", "data.lake")})}
    roots = repository_roots(local, scans, {"main": ["ops"], "prod": ["company.x"]})
    assert roots == {"main": {"company", "data", "ops"}, "prod": {"company"}}


def test_text_and_markdown_show_the_command():
    plan = Plan(
        changes=[],
        other_namespaces={"main": ["company.marketing"]},
        retire_commands={"main": "kestra-sync plan --delete --namespace company.marketing"},
    )
    text = render_plan(plan)
    assert "  To remove it: kestra-sync plan --delete --namespace company.marketing\n" in text
    markdown = render_plan_markdown(plan)
    assert "To remove it: `kestra-sync plan --delete --namespace company.marketing`" in markdown
