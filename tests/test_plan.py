"""build_plan: what a reviewer is promised about create/update/delete/unchanged and deletion safety."""

from pathlib import Path

from kestra_sync.models import FlowRef, LocalFlow, RemoteFlow
from kestra_sync.planning.plan import (
    CREATE,
    DELETE,
    UNCHANGED,
    UNMANAGED,
    UPDATE,
    NamespaceListing,
    Scope,
    Snapshot,
    build_plan,
    find_drift,
    scopes_for,
)
from kestra_sync.planning.sameness import normalize_source
from kestra_sync.planning.semantic import summarize

HELLO = "id: hello\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"


def local(source: str, tenant: str = "main", path: str | None = None) -> LocalFlow:
    import yaml

    data = yaml.safe_load(source)
    return LocalFlow(
        path=Path(path or f"flows/{data['id']}.yml"),
        source=source,
        data=data,
        namespace=data["namespace"],
        id=data["id"],
        tenant=tenant,
    )


def remote(source: str, revision: int = 1, tenant: str = "main") -> RemoteFlow:
    import yaml

    data = yaml.safe_load(source)
    return RemoteFlow(data["namespace"], data["id"], revision, source=source, tenant=tenant)


def snap(*flows: RemoteFlow, namespace="company.team", tenant="main", children=False):
    return Snapshot([NamespaceListing(Scope(tenant, namespace, children), list(flows))])


def actions(plan):
    return {str(c.ref): c.action for c in plan.changes}


def test_new_flow_is_a_create():
    plan = build_plan([local(HELLO)], snap())
    assert actions(plan) == {"company.team/hello": CREATE}
    assert plan.has_changes
    assert plan.changes[0].source == HELLO


def test_identical_source_is_unchanged_and_records_the_server_revision():
    plan = build_plan([local(HELLO)], snap(remote(HELLO, revision=7)))
    change = plan.changes[0]
    assert change.action == UNCHANGED and change.server_revision == 7
    assert not plan.has_changes


def test_server_ignored_differences_are_unchanged():
    # CRLF, trailing spaces and a `revision:` line that the server injects are not changes.
    server = "revision: 3\n" + HELLO.replace("\n", "  \r\n")
    plan = build_plan([local(HELLO)], snap(remote(server, revision=3)))
    assert actions(plan) == {"company.team/hello": UNCHANGED}


def test_changed_task_is_an_update_with_diff_and_summary():
    changed = HELLO.replace("message: hi", "message: hello")
    plan = build_plan([local(changed)], snap(remote(HELLO, 2)), summarize=summarize)
    change = plan.changes[0]
    assert change.action == UPDATE
    assert "-    message: hi" in change.diff and "+    message: hello" in change.diff
    assert change.diff.startswith("--- server company.team/hello (revision 2)")
    assert change.summary == ["task log changed (message)"]
    assert change.formatting_only is False


def test_comment_only_change_is_an_update_marked_formatting_only():
    # Kestra stores the source verbatim, so a comment is a real change on the server.
    plan = build_plan([local("# owner: data\n" + HELLO)], snap(remote(HELLO)), summarize=summarize)
    change = plan.changes[0]
    assert change.action == UPDATE
    assert change.formatting_only is True
    assert change.summary == ["formatting or comments only"]


def test_server_only_flow_is_shown_unmanaged_when_delete_is_off():
    other = HELLO.replace("id: hello", "id: ui-made")
    plan = build_plan([local(HELLO)], snap(remote(HELLO), remote(other)))
    assert actions(plan)["company.team/ui-made"] == UNMANAGED
    assert "--delete" in next(c.note for c in plan.changes if c.action == UNMANAGED)
    assert not plan.has_changes


def test_server_only_flow_is_deleted_when_delete_is_on():
    other = HELLO.replace("id: hello", "id: old")
    plan = build_plan([local(HELLO)], snap(remote(HELLO), remote(other, 4)), delete=True)
    assert actions(plan)["company.team/old"] == DELETE
    assert plan.errors == []


