"""Renames (planning/renames.py, source/githistory.py): the pieces the e2e tests do not reach
one by one (tests/e2e/test_renames.py runs the whole through the CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kestra_sync.client.resources import KV_KEY
from kestra_sync.errors import ConfigError, InputError
from kestra_sync.models import FlowRef
from kestra_sync.planning.plan import DELETE, Change, Plan, check_delete_cap
from kestra_sync.planning.renames import Rename, deployed_commit_key
from kestra_sync.report.planfile import content_checksum, load_plan_file, plan_to_dict
from kestra_sync.settings.config import load_settings
from kestra_sync.source.githistory import moved_files
from tests.support import gitrepo
from tests.support.cli import ROOT
from tests.support.project import LOG, flow


def ref(namespace: str, flow_id: str) -> FlowRef:
    return FlowRef("main", namespace, flow_id)


@pytest.mark.parametrize(
    ("environment", "key"),
    [
        (None, "kestra_sync_deployed_commit"),
        ("prod", "kestra_sync_deployed_commit_prod"),
        ("eu west/ü", "kestra_sync_deployed_commit_eu_west__"),
    ],
)
def test_each_environment_has_its_own_key_and_every_key_is_one_kestra_accepts(environment, key):
    assert deployed_commit_key(environment) == key
    assert KV_KEY.fullmatch(key)


def test_state_namespace_is_read_from_the_config_and_a_bad_one_is_refused(tmp_path):
    config = tmp_path / "kestra-sync.yml"
    config.write_text("state_namespace: company.kestra_sync\n", encoding="utf-8")
    assert load_settings({}, env={}, cwd=tmp_path).state_namespace == "company.kestra_sync"
    config.write_text("state_namespace: Company State\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"kestra-sync.yml: state_namespace must be a namespace"):
        load_settings({}, env={}, cwd=tmp_path)


def test_a_renames_delete_is_not_counted_by_the_delete_cap():
    deletes = [Change(DELETE, ref("company.old", "a")), Change(DELETE, ref("company.old", "b"))]
    plan = Plan(changes=list(deletes), renames=[Rename(ref("company.old", "a"), ref("c.new", "a"))])
    check_delete_cap(plan, 1)
    assert plan.errors == []
    plain = Plan(changes=list(deletes))
    check_delete_cap(plain, 1)
    assert plain.errors and "more than the limit of 1" in plain.errors[0]


def test_a_saved_plan_keeps_its_renames_and_refuses_damaged_ones(tmp_path):
    plan = Plan(
        changes=[],
        renames=[Rename(ref("company.old", "a"), ref("company.new", "a"), [ref("company.x", "c")])],
    )
    data = plan_to_dict(plan, {"server": "http://s", "options": _options()}, include_sources=True)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded, _ = load_plan_file(path)
    assert [(r.old, r.new, r.callers) for r in loaded.renames] == [
        (ref("company.old", "a"), ref("company.new", "a"), [ref("company.x", "c")])
    ]
    del data["renames"][0]["to"]
    data["checksum"] = content_checksum(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="damaged plan file: renames: a rename is missing 'to'"):
        load_plan_file(path)


def _options() -> dict:
    return {
        "delete": True,
        "allow_empty_namespace": False,
        "max_deletes": 10,
        "include_children": False,
        "tenants": {"main": {"namespaces": [], "allow_empty_namespace": False}},
    }


def test_git_says_what_moved_and_a_rewritten_file_is_not_a_rename(tmp_path):
    gitrepo.init(tmp_path)
    flows = tmp_path / "flows" / "company.team"
    flows.mkdir(parents=True)
    (flows / "a.yml").write_text(flow("a", message="x" * 200), encoding="utf-8")
    (flows / "b.yml").write_text(flow("b"), encoding="utf-8")
    base = gitrepo.commit_all(tmp_path, "one")
    gitrepo.move(
        tmp_path, "flows/company.team/a.yml", "flows/company.team/c.yml", ("id: a", "id: c")
    )
    (flows / "b.yml").unlink()
    rewritten = "".join(
        f"  - id: step{n}\n    type: {LOG}\n    message: part {n}\n" for n in range(9)
    )
    (flows / "d.yml").write_text(f"id: d\nnamespace: company.data\ntasks:\n{rewritten}", "utf-8")
    gitrepo.commit_all(tmp_path, "two")
    moved = moved_files(tmp_path / "flows", base)
    assert [(m.old_path, m.new_path.name) for m in moved] == [("flows/company.team/a.yml", "c.yml")]
    assert moved[0].old_source.startswith("id: a\n")


def test_a_plan_without_renames_never_imports_gitpython():
    """gitpython's import costs about 0.1 s of CPU: only a plan that diffs history pays it."""
    code = (
        "import sys; import kestra_sync.cli, kestra_sync.planning.pipeline, "
        "kestra_sync.planning.renames, kestra_sync.source.githistory, "
        "kestra_sync.applying.deployedcommit; print('git' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(ROOT), capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_only_a_name_kestra_accepts_is_taken_from_history(tmp_path):
    """The old name is read from the server: one from history that Kestra would refuse (a
    path segment, upper case) is not a rename."""
    from kestra_sync.models import LocalFlow
    from kestra_sync.planning.renames import _renames_in
    from kestra_sync.source.githistory import MovedFile

    new = tmp_path / "ingest.yml"
    local = [LocalFlow(new, flow("ingest"), None, "company.team", "ingest")]
    moves = [
        MovedFile("flows/a.yml", new, flow("load", ns="../../x")),
        MovedFile("flows/b.yml", new, flow("load", ns="Company.Team")),
    ]
    assert _renames_in(moves, "main", local, {}) == []
    good = [MovedFile("flows/a.yml", new, flow("load"))]
    assert [(r.old, r.new) for r in _renames_in(good, "main", local, {})] == [
        (ref("company.team", "load"), ref("company.team", "ingest"))
    ]
