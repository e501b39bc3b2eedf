"""The comparison rules for namespace files and KV pairs (pure: no server), and kv.yml parsing."""

from __future__ import annotations

from pathlib import Path

from kestra_sync.kinds import KINDS
from kestra_sync.kinds.base import LocalItem, LocalScan, RemoteItem
from kestra_sync.kinds.nsfiles import digest
from kestra_sync.models import FlowRef
from kestra_sync.planning.plan import Plan, check_delete_cap
from kestra_sync.planning.resourceplan import (
    KindListing,
    compare_kind,
    resource_drift,
    without_applied,
)
from kestra_sync.settings.config import Settings

FILES = KINDS["file"]
NS = ("main", "company.team")


def ref(path: str, ns: str = "company.team") -> FlowRef:
    return FlowRef("main", ns, path, "file")


def local(path: str, content: bytes) -> LocalItem:
    return LocalItem(ref(path), f"flows/_files{path}", content, digest(content))


def remote(path: str, content: bytes, ns: str = "company.team") -> RemoteItem:
    return RemoteItem(ref(path, ns), content, digest(content))


def listing(*items: RemoteItem, error: str | None = None) -> KindListing:
    return KindListing("file", *NS, items=list(items), error=error)


def actions(changes) -> dict[str, str]:
    return {c.ref.id: c.action for c in changes}


def test_create_update_unchanged_by_content_and_server_only_kept_without_delete():
    scan = LocalScan([local("/a", b"1"), local("/b", b"2"), local("/c", b"3")], namespaces={NS})
    changes, errors = compare_kind(
        FILES, scan, [listing(remote("/b", b"2"), remote("/c", b"old"), remote("/d", b"4"))]
    )
    assert errors == []
    assert actions(changes) == {
        "/a": "create",
        "/b": "unchanged",
        "/c": "update",
        "/d": "unmanaged",
    }
    assert "--delete" in next(c for c in changes if c.ref.id == "/d").note


def test_deletes_need_delete_a_deletable_namespace_and_something_left_in_git():
    server = [listing(remote("/a", b"1"), remote("/gone", b"x"))]
    kept_scan = LocalScan([local("/a", b"1")], namespaces={NS})
    deleting, _ = compare_kind(FILES, kept_scan, server, delete=True)
    assert actions(deleting)["/gone"] == "delete"
    not_deletable = LocalScan([local("/a", b"1")], namespaces={NS}, deletable=set())
    kept, _ = compare_kind(FILES, not_deletable, server, delete=True)
    assert actions(kept)["/gone"] == "unmanaged"
    empty = LocalScan([], namespaces={NS})
    guarded, _ = compare_kind(FILES, empty, server, delete=True)
    assert set(actions(guarded).values()) == {"unmanaged"}
    allowed, _ = compare_kind(FILES, empty, server, delete=True, allow_empty_namespace=True)
    assert set(actions(allowed).values()) == {"delete"}


def test_a_failed_listing_gives_an_error_and_no_change_at_all():
    scan = LocalScan([local("/a", b"1")], namespaces={NS})
    changes, errors = compare_kind(FILES, scan, [listing(error="503")], delete=True)
    assert changes == [] and "could not read the namespace files" in errors[0]


def test_the_delete_cap_counts_every_kind():
    scan = LocalScan([local("/a", b"1")], namespaces={NS})
    server = [listing(remote("/a", b"1"), remote("/x", b""), remote("/y", b""))]
    changes, _ = compare_kind(FILES, scan, server, delete=True)
    plan = Plan(changes)
    check_delete_cap(plan, 1)
    assert "would delete 2 namespace files" in plan.errors[0]


def test_saved_plan_drift_and_already_applied_changes():
    scan = LocalScan([local("/a", b"new"), local("/b", b"2")], namespaces={NS})
    changes, _ = compare_kind(FILES, scan, [listing(remote("/a", b"old"))])
    plan = Plan(changes, kind_scopes=[("file", *NS)])
    assert resource_drift(plan, [listing(remote("/a", b"old"))]) == []
    moved = resource_drift(plan, [listing(remote("/a", b"ui"), remote("/z", b""))])
    assert moved == [
        "company.team file /a changed on the server since the plan",
        "company.team file /z appeared on the server since the plan",
    ]
    applied = without_applied(plan, [listing(remote("/a", b"new"), remote("/b", b"2"))])
    assert set(actions(applied.changes).values()) == {"unchanged"}


def test_kv_yml_types_long_form_and_refusals(tmp_path):
    folder = tmp_path / "flows" / "company" / "team"
    folder.mkdir(parents=True)
    (folder / "kv.yml").write_text(
        "values:\n"
        "  region: eu\n"
        "  n: 2.5\n"
        "  day: 2024-01-31\n"
        "  cfg: {value: 1, other: 2}\n"
        "  session: {value: abc, ttl: PT1H}\n"
        "  yes: 1\n"
        "  github_token: ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
        "  note: 'key: -----BEGIN RSA PRIVATE KEY----- x'\n",
        encoding="utf-8",
    )
    scan = KINDS["kv"].scan(Settings(directory=Path(tmp_path / "flows")))
    values = {i.ref.id: i.payload for i in scan.items}
    assert values == {
        "region": {"value": "eu", "ttl": None},
        "n": {"value": 2.5, "ttl": None},
        "day": {"value": "2024-01-31", "ttl": None},
        "cfg": {"value": {"value": 1, "other": 2}, "ttl": None},  # not the long form
        "session": {"value": "abc", "ttl": "PT1H"},
    }
    assert scan.namespaces == {NS} and scan.deletable == set()
    messages = [d.message for d in scan.diagnostics]
    assert any("quote it" in m for m in messages)
    assert sum("looks like a secret" in m for m in messages) == 2
    assert not any("ghp_" in m or "BEGIN" in m for m in messages)


def test_kv_keys_written_twice_or_in_two_files_are_refused(tmp_path):
    folder = tmp_path / "flows" / "company" / "team"
    folder.mkdir(parents=True)
    (folder / "kv.yml").write_text("values:\n  a: 1\n  a: 2\n", encoding="utf-8")
    (tmp_path / "flows" / "kv.yaml").write_text(
        "namespace: company.team\nvalues:\n  a: 3\n", encoding="utf-8"
    )
    scan = KINDS["kv"].scan(Settings(directory=Path(tmp_path / "flows")))
    messages = sorted(f"{d.path}:{d.line}: {d.message}" for d in scan.diagnostics)
    assert any(m.endswith(":3: KV key 'a' is written twice") for m in messages), messages
    assert any("also declared in" in m for m in messages), messages


def test_files_and_kv_in_a_folder_that_is_no_namespace_are_refused(tmp_path):
    folder = tmp_path / "flows" / "Company Team"
    (folder / "_files").mkdir(parents=True)
    (folder / "_files" / "a.py").write_text("x")
    (folder / "kv.yml").write_text("values:\n  a: 1\n")
    settings = Settings(directory=Path(tmp_path / "flows"))
    for name in ("file", "kv"):
        scan = KINDS[name].scan(settings)
        assert not scan.items
        assert "'company team'" in scan.diagnostics[0].message.lower(), scan.diagnostics