def test_no_delete_in_a_namespace_with_no_flow_in_git_unless_allowed():
    stray = remote(HELLO.replace("company.team", "company.ops"))
    snapshot = Snapshot(
        [
            NamespaceListing(Scope("main", "company.team"), [remote(HELLO)]),
            NamespaceListing(Scope("main", "company.ops"), [stray]),
        ]
    )
    plan = build_plan([local(HELLO)], snapshot, delete=True)
    assert actions(plan)["company.ops/hello"] == UNMANAGED
    allowed = build_plan([local(HELLO)], snapshot, delete=True, allow_empty_namespace=True)
    assert actions(allowed)["company.ops/hello"] == DELETE


def test_failed_listing_plans_nothing_in_that_namespace_and_is_an_error():
    snapshot = Snapshot(
        [NamespaceListing(Scope("main", "company.team"), error="GET ...: 503 Service Unavailable")]
    )
    plan = build_plan([local(HELLO)], snapshot, delete=True)
    assert plan.changes == []
    assert "could not read namespace company.team" in plan.errors[0]
    assert "503" in plan.errors[0]


def test_more_deletes_than_the_limit_is_an_error():
    olds = [remote(HELLO.replace("id: hello", f"id: old{i}")) for i in range(3)]
    plan = build_plan([local(HELLO)], snap(remote(HELLO), *olds), delete=True, max_deletes=2)
    assert plan.counts()[DELETE] == 3
    assert "more than the limit of 2" in plan.errors[0]


def test_deleted_server_flows_are_ignored():
    gone = remote(HELLO.replace("id: hello", "id: gone"))
    gone.deleted = True
    plan = build_plan([local(HELLO)], snap(remote(HELLO), gone), delete=True)
    assert "company.team/gone" not in actions(plan)


def test_two_tenants_are_kept_apart():
    plan = build_plan(
        [local(HELLO, tenant="main"), local(HELLO, tenant="staging")],
        Snapshot(
            [
                NamespaceListing(Scope("main", "company.team"), [remote(HELLO)]),
                NamespaceListing(Scope("staging", "company.team"), []),
            ]
        ),
    )
    assert actions(plan) == {"company.team/hello": UNCHANGED, "staging:company.team/hello": CREATE}
    assert list(plan.by_tenant_namespace()) == ["main", "staging"]


def test_scopes_are_local_namespaces_plus_managed_without_overlap():
    flows = [local(HELLO), local(HELLO.replace("company.team", "company.team.sub"))]
    assert scopes_for(flows) == [
        Scope("main", "company.team"),
        Scope("main", "company.team.sub"),
    ]
    assert scopes_for(flows, {"main": ["company.ops"]}, include_children=True) == [
        Scope("main", "company.ops", True),
        Scope("main", "company.team", True),
    ]


def test_child_namespace_scope_covers_children_only_by_dotted_prefix():
    scope = Scope("main", "company.team", include_children=True)
    assert scope.covers("company.team.sub")
    assert not scope.covers("company.teams")


def test_normalize_source_drops_only_the_first_revision_line():
    text = "revision: 2\nid: a\nrevision: 3\n"
    assert normalize_source(text) == "id: a\nrevision: 3"


