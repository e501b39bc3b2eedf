"""Renderers: what a reviewer reads in a terminal, a PR comment, and the JSON contract."""

import json

import pytest

from kestra_sync.applying.apply import DONE, FAILED, ApplyResult, Outcome
from kestra_sync.errors import InputError
from kestra_sync.models import FlowRef
from kestra_sync.planning.plan import (
    CREATE,
    DELETE,
    UNCHANGED,
    UNMANAGED,
    UPDATE,
    Change,
    Plan,
    Scope,
)
from kestra_sync.report.applytext import render_apply
from kestra_sync.report.markdown import MAX_CHARS, render_plan_markdown
from kestra_sync.report.planfile import content_checksum, dumps, load_plan_file, plan_to_dict
from kestra_sync.report.plantext import render_plan


def ref(flow_id, ns="company.team", tenant="main"):
    return FlowRef(tenant, ns, flow_id)


def sample_plan():
    return Plan(
        [
            Change(CREATE, ref("new"), path="flows/new.yml", source="id: new\n"),
            Change(
                UPDATE,
                ref("etl"),
                path="flows/etl.yml",
                source="id: etl\n",
                server_revision=4,
                diff="--- server\n+++ local\n@@ -1 +1 @@\n-a: 1\n+a: 2",
                summary=["task load changed (uri)"],
            ),
            Change(DELETE, ref("old"), server_revision=2),
            Change(
                UNCHANGED,
                ref("same"),
                path="flows/same.yml",
                source="id: same\n",
                server_revision=9,
            ),
            Change(UNMANAGED, ref("ui"), server_revision=1, note="not managed by git"),
        ],
        scopes=[Scope("main", "company.team")],
    )


def test_text_plan_lists_changes_hides_unchanged_and_counts_everything():
    text = render_plan(sample_plan())
    assert "+ new" in text and "~ etl" in text and "- old" in text and "? ui" in text
    assert "same" not in text
    assert "task load changed (uri)" in text and "+a: 2" in text
    assert text.strip().endswith(
        "Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged, 1 on the server but not in git."
    )
    assert "\x1b[" not in text  # no colour unless asked
    assert "\x1b[" in render_plan(sample_plan(), color=True)


def test_text_plan_groups_by_tenant_when_several():
    plan = Plan([Change(CREATE, ref("a")), Change(CREATE, ref("a", tenant="acme"))])
    text = render_plan(plan)
    assert text.index("tenant acme") < text.index("tenant main")


def test_markdown_plan_has_a_table_row_per_change_and_folds_diffs():
    md = render_plan_markdown(sample_plan(), marker="<!-- kestra-sync -->")
    assert md.startswith("<!-- kestra-sync -->\n### kestra-sync plan")
    assert "| ✏️ | flow | `company.team/etl` | update (r4) |" in md
    assert "<details><summary>diff <code>company.team/etl</code>" in md
    assert "`company.team/same`" not in md


def test_markdown_stays_under_the_comment_limit():
    big = "\n".join(f"+line {i}" for i in range(3000))
    changes = [Change(UPDATE, ref(f"f{i}"), server_revision=1, diff=big) for i in range(10)]
    md = render_plan_markdown(Plan(changes))
    assert len(md) < MAX_CHARS + 2000
    assert "omitted to fit the comment size limit" in md
    assert md.count("| ✏️ |") == 10  # the table is always complete


META = {
    "created_at": "2026-01-01T00:00:00Z",
    "server": "http://h:1",
    "git": None,
    "options": {
        "delete": True,
        "allow_empty_namespace": False,
        "max_deletes": 10,
        "include_children": False,
        "tenants": {"main": {"namespaces": [], "allow_empty_namespace": False}},
    },
}


def test_json_plan_shape_is_stable_and_round_trips_through_a_saved_file(tmp_path):
    data = plan_to_dict(sample_plan(), META, include_sources=True)
    assert data["format_version"] == 2
    assert data["summary"] == {
        "create": 1,
        "update": 1,
        "delete": 1,
        "unchanged": 1,
        "unmanaged": 1,
    }
    assert [c["id"] for c in data["changes"]] == ["etl", "new", "old", "same", "ui"]
    path = tmp_path / "plan.json"
    path.write_text(dumps(data))
    plan, loaded = load_plan_file(path)
    assert loaded["server"] == "http://h:1"
    assert {c.ref.id: c.server_revision for c in plan.changes}["etl"] == 4
    assert plan.counts() == sample_plan().counts()


