"""The result cache (kestra_sync/source/resultcache.py): a warm run must answer exactly as a cold one,
never from a stale entry, and the cache must never be a reason for a run to fail."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from kestra_sync.client import KestraClient
from kestra_sync.models import FlowParsedOnUse
from kestra_sync.rules.validate import check_project
from kestra_sync.settings.config import load_settings
from kestra_sync.source import resultcache
from kestra_sync.source.flowscan import _load
from tests.support.cli import run_cli

DATA = Path(__file__).parent / "data"


def _decodes(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False  # refused before any parse (flows.decode_source)
    return True


EVERY_FIXTURE = sorted(p for p in DATA.rglob("*") if p.suffix in (".yml", ".yaml") and _decodes(p))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("KESTRA_SYNC_CACHE_DIR", str(where))
    monkeypatch.delenv("KESTRA_SYNC_CACHE", raising=False)
    return where


def _loaded(path: Path, cache) -> tuple:
    flow, diags, _ = _load(path, "main", None, cache)
    return (flow.source, flow.namespace, flow.id, flow.ref, flow.data, type(flow.data)), diags


@pytest.mark.parametrize("path", EVERY_FIXTURE, ids=lambda p: str(p.relative_to(DATA)))
def test_a_file_found_in_the_cache_is_read_as_if_parsed(path, cache_dir):
    """Identity as written (`id: 0755` stays "0755"), diagnostics, and the data once asked."""
    expected = _loaded(path, None)
    cold = resultcache.for_directory(path.parent)
    assert _loaded(path, cold) == expected
    cold.complete = True
    cold.save()
    warm = resultcache.for_directory(path.parent)
    parses = _load(path, "main", None)[2] is not None  # an empty file is never parsed
    flow, diags, parsed = _load(path, "main", None, warm)
    assert (warm.hits, parsed) == ((1, None) if parses else (0, None))
    if expected[0][4] is not None:
        assert isinstance(flow, FlowParsedOnUse)
        assert "_data" not in flow.__dict__, "not parsed until asked"
    assert _loaded(path, resultcache.for_directory(path.parent)) == expected


def _project(tmp_path: Path) -> Path:
    flows = tmp_path / "flows"
    shutil.copytree(DATA / "kestra-1.3", flows)
    shutil.copy(DATA / "flows" / "valid" / "octal-task-ids.yml", flows / "company" / "octal.yml")
    return flows


def _check(flows: Path, **kw):
    settings = load_settings({"url": "http://localhost:8080", "directory": str(flows), **kw})
    check = check_project(settings)
    return check, sorted((d.path, d.line, d.code, d.message) for d in check.diagnostics)


def test_a_warm_check_reports_exactly_what_a_cold_one_does(tmp_path, cache_dir):
    flows = _project(tmp_path)
    (flows / "company" / "sales" / "notify.yml").write_text(
        "id: notify\nnamespace: company.sales\ntasks:\n  - id: Bad Id\n    type: io.kestra.x\n"
    )
    cold, cold_diags = _check(flows, layout="nested")
    assert cold_diags, "the fixture has problems to report"
    assert any(cache_dir.iterdir()), "the cold run wrote the cache"
    warm, warm_diags = _check(flows, layout="nested")
    assert warm_diags == cold_diags
    assert all(isinstance(f, FlowParsedOnUse) for f in warm.flows)
    parsed_again = {str(f.path) for f in warm.flows if "_data" in f.__dict__}
    # only a file with errors is looked into again (is it a flow at all? guidance.py)
    assert parsed_again <= {d.path for d in warm.diagnostics if d.is_error}
    assert [f.data for f in warm.flows] == [f.data for f in cold.flows]
    assert [(f.namespace, f.id, f.source) for f in warm.flows] == [
        (f.namespace, f.id, f.source) for f in cold.flows
    ]
    assert sum(c.hits for c in warm.caches.values()) == len(warm.flows)


def test_an_edited_file_is_checked_again(tmp_path, cache_dir):
    flows = _project(tmp_path)
    _, before = _check(flows)
    target = flows / "company" / "ops" / "cleanup.yml"
    target.write_text(target.read_text().replace("id: cleanup", "id: clean up", 1))
    _, after = _check(flows)
    new = [d for d in after if d not in before]
    assert new and all(d[0].endswith("cleanup.yml") for d in new)


def test_checks_are_kept_per_settings_and_path(tmp_path, cache_dir):
    """The same text under another layout, Kestra version or path is checked again."""
    flows = _project(tmp_path)
    _, plain = _check(flows, layout="none")
    _, nested = _check(flows, layout="dotted")
    assert any(d[2] == "layout" for d in nested) and not any(d[2] == "layout" for d in plain)
    moved = flows / "elsewhere.yml"
    shutil.move(flows / "company" / "ops" / "cleanup.yml", moved)
    _, after_move = _check(flows, layout="dotted")
    assert any(d[0].endswith("elsewhere.yml") and d[2] == "layout" for d in after_move)
    assert not any(d[0].endswith("ops/cleanup.yml") for d in after_move)


def test_versioned_rules_are_judged_for_the_version_asked(tmp_path, cache_dir):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "f.yml").write_text(
        "id: f\nnamespace: team\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n"
        "    message: hi\ninputs:\n  - id: b\n    type: BOOLEAN\n"
    )
    runs = {
        v: run_cli("validate", "flows", "--kestra-version", v, cwd=tmp_path, env=_env(cache_dir))
        for v in ("1.3", "2.0", "1.3", "2.0")
    }
    cold = {
        v: run_cli(
            "validate",
            "flows",
            "--kestra-version",
            v,
            cwd=tmp_path,
            env={**_env(cache_dir), "KESTRA_SYNC_CACHE": "off"},
        )
        for v in ("1.3", "2.0")
    }
    for v in ("1.3", "2.0"):
        assert (runs[v].returncode, runs[v].stdout) == (cold[v].returncode, cold[v].stdout)
    assert (
        runs["1.3"].returncode != runs["2.0"].returncode or runs["1.3"].stdout != runs["2.0"].stdout
    ), "BOOLEAN is judged differently by 1.3 and 2.0"


def _env(cache_dir: Path) -> dict[str, str]:
    return {"KESTRA_SYNC_CACHE_DIR": str(cache_dir)}


def test_a_corrupt_or_foreign_cache_is_ignored_and_replaced(tmp_path, cache_dir):
    flows = _project(tmp_path)
    cold, expected = _check(flows)
    (cache_file,) = cache_dir.iterdir()
    for junk in (b"{not json", b"[]", json.dumps({"format": 99}).encode(), b"\xff\xfe"):
        cache_file.write_bytes(junk)
        _, got = _check(flows)
        assert got == expected
        assert json.loads(cache_file.read_bytes())["format"] == resultcache.FORMAT
    body = json.loads(cache_file.read_bytes())
    body["code"] = "another kestra-sync"
    for entry in body["entries"].values():
        entry[0], entry[3] = {"id": "forged", "namespace": "forged", "tasks": []}, []
    cache_file.write_text(json.dumps(body))
    check, got = _check(flows)
    assert got == expected
    assert [(f.id, f.namespace, f.data) for f in check.flows] == [
        (f.id, f.namespace, f.data) for f in cold.flows
    ]


def test_off_writes_nothing(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("KESTRA_SYNC_CACHE", "off")
    _check(_project(tmp_path))
    assert not cache_dir.exists()


def test_an_unwritable_cache_directory_costs_nothing_but_time(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text(
        "a file where the cache directory would go: nobody, root included, can "
        "create a directory under it"
    )
    flows = _project(tmp_path)
    env = {"KESTRA_SYNC_CACHE_DIR": str(blocker / "kestra-sync")}
    first = run_cli("validate", "flows", cwd=tmp_path, env=env)
    again = run_cli("validate", "flows", cwd=tmp_path, env=env)
    off = run_cli("validate", "flows", cwd=tmp_path, env={**env, "KESTRA_SYNC_CACHE": "off"})
    assert first.returncode == again.returncode == off.returncode, first.stderr
    assert first.stdout == again.stdout == off.stdout
    assert first.stderr == off.stderr, "no word about the cache"
    assert flows.is_dir()


def test_the_cache_is_private_to_its_owner(tmp_path, monkeypatch):
    where = tmp_path / "fresh" / "kestra-sync"
    monkeypatch.setenv("KESTRA_SYNC_CACHE_DIR", str(where))
    _check(_project(tmp_path))
    (cache_file,) = where.iterdir()
    assert stat.S_IMODE(where.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600


def test_the_cache_goes_to_the_users_cache_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("KESTRA_SYNC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    flows = _project(tmp_path)
    _check(flows)
    assert [p.name.startswith("results-") for p in (tmp_path / "xdg" / "kestra-sync").iterdir()]
    assert {p.name for p in flows.rglob("*")} == {
        p.name for p in (DATA / "kestra-1.3").rglob("*")
    } | {"octal.yml"}, "nothing is written into the flow directory"


def test_a_pre_commit_run_on_some_files_keeps_the_others(tmp_path, cache_dir):
    flows = _project(tmp_path)
    _check(flows)
    settings = load_settings({"url": "http://localhost:8080", "directory": str(flows)})
    one = flows / "company" / "ops" / "cleanup.yml"
    check_project(settings, [one])
    warm, _ = _check(flows)
    assert sum(c.hits for c in warm.caches.values()) == len(warm.flows)


def test_caches_of_directories_unused_for_a_month_are_deleted(tmp_path, cache_dir):
    gone, kept = tmp_path / "gone", _project(tmp_path)
    shutil.copytree(kept, gone)
    _check(gone)
    (old,) = cache_dir.iterdir()
    month_ago = old.stat().st_mtime - (resultcache.UNUSED_DAYS + 1) * 86400
    os.utime(old, (month_ago, month_ago))
    _check(kept)  # a cold run of another directory writes its cache, and tidies up
    assert old.exists() is False
    assert len(list(cache_dir.iterdir())) == 1
    _check(kept)
    (still,) = cache_dir.iterdir()
    os.utime(still, (month_ago, month_ago))
    _check(kept)  # a warm run reads it: it is in use
    assert still.stat().st_mtime > month_ago


def test_a_hand_edited_cache_of_the_right_format_is_not_trusted_blindly(tmp_path, cache_dir):
    """Well-formed JSON of this version whose entries hold values of the wrong type (an edit,
    another tool): a run answers as a cold one, never a traceback."""
    flows = _project(tmp_path)
    cold, expected = _check(flows)
    _check(flows)  # the checks are kept too
    (cache_file,) = cache_dir.iterdir()
    body = json.loads(cache_file.read_bytes())
    for entry in body["entries"].values():
        entry[4] = [["yaml-syntax", "edited", "not a line", None, "error"]]
        entry[5] = [["system.readOnly", True]]  # a label value that is not text
        for key in entry[-1]:
            entry[-1][key] = [["x.yml", "edited", "error", "L1", None, "edited", False]]
    cache_file.write_text(json.dumps(body))
    _, got = _check(flows)
    assert got == expected
    result = run_cli("validate", str(flows), cwd=tmp_path, env=_env(cache_dir))
    off = run_cli(
        "validate", str(flows), cwd=tmp_path, env={**_env(cache_dir), "KESTRA_SYNC_CACHE": "off"}
    )
    assert (result.returncode, result.stdout) == (off.returncode, off.stdout), result.stderr


def test_another_jsonschema_drops_the_cache(tmp_path, cache_dir, monkeypatch):
    """The schema check's messages are jsonschema's own (err.message): after an upgrade of it,
    a kept check would show the old wording."""
    import importlib.util

    flows = _project(tmp_path)
    _check(flows)
    upgraded = tmp_path / "site" / "jsonschema"
    shutil.copytree(Path(importlib.util.find_spec("jsonschema").origin).parent, upgraded)
    with (upgraded / "exceptions.py").open("a") as handle:
        handle.write("\n# another release\n")
    monkeypatch.syspath_prepend(str(upgraded.parent))
    monkeypatch.delitem(sys.modules, "jsonschema", raising=False)  # as in a new process
    monkeypatch.setattr(resultcache, "_FINGERPRINT", None)
    warm, _ = _check(flows)
    assert sum(c.hits for c in warm.caches.values()) == 0


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners")
def test_a_cache_file_someone_else_could_have_written_is_not_read(tmp_path, cache_dir):
    """In a shared KESTRA_SYNC_CACHE_DIR (/tmp/...), another user could swap in a file that
    gives flows other identities (and so a --delete other victims): only a file of the user
    running, writable by no one else, is read."""
    flows = _project(tmp_path)
    _check(flows)
    (cache_file,) = cache_dir.iterdir()
    cache_file.chmod(0o666)
    warm, _ = _check(flows)
    assert sum(c.hits for c in warm.caches.values()) == 0
    if os.geteuid() == 0:  # only root can give a file away
        os.chown(cache_file, os.geteuid() + 1, -1)
        cache_file.chmod(0o600)
        warm, _ = _check(flows)
        assert sum(c.hits for c in warm.caches.values()) == 0


def test_the_cache_stays_private_when_a_schema_download_made_its_directory(tmp_path, monkeypatch):
    """`validate --schema URL` keeps the schema in the same kestra-sync cache directory: made
    first, it must not leave that directory readable by others."""
    import responses

    from kestra_sync.rules.schemacheck import resolve_schema

    monkeypatch.delenv("KESTRA_SYNC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    old = os.umask(0o022)
    try:
        url = "http://127.0.0.1:1/api/v1/plugins/schemas/flow"
        with responses.RequestsMock() as rsps:
            rsps.add(responses.GET, url, json={"type": "object"})
            resolve_schema(url)
        _check(_project(tmp_path))
    finally:
        os.umask(old)
    where = tmp_path / "xdg" / "kestra-sync"
    assert any(p.name.startswith("results-") for p in where.iterdir())
    assert stat.S_IMODE(where.stat().st_mode) == 0o700


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_cache_path_that_is_not_a_regular_file_does_not_hang_the_run(tmp_path, cache_dir):
    """A FIFO where the cache file goes (made by mistake, or by another user in a shared
    directory) would block the open for ever: it is skipped like any unreadable cache."""
    flows = _project(tmp_path)
    _check(flows)
    (cache_file,) = cache_dir.iterdir()
    cache_file.unlink()
    os.mkfifo(cache_file, 0o600)
    off = run_cli("validate", "flows", cwd=tmp_path, env={"KESTRA_SYNC_CACHE": "off"})
    result = run_cli("validate", "flows", cwd=tmp_path, env=_env(cache_dir))
    assert (result.returncode, result.stdout) == (off.returncode, off.stdout), result.stderr


def test_another_libyaml_drops_the_cache(tmp_path, cache_dir, monkeypatch):
    """PyYAML built against the system's libyaml keeps its version when libyaml is upgraded,
    and the syntax errors' wording is libyaml's."""
    yaml_c = pytest.importorskip("yaml._yaml")
    flows = _project(tmp_path)
    _check(flows)
    monkeypatch.setattr(yaml_c, "get_version_string", lambda: "9.9.9")
    monkeypatch.setattr(resultcache, "_FINGERPRINT", None)
    warm, _ = _check(flows)
    assert sum(c.hits for c in warm.caches.values()) == 0


def _plan_body(result, url: str) -> dict:
    body = json.loads(result.stdout.replace(url, "URL"))
    for volatile in ("created_at", "checksum"):
        body.pop(volatile, None)
    return body


def test_warm_plans_and_applies_against_a_server_match_runs_without_the_cache(
    tmp_path, cache_dir, make_emulator
):
    """The CLI end to end, against two emulators driven alike: one with no cache, one with a
    cache warmed at every step. Plans (with the server's version judged, --delete keeping a
    Subflow's target) and the flows the servers end up with must be the same."""
    flows = tmp_path / "flows" / "company" / "team"
    flows.mkdir(parents=True)
    log = "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: {}\n"
    (flows / "parent.yml").write_text(
        "id: parent\nnamespace: company.team\ntasks:\n  - id: call\n"
        "    type: io.kestra.plugin.core.flow.Subflow\n    namespace: company.team\n"
        "    flowId: child\n"
    )
    (flows / "child.yml").write_text("id: child\nnamespace: company.team\n" + log.format("a"))
    (flows / "other.yml").write_text("id: other\nnamespace: company.team\n" + log.format("a"))
    servers = {"off": make_emulator(version="1.3"), "on": make_emulator(version="1.3")}

    def both(*args, warm=True):
        out = {}
        for mode, emu in servers.items():
            env = {"KESTRA_URL": emu.url, **_env(cache_dir)}
            argv = [a.replace("MODE", mode) for a in args]
            if mode == "off":
                env["KESTRA_SYNC_CACHE"] = "off"
            elif warm:
                run_cli(*argv, cwd=tmp_path, env=env)  # warms the cache, then the run compared
            out[mode] = run_cli(*argv, cwd=tmp_path, env=env)
            assert out[mode].returncode == 0, out[mode].stderr  # plans and applies that succeed
        return out

    def plans(*args):
        out = both("plan", "flows", "--format", "json", *args)
        body = _plan_body(out["off"], servers["off"].url)
        assert body == _plan_body(out["on"], servers["on"].url)
        return {c["id"]: c["action"] for c in body["changes"]}

    both("apply", "flows", "-y")
    other = flows / "other.yml"
    before = other.stat()
    other.write_text(other.read_text().replace("message: a", "message: b"))  # same size
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    (flows / "child.yml").unlink()  # still called by parent: --delete keeps it
    assert plans("--delete") == {"other": "update", "child": "unmanaged", "parent": "unchanged"}
    plans("--delete", "--kestra-version", "2.0")
    both("plan", "flows", "--delete", "--out", "plan-MODE.json")
    both("apply", "plan-MODE.json", "-y", warm=False)
    sources = {
        mode: [
            KestraClient(emu.url, retries=0).get_flow("company.team", flow_id).source
            for flow_id in ("parent", "child", "other")
        ]
        for mode, emu in servers.items()
    }
    assert sources["off"] == sources["on"]
    assert sources["on"][2] == other.read_text(), "the edit that kept size and mtime is applied"


def test_a_jsonschema_that_cannot_be_located_means_no_reuse_not_a_crash(monkeypatch):
    """find_spec raises ValueError for a loaded module without a spec (an embedding, a
    freezer): the fingerprint is then unique to this run, and the run goes on."""
    import types

    monkeypatch.setitem(sys.modules, "jsonschema", types.ModuleType("jsonschema"))
    monkeypatch.setattr(resultcache, "_FINGERPRINT", None)
    first = resultcache.code_fingerprint()
    monkeypatch.setattr(resultcache, "_FINGERPRINT", None)
    assert resultcache.code_fingerprint() != first


OWNED = "labels:\n  system.readOnly: true\n"


def test_a_warm_validate_with_an_ownership_label_parses_no_unchanged_file(
    tmp_path, cache_dir, monkeypatch
):
    """The ownership check needs each flow's labels: the cache keeps them per file text, so a
    warm run parses nothing unchanged and reports what a cold run does; an edited file is parsed
    again and judged by its new labels."""
    from click.testing import CliRunner

    from kestra_sync.cli import cli
    from kestra_sync.planning import references, semantic
    from kestra_sync.rules import fix, flowchecks, servercheck, validate
    from kestra_sync.source import flowscan as flows
    from kestra_sync.source import yamlindex

    team = tmp_path / "flows" / "company" / "team"
    team.mkdir(parents=True)
    body = "namespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"
    variants = {
        "map": OWNED,
        "list": "labels:\n  - key: system.readOnly\n    value: true\n",
        "wrong-value": "labels:\n  system.readOnly: false\n",
        "bare": "",
        "odd-labels": "labels: system.readOnly\n",
        "int-key": "labels:\n  1: true\n  system.readOnlyx: true\n",
    }
    for name, head in variants.items():
        (team / f"{name}.yml").write_text(f"id: {name}\n{head}{body}    message: hi\n")
    parsed: list[str] = []
    real = yamlindex.parse_yaml

    def counting(text, *args, **kwargs):
        parsed.append(text)
        return real(text, *args, **kwargs)

    for module in (yamlindex, flows, flowchecks, fix, references, semantic, servercheck, validate):
        monkeypatch.setattr(module, "parse_yaml", counting)
    for name in [k for k in os.environ if k.startswith("KESTRA_") and k != "KESTRA_SYNC_CACHE_DIR"]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    args = ["validate", "flows", "--format", "json"]
    label = ("--ownership-label", "system.readOnly=true")

    def run(*extra: str) -> tuple[int, list]:
        parsed.clear()
        result = CliRunner().invoke(cli, args[:2] + list(extra) + args[2:])
        return result.exit_code, json.loads(result.stdout)["diagnostics"]

    cold = run(*label)
    assert len(parsed) >= len(variants), "the cold run parses every file"
    missing = sorted(
        Path(d["path"]).stem for d in cold[1] if d["code"] == "missing-ownership-label"
    )
    assert (cold[0], missing) == (1, ["bare", "int-key", "odd-labels", "wrong-value"])
    run()
    # Files with other errors are looked into again whatever the option (is it a flow at all?
    # guidance.py): the baseline. The option adds no parse to it; valid files are never parsed.
    baseline = sorted(parsed)
    assert all(("int-key" in text or "odd-labels" in text) for text in baseline)
    warm = run(*label)
    assert sorted(parsed) == baseline
    assert warm == cold
    monkeypatch.setenv("KESTRA_SYNC_CACHE", "off")
    assert run(*label) == cold
    monkeypatch.delenv("KESTRA_SYNC_CACHE")

    edited = team / "bare.yml"
    edited.write_text(edited.read_text().replace("id: bare\n", "id: bare\n" + OWNED))
    after = run(*label)
    assert sorted(parsed) == sorted([edited.read_text(), *baseline])  # and the edited file
    assert [d for d in after[1] if d["path"].endswith("bare.yml")] == []
    assert [d for d in after[1] if not d["path"].endswith("bare.yml")] == [
        d for d in cold[1] if not d["path"].endswith("bare.yml")
    ]


def test_warm_plans_and_applies_with_an_ownership_label_parse_no_unchanged_file(
    tmp_path, cache_dir, monkeypatch, emulator
):
    """plan and apply judge ownership on the server's labels (the listing): with the option
    configured, a warm run still parses no unchanged file, and deletes what a cold run does."""
    from click.testing import CliRunner

    from kestra_sync.cli import cli
    from kestra_sync.planning import references, semantic
    from kestra_sync.rules import fix, flowchecks, servercheck, validate
    from kestra_sync.source import flowscan as flows
    from kestra_sync.source import yamlindex

    team = tmp_path / "flows" / "company" / "team"
    team.mkdir(parents=True)
    task = "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
    for name in ("a", "b", "c"):
        (team / f"{name}.yml").write_text(f"id: {name}\nnamespace: company.team\n{OWNED}{task}")
    with KestraClient(emulator.url, retries=0) as client:
        client.create_flow(f"id: gone\nnamespace: company.team\n{OWNED}{task}")
        client.create_flow(f"id: made-in-ui\nnamespace: company.team\n{task}")
    parsed: list[str] = []
    real = yamlindex.parse_yaml

    def counting(text, *args, **kwargs):
        parsed.append(text)
        return real(text, *args, **kwargs)

    for module in (yamlindex, flows, flowchecks, fix, references, semantic, servercheck, validate):
        monkeypatch.setattr(module, "parse_yaml", counting)
    for name in [k for k in os.environ if k.startswith("KESTRA_") and k != "KESTRA_SYNC_CACHE_DIR"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KESTRA_URL", emulator.url)
    monkeypatch.chdir(tmp_path)
    owned = ("--delete", "--ownership-label", "system.readOnly=true")

    def run(*args: str):
        parsed.clear()
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    run("apply", "flows", "-y")  # cold: creates a, b, c
    assert len(parsed) >= 3
    plan = json.loads(run("plan", "flows", *owned, "--format", "json"))
    assert parsed == []
    actions = {c["id"]: c["action"] for c in plan["changes"]}
    assert actions == {
        "a": "unchanged",
        "b": "unchanged",
        "c": "unchanged",
        "gone": "delete",
        "made-in-ui": "unmanaged",  # not deleted: it lacks the label
    }
    run("apply", "flows", "-y", *owned)
    assert parsed == []
    assert sorted(r.id for r in emulator.store.live("main")) == ["a", "b", "c", "made-in-ui"]