def test_summary_names_added_removed_and_reordered_items():
    two = HELLO + "  - id: second\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"
    swapped = (
        "id: hello\nnamespace: company.team\ntasks:\n"
        "  - id: second\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"
        "  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    )
    assert summarize(HELLO, two)[0] == ["task second added"]
    assert summarize(two, HELLO)[0] == ["task second removed"]
    assert summarize(two, swapped)[0] == ["tasks reordered"]


def test_summary_compares_labels_as_maps_whatever_their_form():
    as_map = HELLO + "labels:\n  team: data\n"
    as_list = HELLO + "labels:\n  - key: team\n    value: data\n"
    changed = HELLO + "labels:\n  team: ops\n  tier: gold\n"
    assert summarize(as_map, as_list)[0] == [
        "labels rewritten in the other form (same keys and values)"
    ]
    assert summarize(as_map, changed)[0] == ["label team changed", "label tier added"]


def test_flow_ref_label_shows_tenant_only_when_not_main():
    assert str(FlowRef("main", "a", "b")) == "a/b"
    assert str(FlowRef("acme", "a", "b")) == "acme:a/b"


def test_saved_plan_is_current_when_nothing_moved():
    plan = build_plan([local(HELLO)], snap(remote(HELLO, 3)))
    assert find_drift(plan, snap(remote(HELLO, 3))) == []


def test_drift_names_each_flow_that_moved_since_the_plan():
    other = HELLO.replace("id: hello", "id: other")
    newcomer = HELLO.replace("id: hello", "id: newcomer")
    plan = build_plan([local(HELLO), local(other)], snap(remote(HELLO, 3)))
    now = snap(remote(HELLO, 4), remote(other, 1), remote(newcomer, 1))
    assert find_drift(plan, now) == [
        "company.team/hello changed on the server since the plan (revision 3 -> 4)",
        "company.team/other now exists on the server (revision 1)",
        "company.team/newcomer appeared on the server since the plan (revision 1)",
    ]
    assert find_drift(plan, snap()) == [
        "company.team/hello was deleted on the server since the plan"
    ]


def test_summary_of_an_alias_bomb_on_the_server_does_not_expand_it():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert summarize(bomb, HELLO) == (["source changed (one side is not a YAML mapping)"], False)


def caller_source(fid: str, target: str, ns: str = "company.team") -> str:
    return (
        f"id: {fid}\nnamespace: {ns}\ntasks:\n  - id: call\n"
        f"    type: io.kestra.plugin.core.flow.Subflow\n    namespace: company.team\n"
        f"    flowId: {target}\n"
    )


def test_a_flow_still_referenced_by_what_stays_is_kept_and_so_is_what_it_references():
    from kestra_sync.planning.references import referenced_flows

    # git keeps `main`, which calls `mid` (server only), which calls `leaf` (server only);
    # `lonely` is called by nobody that stays: only it is deleted.
    snapshot = snap(
        remote(caller_source("main", "mid")),
        remote(caller_source("mid", "leaf")),
        remote(HELLO.replace("id: hello", "id: leaf")),
        remote(caller_source("lonely", "leaf")),
    )
    plan = build_plan(
        [local(caller_source("main", "mid"))], snapshot, delete=True, references=referenced_flows
    )
    assert actions(plan) == {
        "company.team/main": UNCHANGED,
        "company.team/mid": UNMANAGED,
        "company.team/leaf": UNMANAGED,
        "company.team/lonely": DELETE,
    }
    notes = {c.ref.id: c.note for c in plan.changes}
    assert notes["mid"] == (
        "not deleted: company.team/main still references it (deleting it would break that flow)"
    )
    assert notes["leaf"].startswith("not deleted: company.team/mid still references it")


def test_a_reference_spelled_with_an_escape_still_keeps_its_target():
    from kestra_sync.planning.references import referenced_flows

    escaped = caller_source("main", "leaf").replace("flowId:", '"flow\\x49d":')
    snapshot = snap(remote(escaped), remote(HELLO.replace("id: hello", "id: leaf")))
    plan = build_plan([local(escaped)], snapshot, delete=True, references=referenced_flows)
    assert actions(plan)["company.team/leaf"] == UNMANAGED


def test_the_empty_namespace_rule_can_be_allowed_for_some_tenants_only():
    def listing(tenant):
        return [
            NamespaceListing(Scope(tenant, "company.team"), [remote(HELLO, tenant=tenant)]),
            NamespaceListing(
                Scope(tenant, "company.ops"),
                [remote(HELLO.replace("company.team", "company.ops"), tenant=tenant)],
            ),
        ]

    snapshot = Snapshot(listing("a") + listing("b"))
    plan = build_plan(
        [local(HELLO, "a"), local(HELLO, "b")], snapshot, delete=True, allow_empty_namespace={"a"}
    )
    assert actions(plan)["a:company.ops/hello"] == DELETE
    assert actions(plan)["b:company.ops/hello"] == UNMANAGED