def test_stdout_json_plan_carries_no_sources_and_cannot_be_applied(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(dumps(plan_to_dict(sample_plan(), META)))
    with pytest.raises(InputError, match="only plans saved with --out can be applied"):
        load_plan_file(path)


@pytest.mark.parametrize(
    "content", ["not json", "[]", json.dumps({"format_version": 99}), "[" * 100_000]
)
def test_unreadable_plan_files_are_refused_with_the_file_name(tmp_path, content):
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(InputError, match="plan.json"):
        load_plan_file(path)


def saved(tmp_path, edit=None, *, reseal: bool):
    """A saved plan file, edited by ``edit(data)``; ``reseal`` recomputes its checksum (a
    script that rewrites the file) instead of leaving it stale (a hand edit)."""
    data = json.loads(dumps(plan_to_dict(sample_plan(), META, include_sources=True)))
    if edit:
        edit(data)
    if reseal:
        data["checksum"] = content_checksum(data)
    path = tmp_path / "plan.json"
    path.write_text(dumps(data))
    return path


def test_a_hand_edited_plan_file_is_refused_by_its_checksum_but_reindenting_is_fine(tmp_path):
    def to_delete(data):
        data["changes"][0]["action"] = "delete"

    with pytest.raises(InputError, match="changed after it was saved .its checksum"):
        load_plan_file(saved(tmp_path, to_delete, reseal=False))
    with pytest.raises(InputError, match="has no checksum"):
        load_plan_file(saved(tmp_path, lambda d: d.pop("checksum"), reseal=False))
    path = saved(tmp_path, reseal=False)
    path.write_text(json.dumps(json.loads(path.read_text()), indent=None))
    assert load_plan_file(path)[0].counts() == sample_plan().counts()


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: d.pop("server"), "server is missing"),
        (
            lambda d: d["options"].update(max_deletes="10"),
            "options.max_deletes must be an integer, not a string",
        ),
        (
            lambda d: d["options"].update(delete=1),
            "options.delete must be true or false, not an integer",
        ),
        (lambda d: d["changes"][0].update(tenant=7), r"changes\[0\].tenant must be a string"),
        (
            lambda d: d["changes"][1].update(server_revision=True),
            r"changes\[1\].server_revision must be an integer or null, not true or false",
        ),
        (lambda d: d.update(changes="none"), "changes must be a list"),
        (lambda d: d["scopes"].append("main"), r"scopes\[1\].tenant is missing"),
        (
            lambda d: d["options"]["tenants"].update(main=[]),
            "options.tenants.main.namespaces is missing",
        ),
    ],
)
def test_wrong_field_types_are_a_damaged_plan_file(tmp_path, edit, says):
    with pytest.raises(InputError, match="damaged plan file: " + says):
        load_plan_file(saved(tmp_path, edit, reseal=True))


def test_apply_report_lists_what_was_not_done():
    result = ApplyResult(
        [
            Outcome(Change(CREATE, ref("a")), DONE, "created", 1),
            Outcome(Change(UPDATE, ref("b")), FAILED, error="PUT ...: 500 Internal server error"),
            Outcome(
                Change(DELETE, ref("c")), error="not attempted: stopped after the first failure"
            ),
        ]
    )
    text = render_apply(result)
    assert text.startswith("Apply: 1 done, 1 failed, 1 not attempted.")
    assert "FAILED  update company.team/b: PUT ...: 500" in text
    assert "skipped delete company.team/c" in text
    assert "run the same command again" in text


def test_markdown_diff_fence_survives_fences_inside_the_flow():
    diff = "--- server\n+++ local\n@@ -1 +1 @@\n-description: x\n+```python\n+print(1)\n+```"
    md = render_plan_markdown(Plan([Change(UPDATE, ref("doc"), server_revision=1, diff=diff)]))
    assert "````diff\n" in md and "\n````\n" in md


def test_text_diff_keeps_tabs_and_shows_every_other_control_character():
    diff = "--- server\n+++ local\n@@ -1 +1 @@\n-\told\rX\n+\tnew\x1b[2J\u202e"
    text = render_plan(Plan([Change(UPDATE, ref("etl"), server_revision=1, diff=diff)]))
    assert "-\told\\rX" in text
    assert "+\tnew\\x1b[2J\\u202e" in text
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
