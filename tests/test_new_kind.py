"""Adding a kind is one module (docs/kinds.md): a kind this test defines, registered through
the public registry (``kinds.register``) and nothing else, is planned, targeted, applied,
saved in a plan file, deleted and pulled by the real CLI against the emulator, with every
guard of the one pipeline, and no shared module knows its name.

The kind, "note": a text file ``notes/NAMESPACE/ID.txt`` beside the flow directory, kept on
the server as the KV pair ``note_ID`` of NAMESPACE (the emulator has no API of its own for
it; no kv.yml is in git, so the KV kind does not read those namespaces)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kestra_sync import kinds
from kestra_sync.cli import cli
from kestra_sync.kinds.base import (
    Described,
    KindBase,
    KindClient,
    LocalItem,
    LocalScan,
    RemoteItem,
    Written,
)
from kestra_sync.kinds.pulling import Pulled, PullFile, PullGroup, PullTarget
from kestra_sync.models import FlowRef
from tests.support.project import client, flow, line_with

PREFIX = "note_"


class Notes(KindBase):
    name = "note"
    noun = "note"
    target_example = "company.team/welcome"

    def scan(self, settings: Any) -> LocalScan:
        scan = LocalScan()
        for tenant, directory in settings.directories().items():
            root = Path(directory).parent / "notes"
            for folder in sorted(p for p in root.glob("*") if p.is_dir()):
                scan.namespaces.add((tenant, folder.name))
                for file in sorted(folder.glob("*.txt")):
                    text = file.read_text(encoding="utf-8")
                    ref = FlowRef(tenant, folder.name, file.stem, self.name)
                    scan.items.append(LocalItem(ref, str(file), text, self.payload_digest(text)))
        return scan

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        return [
            RemoteItem(
                FlowRef(tenant, namespace, key[len(PREFIX) :], self.name), value, _sha(value)
            )
            for key, (_, value) in sorted(client.namespace_kv(namespace).items())
            if key.startswith(PREFIX)
        ]

    def write(self, client: KindClient, change: Any) -> Written:
        client.put_kv(change.ref.namespace, PREFIX + change.ref.id, change.payload)
        return Written("created" if change.action == "create" else "updated")

    def delete(self, client: KindClient, change: Any) -> Written:
        existed = client.delete_kv(change.ref.namespace, PREFIX + change.ref.id)
        return Written("deleted" if existed else "already deleted")

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described:
        shown = local if local is not None else remote
        return Described([f"{len(shown.payload) if shown else 0} characters"])

    def payload_digest(self, payload: Any) -> str:
        return _sha(payload)

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        """`pull`: each note back into its text file, beside the flow directory."""
        root = target.directory.parent / "notes"
        return Pulled(
            [
                PullGroup(
                    [
                        PullFile(
                            root / item.ref.namespace / f"{item.ref.id}.txt",
                            item.payload.encode("utf-8"),
                            f"{item.ref.namespace} note",
                            confine=root,
                        )
                        for item in items
                    ]
                )
            ]
        )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def notes():
    kind = kinds.register(Notes())
    yield kind
    kinds.unregister(kind.name)


@pytest.fixture
def project(tmp_path, emulator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KESTRA_URL", emulator.url)
    (tmp_path / "flows" / "company.team").mkdir(parents=True)
    (tmp_path / "flows" / "company.team" / "hello.yml").write_text(flow("hello"))
    write_note(tmp_path, "welcome", "hi")
    write_note(tmp_path, "rules", "be kind")
    return tmp_path


def write_note(root: Path, note_id: str, text: str) -> Path:
    path = root / "notes" / "company.team" / f"{note_id}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str):
    done = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return done.exit_code, done.output


def server_notes(emulator) -> dict[str, str]:
    with client(emulator) as c:
        held = c.namespace_kv("company.team")
    return {k[len(PREFIX) :]: v for k, (_, v) in held.items() if k.startswith(PREFIX)}


def test_a_registered_kind_is_planned_targeted_applied_and_deleted(notes, project, emulator):
    code, out = run("plan")
    assert code == 0, out
    line_with(out, "+ note welcome", "create")
    line_with(out, "+ note rules", "create")
    line_with(out, "+ hello", "create")

    # --target names a note by its kind's prefix: only it is applied.
    code, out = run("apply", "--auto-approve", "--target", "note:company.team/welcome")
    assert code == 0, out
    assert server_notes(emulator) == {"welcome": "hi"}
    with client(emulator) as c:
        assert [f.id for f in c.search_flows("company.team")] == []

    # A note is written before the flows of its namespace (write phase 0): a note that fails
    # holds them back; a re-run converges.
    emulator.faults.add("PUT", r"/kv/note_rules$", status=500, count=1)
    code, out = run("apply", "--auto-approve", "--parallelism", "1")
    assert code == 1, out
    line_with(out, "[2/2] skipped", "company.team/hello", "a note write of its namespace")
    code, out = run("apply", "--auto-approve")
    assert code == 0, out
    assert server_notes(emulator) == {"welcome": "hi", "rules": "be kind"}
    assert run("plan", "--detailed-exitcode")[0] == 0

    # Deletion needs --delete, as for every kind; a saved plan carries the kind's payloads.
    (project / "notes" / "company.team" / "rules.txt").unlink()
    write_note(project, "welcome", "hello there")
    code, out = run("plan", "--delete", "--out", "plan.json")
    assert code == 0, out
    line_with(out, "~ note welcome", "update")
    line_with(out, "- note rules", "delete")
    saved = json.loads((project / "plan.json").read_text(encoding="utf-8"))
    assert {c["id"]: c["action"] for c in saved["changes"] if c["kind"] == "note"} == {
        "welcome": "update",
        "rules": "delete",
    }
    code, out = run("apply", "plan.json", "--auto-approve")
    assert code == 0, out
    assert server_notes(emulator) == {"welcome": "hello there"}


def test_a_registered_kind_is_pulled_by_the_real_cli(notes, project, emulator):
    assert run("apply", "--auto-approve")[0] == 0
    with client(emulator) as c:
        c.put_kv("company.team", PREFIX + "welcome", "edited on the server")
    rules = project / "notes" / "company.team" / "rules.txt"
    rules.unlink()

    # The note git lacks is written back; the one that differs is kept, as for every kind.
    code, out = run("pull", "--namespace", "company.team")
    assert code == 1, out
    line_with(out, "wrote", str(Path("notes", "company.team", "rules.txt")), "(company.team note)")
    line_with(out, "conflict", "welcome.txt", "(company.team note): differs from the server; kept")
    assert rules.read_bytes() == b"be kind"
    welcome = project / "notes" / "company.team" / "welcome.txt"
    assert welcome.read_text(encoding="utf-8") == "hi"

    code, out = run("pull", "--namespace", "company.team", "--overwrite")
    assert code == 0, out
    line_with(out, "unchanged", "rules.txt", "(company.team note)")
    assert welcome.read_bytes() == b"edited on the server"
    assert run("plan", "--detailed-exitcode")[0] == 0  # git now says what the server holds


class PickyNotes(Notes):
    """Notes whose id "secret" cannot be written to git: its refusal stops the whole pull."""

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        pulled = super().pull_files(items, target)
        pulled.refused += [f"note {i.ref.id}: not for git" for i in items if i.ref.id == "secret"]
        return pulled


def test_a_registered_kinds_refusal_stops_the_whole_pull_before_any_write(project, emulator):
    kinds.register(PickyNotes())
    try:
        assert run("apply", "--auto-approve")[0] == 0
        with client(emulator) as c:
            c.put_kv("company.team", PREFIX + "secret", "x")
        for path in (project / "flows" / "company.team" / "hello.yml", *project.glob("notes/*/*")):
            path.unlink()
        code, out = run("pull", "--namespace", "company.team")
    finally:
        kinds.unregister("note")
    assert code == 1, out
    line_with(out, "refused", "note secret: not for git")
    assert "pull refused 1 server entry (above): nothing was written" in out
    assert not list(project.glob("flows/**/*.yml")) and not list(project.glob("notes/*/*"))


def test_a_registered_kinds_targets_are_checked_by_its_own_words(notes, project):
    code, out = run("plan", "--target", "note:company.team/nope")
    assert code == 1, out
    assert "--target note:company.team/nope matches no note in git or on the server" in out
    assert "check the namespace and id" in out

    code, out = run("plan", "--target", "note:company.team/*")
    assert code == 1, out
    assert "note:NAMESPACE/ID" in out and "--target note:company.team/welcome" in out


def test_the_cap_counts_a_registered_kinds_deletes_with_the_others(notes, project, emulator):
    assert run("apply", "--auto-approve")[0] == 0
    for name in ("welcome", "rules"):
        (project / "notes" / "company.team" / f"{name}.txt").unlink()
    write_note(project, "keep", "x")  # the namespace is not emptied
    code, out = run("plan", "--delete", "--max-deletes", "1")
    assert code == 1, out
    assert "would delete 2 notes, more than the limit of 1" in out


def test_an_unregistered_kind_is_gone_from_every_stage(project):
    assert kinds.prefixed("note") is None
    code, out = run("plan", "--target", "note:company.team/welcome")
    assert code == 1 and "expected NAMESPACE/ID" in out, out


class Boards:
    """A kind written against the seam's steps alone (no KindBase), that belongs to the
    tenant rather than to a namespace: its facts get the defaults, and `level` says how it
    is targeted."""

    name = "board"
    noun = "board"
    level = "tenant"

    def scan(self, settings: Any) -> LocalScan:
        return LocalScan()

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        return []

    def write(self, client: KindClient, change: Any) -> Written:
        return Written("created")

    def delete(self, client: KindClient, change: Any) -> Written:
        return Written("deleted")

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described:
        return Described()

    def payload_digest(self, payload: Any) -> str:
        return _sha(payload)


@pytest.fixture
def boards():
    kind = kinds.register(Boards())  # no encode/decode, no facts: the defaults
    yield kind
    kinds.unregister(kind.name)


def test_a_kind_without_kindbase_gets_default_facts_and_tenant_level_targets(boards):
    from kestra_sync.planning.targeting import is_targeted, parse_targets, target_of

    assert parse_targets(["board:sales-overview"]) == ["board:sales-overview"]
    board = FlowRef("main", "", "sales-overview", "board")
    assert target_of(board) == "board:sales-overview"
    assert is_targeted(board, ["board:sales-overview"])
    assert not is_targeted(board, ["board:other"])
    assert boards.encode({"a": 1}) == {"a": 1} and boards.write_phase == 0
    with pytest.raises(Exception, match="board:ID"):
        parse_targets(["board:"])


def test_a_kind_name_or_target_prefix_is_registered_once(notes):
    with pytest.raises(ValueError, match="exists"):
        kinds.register(Notes())


class Pages(Notes):
    """A note kind whose file holds the item alone: `pull --branch` may write it back."""

    name = "page"
    noun = "page"

    def file_bytes(self, payload: Any) -> bytes | None:
        return str(payload).encode("utf-8")


@pytest.fixture
def pages():
    kind = kinds.register(Pages())
    yield kind
    kinds.unregister(kind.name)


def test_drift_of_a_registered_kind_follows_its_facts_not_the_kv_pairs(notes, pages):
    from kestra_sync.planning.plan import UPDATE, Change, Plan
    from kestra_sync.pull.drift import drift_of

    def edited(kind: str) -> Change:
        ref = FlowRef("main", "company.team", "welcome", kind)
        return Change(
            UPDATE,
            ref,
            path=f"notes/company.team/welcome.{kind}",
            payload="hi\n",
            server_payload="hello\n",
        )

    plan = Plan(changes=[edited("note"), edited("page")])
    note, page = drift_of(plan).items
    # A kind that does not say its file holds the item alone is reported, never written,
    # in its own words (not those of a KV pair).
    assert note.content is None and note.note.startswith("the note changed on the server")
    assert "welcome.note is not rewritten" in note.note
    # One that does is written back byte for byte, with a diff of git's file to the server's.
    assert page.content == b"hello\n"
    assert "-hi\n+hello\n" in page.diff


def test_a_tenant_level_kind_is_headed_by_its_own_plural_in_the_text_plan(boards):
    from kestra_sync.planning.plan import CREATE, Change, Plan
    from kestra_sync.report.plantext import render_plan

    dashboard = Change(CREATE, FlowRef("main", "", "ops", "dashboard"), path="_dashboards/o.yml")
    board = Change(CREATE, FlowRef("main", "", "sales-overview", "board"), path="b.yml")
    text = render_plan(Plan(changes=[board]))
    line_with(text, "tenant main (boards)")
    assert "dashboards" not in text
    line_with(render_plan(Plan(changes=[dashboard, board])), "tenant main (boards, dashboards)")
