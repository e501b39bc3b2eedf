"""Dashboards in git (kinds/dashboards.py): the folder, the offline checks against Kestra's
model, the version they need, and the flow scan leaving the folder alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kestra_sync.errors import ConfigError
from kestra_sync.kinds import KINDS
from kestra_sync.kinds.dashboards import Dashboards
from kestra_sync.models import FlowRef
from kestra_sync.planning.targeting import is_targeted, parse_targets, target_of
from kestra_sync.rules.validate import check_project
from kestra_sync.settings.config import Settings, load_settings

TS = "io.kestra.plugin.core.dashboard.chart.TimeSeries"
FLOW = "id: etl\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def board(did: str = "ops", charts: str = f"  - id: c1\n    type: {TS}\n") -> str:
    return f"id: {did}\ntitle: Operations\ncharts:\n{charts}"


def repo(tmp_path: Path, boards: dict[str, str], folder: str = "_dashboards") -> Settings:
    flows = tmp_path / "flows"
    (flows / "company" / "team").mkdir(parents=True)
    (flows / "company" / "team" / "etl.yml").write_text(FLOW, encoding="utf-8")
    (flows / folder).mkdir()
    for name, text in boards.items():
        (flows / folder / name).write_text(text, encoding="utf-8")
    return Settings(directory=flows, dashboards_dir=folder)


def messages(settings: Settings) -> list[str]:
    return [f"{d.severity}: {d.message}" for d in Dashboards().scan(settings).diagnostics]


def test_a_dashboard_is_read_as_its_exact_source_with_the_tenant_as_scope(tmp_path):
    text = board() + "# a comment\r\n"
    scan = Dashboards().scan(repo(tmp_path, {"ops.yml": text}))
    (item,) = scan.items
    assert item.ref == FlowRef("main", "", "ops", "dashboard")
    assert item.payload == text
    assert scan.namespaces == {("main", "")}
    assert str(item.ref) == "dashboard ops"


def test_an_empty_folder_still_puts_the_tenant_in_scope_and_no_folder_does_not(tmp_path):
    assert Dashboards().scan(repo(tmp_path / "a", {})).namespaces == {("main", "")}
    settings = repo(tmp_path / "b", {})
    (settings.directory / "_dashboards").rmdir()
    assert Dashboards().scan(settings).namespaces == set()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("title: T\n", "the dashboard has no `id`"),
        ("id: ops\n", "the dashboard has no `title`"),
        ("id: 'a b'\ntitle: T\n", "dashboard id 'a b': kestra-sync needs letters"),
        ("{id: ops, title: T}\n", "write the id as a plain top-level `id: ...` line"),
        (board(charts="  - id: c1\n    type: x\n  - id: c1\n    type: x\n"), "must be a full"),
        (
            board(charts=f"  - id: c1\n    type: {TS}\n  - id: c1\n    type: {TS}\n"),
            "chart id 'c1' is used twice (first at charts[0])",
        ),
        (board(charts=f"  - id: _c\n    type: {TS}\n"), "the chart id '_c' must be letters"),
        (
            board(charts="  - id: c\n    type: io.kestra.plugin.core.dashboard.chart.Gauge\n"),
            "Kestra has no chart type 'io.kestra.plugin.core.dashboard.chart.Gauge'",
        ),
        (board(charts="  - id: c\n"), "charts[0] has no `type`"),
        ("id: ops\nid: ops\ntitle: T\n", "invalid YAML"),
        ("title: T\nid: 12\n", "the dashboard's `id` must be text, not int 12: quote it"),
        ("id: a\ntitle: A\n---\nid: b\ntitle: B\n", "put one dashboard per file"),
    ],
)
def test_what_kestra_would_refuse_is_an_error_before_any_request(tmp_path, text, expected):
    settings = repo(tmp_path, {"d.yml": text})
    errors = [m for m in messages(settings) if m.startswith("error")]
    assert any(expected in m for m in errors), errors
    assert Dashboards().scan(settings).items == []


def test_a_plugin_chart_and_an_unknown_key_are_warnings_and_the_dashboard_is_kept(tmp_path):
    text = board(charts="  - id: c\n    type: com.acme.Gauge\n") + "colour: red\n"
    settings = repo(tmp_path, {"d.yml": text})
    found = messages(settings)
    assert not any(m.startswith("error") for m in found), found
    assert any("com.acme.Gauge is not one of Kestra's core charts" in m for m in found)
    assert any("`colour` is not a dashboard key" in m for m in found)
    assert len(Dashboards().scan(settings).items) == 1


def test_one_id_in_two_files_is_an_error(tmp_path):
    settings = repo(tmp_path, {"a.yml": board(), "b.yml": board()})
    assert any("dashboard id 'ops' is also declared in" in m for m in messages(settings))


def test_the_flow_scan_never_reads_the_folder_and_a_pinned_0_22_refuses_dashboards(tmp_path):
    settings = repo(tmp_path, {"ops.yml": board()})
    check = check_project(settings, version="2.0", kinds=list(KINDS.values()))
    assert check.ok, [d.message for d in check.diagnostics]
    assert [f.id for f in check.flows] == ["etl"]
    old = check_project(settings, version="0.22", kinds=list(KINDS.values()))
    refused = [d.message for d in old.diagnostics if d.is_error]
    assert len(refused) == 1 and "dashboards need Kestra 1.0 or later" in refused[0]


def test_a_configured_folder_is_the_one_read(tmp_path):
    settings = repo(tmp_path, {"ops.yml": board()}, folder="_boards")
    assert [i.ref.id for i in Dashboards().scan(settings).items] == ["ops"]
    assert [f.id for f in check_project(settings).flows] == ["etl"]


@pytest.mark.parametrize("value", ["boards", "_a/b", " _x"])
def test_dashboards_dir_must_be_one_folder_name_starting_with_underscore(tmp_path, value):
    (tmp_path / "kestra-sync.yml").write_text(f"dashboards_dir: '{value}'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="dashboards_dir must be one folder name"):
        load_settings(env={}, config_file=tmp_path / "kestra-sync.yml", cwd=tmp_path)


def test_target_dashboard_id_names_only_that_dashboard():
    ref = FlowRef("main", "", "ops", "dashboard")
    assert parse_targets(["dashboard:ops"]) == ["dashboard:ops"]
    assert target_of(ref) == "dashboard:ops"
    assert is_targeted(ref, ["dashboard:ops"])
    assert not is_targeted(ref, ["dashboard:other", "company.team/*"])


def test_a_fifo_in_the_folder_is_an_error_not_a_dashboard_to_delete(tmp_path):
    settings = repo(tmp_path, {"ops.yml": board()})
    os.mkfifo(settings.directory / "_dashboards" / "pipe.yml")
    found = messages(settings)
    assert any(m.startswith("error") and "its dashboard is unknown" in m for m in found), found


def test_the_drift_report_names_a_dashboard_by_its_id_and_kind():
    from kestra_sync.action.render_drift import drift_body

    item = {
        "kind": "dashboard",
        "tenant": "main",
        "namespace": "",
        "id": "ops",
        "path": "flows/_dashboards/ops.yml",
        "written": True,
        "note": "",
        "diff": "",
    }
    document = {"items": [item], "branch": "kestra-sync/drift", "missing": 0, "server_only": 0}
    body = drift_body(document, "<!-- m -->", "pull-request", "", "")
    assert "| dashboard | `ops` | `flows/_dashboards/ops.yml` |  |" in body


def test_a_dashboards_folder_linked_outside_the_flow_directory_is_never_read(tmp_path):
    # .kestraignore does not apply to the folder: ignoring the link must not let the scan
    # read (and deploy) dashboards from outside the directory the user named.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "o.yml").write_text(board("elsewhere"), encoding="utf-8")
    settings = repo(tmp_path, {})
    (settings.directory / "_dashboards").rmdir()
    (settings.directory / "_dashboards").symlink_to(outside)
    (settings.directory / ".kestraignore").write_text("/_dashboards\n", encoding="utf-8")
    scan = Dashboards().scan(settings)
    assert scan.items == [] and scan.namespaces == set()
    (problem,) = [d for d in scan.diagnostics if d.is_error]
    assert problem.path.endswith("_dashboards")
    assert "outside the flow directory" in problem.message
    assert ".kestraignore" not in problem.message  # it would not help here


def test_a_link_in_the_folder_leading_outside_says_to_move_the_dashboard(tmp_path):
    outside = tmp_path / "o.yml"
    outside.write_text(board("elsewhere"), encoding="utf-8")
    settings = repo(tmp_path, {"ops.yml": board()})
    (settings.directory / "_dashboards" / "o.yml").symlink_to(outside)
    scan = Dashboards().scan(settings)
    assert [i.ref.id for i in scan.items] == ["ops"]
    (problem,) = [d for d in scan.diagnostics if d.is_error]
    assert problem.path.endswith("o.yml") and "move the dashboards inside it" in problem.message


def test_a_file_that_is_not_utf8_is_an_error_naming_its_line(tmp_path):
    settings = repo(tmp_path, {})
    (settings.directory / "_dashboards" / "bin.yml").write_bytes(b"id: x\ntitle: \xff\n")
    (problem,) = [d for d in Dashboards().scan(settings).diagnostics if d.is_error]
    assert problem.line == 2
    assert "not valid UTF-8 (byte 0xff at offset 13)" in problem.message


def test_a_file_too_large_for_kestras_yaml_reader_is_refused_unread(tmp_path):
    settings = repo(tmp_path, {})
    huge = settings.directory / "_dashboards" / "huge.yml"
    with huge.open("wb") as out:  # sparse: 13 MB on paper, nothing on disk
        out.truncate(13 * 1024 * 1024)
    (problem,) = [d for d in Dashboards().scan(settings).diagnostics if d.is_error]
    assert problem.path.endswith("huge.yml")
    assert "too large (13,631,488 bytes)" in problem.message


class _Unlistable:
    """A client whose dashboards listing fails (the server is up: other reads work)."""

    tenant = "main"

    def with_tenant(self, tenant):
        return self

    def tenant_dashboards(self):
        from kestra_sync.errors import ServerError

        raise ServerError("HTTP 500", status=500, method="GET", path="/api/v1/main/dashboards")


def test_a_delete_whose_listing_fails_again_says_which_tenant_not_an_empty_namespace():
    from kestra_sync.applying.deleteguard import _changed_resources
    from kestra_sync.kinds import read_listings
    from kestra_sync.planning.plan import DELETE, Change, Plan
    from kestra_sync.planning.resourceplan import resource_drift

    ref = FlowRef("main", "", "made-in-ui", "dashboard")
    plan = Plan(changes=[Change(DELETE, ref)], kind_scopes=[("dashboard", "main", "", True)])
    blocked = _changed_resources(plan, plan.changes, _Unlistable(), 1)
    assert blocked[ref].startswith("not attempted: could not list tenant main again before")
    (listing,) = read_listings(_Unlistable(), plan.kind_scopes)
    (drift,) = resource_drift(plan, [listing])
    assert drift.startswith("could not read the dashboards of tenant main: HTTP 500")


class _Recorder:
    tenant = "main"

    def __init__(self):
        self.sent: list[str] = []

    def create_dashboard(self, source):
        self.sent.append(source)

    def update_dashboard(self, dashboard_id, source):
        self.sent.append(source)


@pytest.mark.parametrize("action", ["create", "update"])
def test_a_change_whose_yaml_names_another_id_is_never_sent(action):
    # A saved plan edited by hand (payload, digest and checksum recomputed) that reads
    # "create dashboard ops" but carries the YAML of another id would create that one.
    from kestra_sync.errors import PlanError
    from kestra_sync.planning.plan import Change

    ref = FlowRef("main", "", "ops", "dashboard")
    recorder = _Recorder()
    with pytest.raises(PlanError, match="its YAML names the id 'other'"):
        Dashboards().write(recorder, Change(action, ref, payload=board("other")))
    assert recorder.sent == []
    Dashboards().write(recorder, Change(action, ref, payload=board("ops")))
    assert recorder.sent == [board("ops")]


def test_a_dashboard_target_matching_nothing_asks_to_check_the_id_not_a_namespace():
    from kestra_sync.planning.plan import Plan
    from kestra_sync.planning.targeting import keep_targeted
    from kestra_sync.report.plantext import partial_plan_note

    plan = Plan(changes=[])
    keep_targeted(plan, ["dashboard:opps"], listings_failed=False)
    assert plan.errors == [
        "--target dashboard:opps matches no dashboard in git or on the server; check the id"
    ]
    flows = Plan(changes=[])
    keep_targeted(flows, ["company.team/nope"], listings_failed=False)
    assert flows.errors[0].endswith("check the namespace and id")
    # A partial plan of a dashboard does not speak of "other flows" only.
    assert "nothing else was compared or will be changed" in partial_plan_note(["dashboard:x"])


def test_a_byte_order_mark_is_named_not_reported_as_a_missing_id_line(tmp_path):
    settings = repo(tmp_path, {})
    (settings.directory / "_dashboards" / "bom.yml").write_bytes(b"\xef\xbb\xbf" + board().encode())
    (problem,) = [d for d in Dashboards().scan(settings).diagnostics if d.is_error]
    assert problem.line == 1 and "byte order mark" in problem.message


def test_pull_refuses_a_second_id_whose_file_differs_only_in_case(tmp_path):
    # On macOS and Windows `Ops.yml` and `ops.yml` are one file: the second dashboard
    # written would replace the first, and a plan --delete after the pull would delete it.
    from kestra_sync.kinds.dashboards import dashboard_targets

    folder = tmp_path / "_dashboards"
    sources = {"Ops": board("Ops"), "ops": board("ops"), "sales": board("sales")}
    targets, refused = dashboard_targets(sources, folder, tmp_path, {})
    assert sorted(targets) == ["Ops", "sales"]
    assert refused == [
        "dashboard ops: its file ops.yml differs only in case from that of 'Ops'; rename one "
        "of them on the server, then pull again"
    ]
    # A file git already has for one of them counts too.
    existing = {"ops": str(folder / "ops.yml")}
    targets, refused = dashboard_targets(sources, folder, tmp_path, existing)
    assert sorted(targets) == ["ops", "sales"] and len(refused) == 1
