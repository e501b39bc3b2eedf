"""What apply guarantees at its trust boundaries (issue 9, items 2, 3, 4 and 13), end to end: the
real CLI in child processes, real HTTP, the in-process emulator. Each test checks what the server
holds afterwards, not only what the report says."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from kestra_sync.client import KestraClient
from kestra_sync.report.planfile import dumps
from tests.e2e.test_apply import Recorder
from tests.support.cli import ROOT
from tests.support.server_state import caller, flow, kestra, on_server, seed, write_flows, writes

# --- item 2: no delete after a failed write, never of a flow that something still calls ------


def test_a_failed_create_stops_every_delete_so_a_renamed_subflows_caller_keeps_working(
    emulator, tmp_path
):
    """Rename `child` to `child2`: plan = create child2, update caller, delete child. The
    create fails, so the caller's update is not attempted; deleting `child` now would leave the
    live caller calling a flow that is gone."""
    seed(emulator, flow("acme", "child"), caller("acme", "caller", "child"))
    directory = write_flows(tmp_path, [flow("acme", "child2"), caller("acme", "caller", "child2")])
    recorder = Recorder(emulator)
    recorder.add("POST", "acme/child2", status=500)

    done = kestra(emulator, "apply", str(directory), "-y", "--delete", cwd=tmp_path)

    assert done.returncode == 1
    assert "Apply: 0 done, 1 failed, 2 not attempted." in done.stdout
    assert (
        "skipped delete acme/child: not attempted: nothing is deleted after a failed or "
        "skipped write (acme/caller, acme/child2); a re-run converges" in done.stdout
    )
    assert on_server(emulator) == {
        ("acme", "child"): flow("acme", "child"),
        ("acme", "caller"): caller("acme", "caller", "child"),
    }
    assert not [t for m, t, _ in recorder.log if m == "DELETE"]

    again = kestra(emulator, "apply", str(directory), "-y", "--delete", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert on_server(emulator) == {
        ("acme", "child2"): flow("acme", "child2"),
        ("acme", "caller"): caller("acme", "caller", "child2"),
    }


def test_a_flow_that_a_remaining_flow_references_is_kept_at_plan_time(emulator, tmp_path):
    """`helper` is not in git, but git's `main` calls it; `old` is not in git, but a flow kept
    on the server (another namespace, not emptied) calls it. Neither is deleted."""
    seed(
        emulator,
        flow("acme", "helper"),
        flow("acme", "old"),
        caller("acme", "main", "helper"),
        caller("acme", "gone", "nothing"),
        caller("ui", "ui-caller", "old").replace(
            "namespace: ui\n    flowId", "namespace: acme\n    flowId"
        ),
    )
    directory = write_flows(tmp_path, [caller("acme", "main", "helper")])
    args = (str(directory), "--delete", "--namespace", "ui")

    plan = kestra(emulator, "plan", *args, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    assert "not deleted: acme/main still references it" in plan.stdout
    assert "not deleted: ui/ui-caller still references it" in plan.stdout
    assert "Plan: 0 to create, 0 to update, 1 to delete, 1 unchanged" in plan.stdout

    done = kestra(emulator, "apply", *args, "-y", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(on_server(emulator)) == {
        ("acme", "helper"),
        ("acme", "old"),
        ("acme", "main"),
        ("ui", "ui-caller"),
    }


def test_a_caller_created_during_the_apply_keeps_its_target_from_being_deleted(emulator, tmp_path):
    """The plan was right when it was made; while the updates run someone adds a flow that calls
    the flow about to be deleted. The scopes are read again before deleting."""
    seed(emulator, flow("acme", "a"), flow("acme", "old"))
    directory = write_flows(tmp_path, [flow("acme", "a", "new")])
    recorder = Recorder(emulator)
    with KestraClient(emulator.url) as client:
        recorder.add(
            "PUT", "acme/a", before=lambda: client.create_flow(caller("acme", "late", "old"))
        )
        done = kestra(emulator, "apply", str(directory), "-y", "--delete", cwd=tmp_path)

    assert done.returncode == 1
    assert "acme/old: not attempted: not deleted: acme/late still references it" in done.stdout
    assert ("acme", "old") in on_server(emulator)


# --- item 3: a saved plan is applied only as it was made -------------------------------------


def saved_plan(emulator, tmp_path, *flags: str) -> dict:
    """acme/a and acme/b on the server, git changes both; the plan saved as plan.json."""
    seed(emulator, flow("acme", "a"), flow("acme", "b"), flow("acme", "extra"), flow("ops", "x"))
    directory = write_flows(tmp_path, [flow("acme", "a", "new"), flow("acme", "b", "new")])
    made = kestra(emulator, "plan", str(directory), "--out", "plan.json", *flags, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    return json.loads((tmp_path / "plan.json").read_text())


def rewrite(tmp_path, data: dict, *, reseal: bool) -> None:
    """Save an edited plan; ``reseal`` recomputes the checksum as a script could."""
    from kestra_sync.report.planfile import content_checksum  # (format_version 2)

    if reseal:
        data["checksum"] = content_checksum(data)
    (tmp_path / "plan.json").write_text(dumps(data))


def update_to_delete(data: dict) -> None:
    """Turn the planned update of acme/a into a delete (acme/b keeps the namespace in scope)."""
    for change in data["changes"]:
        if change["id"] == "a":
            change.update(action="delete", path=None, source=None, diff="", summary=[])


def test_a_hand_edited_plan_file_is_refused_and_nothing_is_written(emulator, tmp_path):
    data = saved_plan(emulator, tmp_path)
    del data["server"]  # would have applied to any server
    rewrite(tmp_path, data, reseal=False)
    before = writes(emulator)

    done = kestra(emulator, "apply", "plan.json", cwd=tmp_path)

    assert done.returncode == 1
    assert "plan.json: the plan file was changed after it was saved" in done.stderr
    assert "Traceback" not in done.stderr
    assert writes(emulator) == before


@pytest.mark.parametrize(
    ("flags", "edit", "says"),
    [
        # A file made by a script (checksum recomputed) is still re-planned with its options.
        ((), lambda d: d.pop("server"), "damaged plan file: server is missing"),
        (
            (),
            update_to_delete,
            "does not follow from its own options: it would delete acme/a, which planned now "
            "is unmanaged (not managed by git (deletion is off",
        ),
        (
            ("--delete", "--max-deletes", "1"),
            update_to_delete,
            "the plan would delete 2 flows, more than the limit of 1",
        ),
        (
            (),
            lambda d: d["scopes"].append(
                {"tenant": "main", "namespace": "other", "include_children": True}
            ),
            "namespaces in scope do not follow from its flows and options",
        ),
        (
            ("--delete", "--namespace", "ops"),
            lambda d: next(c for c in d["changes"] if c["id"] == "x").update(action="delete"),
            "it would delete ops/x, which planned now is unmanaged (not deleted: git has no flow "
            "in this namespace",
        ),
        (
            (),
            lambda d: [c.update(tenant="other") for c in d["changes"]],
            "the saved plan changes tenant other, which it was not made for",
        ),
        ((), lambda d: d["changes"][0].update(tenant=7), "damaged plan file: changes[0].tenant"),
        ((), lambda d: d["options"].update(max_deletes=None), "options.max_deletes must be an"),
    ],
)
def test_a_rewritten_plan_file_is_checked_against_its_options_and_the_server(
    emulator, tmp_path, flags, edit, says
):
    data = saved_plan(emulator, tmp_path, *flags)
    edit(data)
    rewrite(tmp_path, data, reseal=True)
    before = writes(emulator)

    done = kestra(emulator, "apply", "plan.json", cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
    assert writes(emulator) == before
    assert on_server(emulator)[("acme", "a")] == flow("acme", "a")


def test_plan_changing_options_with_a_saved_plan_are_refused(emulator, tmp_path):
    saved_plan(emulator, tmp_path)
    before = writes(emulator)
    done = kestra(emulator, "apply", "plan.json", "--delete", "--max-deletes", "50", cwd=tmp_path)
    assert done.returncode == 2
    assert "--delete/--no-delete, --max-deletes cannot be used with a saved plan" in done.stderr
    assert writes(emulator) == before

    plain = kestra(emulator, "apply", "plan.json", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "Apply: 2 done, 0 failed, 0 not attempted." in plain.stdout


# --- item 4: two applies at once --------------------------------------------------------------


def test_two_concurrent_applies_do_not_leave_a_mix(emulator, tmp_path):
    """Apply A (commit A) reads the server, then is held before it writes; apply B (commit B)
    runs from start to end meanwhile. A then finds every flow moved since its plan and writes
    none of them: the server holds B's commit, whole, and A exits 1 saying why.

    A is held by a gate on its second search (the listing it makes before its first write in
    the namespace): deterministic, unlike a race on latency, and no timing is asserted."""
    names = ("f1", "f2", "f3")
    seed(emulator, *(flow("acme", n, "v0") for n in names))
    repo_a, repo_b = tmp_path / "a", tmp_path / "b"
    dir_a = write_flows(repo_a, [flow("acme", n, "commit A") for n in names])
    dir_b = write_flows(repo_b, [flow("acme", n, "commit B") for n in names])

    held, release = threading.Event(), threading.Event()
    searches = []
    base = emulator.server.RequestHandlerClass

    class Gate(base):
        def _dispatch(self, method, route, p, body):
            if method == "GET" and route.endswith("/flows/search"):
                searches.append(route)
                if len(searches) == 2:  # A's listing before writing, after its plan's
                    held.set()
                    assert release.wait(60)
            return super()._dispatch(method, route, p, body)

    emulator.server.RequestHandlerClass = Gate
    env = {"KESTRA_URL": emulator.url, "PYTHONPATH": str(ROOT)}
    a = subprocess.Popen(
        [sys.executable, "-m", "kestra_sync", "apply", str(dir_a), "-y", "--parallelism", "1"],
        cwd=repo_a,
        env={**_clean_env(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert held.wait(60), "apply A never listed the namespace before writing"
        b = kestra(emulator, "apply", str(dir_b), "-y", cwd=repo_b)
    finally:
        release.set()
        out_a, err_a = a.communicate(timeout=120)

    assert b.returncode == 0, b.stderr
    assert a.returncode == 1, out_a + err_a
    assert "Apply: 0 done, 0 failed, 3 not attempted." in out_a
    assert "acme/f1: not attempted: changed on the server since the plan (revision 1 -> 2)" in out_a
    assert on_server(emulator) == {("acme", n): flow("acme", n, "commit B") for n in names}


def _clean_env() -> dict[str, str]:
    import os

    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KESTRA_", "GITHUB_")) and k != "NO_COLOR"
    }


# --- item 13: a scope per tenant ------------------------------------------------------------


def test_each_tenant_has_its_own_managed_namespaces_and_empty_namespace_rule(
    make_emulator, tmp_path
):
    emu = make_emulator(edition="ee")
    (tmp_path / "kestra-sync.yml").write_text(
        "delete: true\n"
        "tenants:\n"
        "  alpha: {directory: alpha, namespaces: [acme.old], allow_empty_namespace: true}\n"
        "  beta: beta\n"
    )
    for tenant in ("alpha", "beta"):
        path = tmp_path / tenant / "acme" / "a.yml"
        path.parent.mkdir(parents=True)
        path.write_text(flow("acme", "a", tenant), encoding="utf-8")
    for tenant in ("alpha", "beta"):
        with KestraClient(emu.url, tenant=tenant) as client:
            client.create_flow(flow("acme.old", "x"))

    plan = kestra(emu, "plan", "--format", "json", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    data = json.loads(plan.stdout)
    assert data["options"]["tenants"] == {
        "alpha": {"namespaces": ["acme.old"], "allow_empty_namespace": True},
        "beta": {"namespaces": [], "allow_empty_namespace": False},
    }
    assert {(s["tenant"], s["namespace"]) for s in data["scopes"]} == {
        ("alpha", "acme"),
        ("alpha", "acme.old"),
        ("beta", "acme"),
    }

    done = kestra(emu, "apply", "-y", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert set(on_server(emu, "alpha")) == {("acme", "a")}  # acme.old emptied, as allowed
    assert set(on_server(emu, "beta")) == {("acme", "a"), ("acme.old", "x")}  # not its scope
