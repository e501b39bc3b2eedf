"""End to end: a flow whose id or namespace Kestra accepts but whose layout file the scan
reads as something else (`kv.yml` is the namespace's KV pairs, `namespace.yml` its settings,
a namespace `acme._files` lands in acme's namespace files in the nested layout). Pulled there,
the flow would vanish from git's side (and a kv.yml holding a flow is no KV file): pull
leaves it unwritten, says why, and exits 1."""

from __future__ import annotations

import pytest

from kestra_sync.client import KestraClient
from tests.support.cli import run_cli

FINE = "id: fine\nnamespace: acme\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: x\n"


def flow(namespace: str, flow_id: str) -> str:
    return FINE.replace("id: fine", f"id: {flow_id}").replace(
        "namespace: acme", f"namespace: {namespace}"
    )


@pytest.mark.parametrize(
    "namespace, flow_id, shown",
    [
        ("acme", "kv", "acme/kv.yml"),
        ("acme", "namespace", "acme/namespace.yml"),
        ("acme", "kv.prod", "acme/kv.prod.yml"),
        ("acme._files", "x", "acme/_files/x.yml"),
        ("acme._tests", "x", "acme/_tests/x.yml"),
    ],
)
def test_a_flow_whose_layout_file_the_scan_reads_as_another_kind_is_not_written_there(
    emulator, tmp_path, namespace, flow_id, shown
):
    with KestraClient(emulator.url) as client:
        client.create_flow(FINE)
        client.create_flow(flow(namespace, flow_id))
    env = {"KESTRA_URL": emulator.url}
    pulled = run_cli("pull", "flows", "--all", cwd=tmp_path, env=env)
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr
    assert (tmp_path / "flows/acme/fine.yml").read_text() == FINE
    assert not (tmp_path / "flows" / shown).exists()
    said = [line for line in pulled.stderr.splitlines() if shown in line]
    assert said and f"({namespace}/{flow_id})" in said[0], pulled.stderr


def test_two_kinds_never_write_the_same_file_even_with_overwrite(emulator, tmp_path):
    """Nested, the KV pairs of `acme._files` go to `acme/_files/kv.yml`: the very file that
    holds acme's namespace file `kv.yml`. The second write replaced the first (--overwrite)
    and the next plan uploaded KV pairs as acme's file: the pull is refused, nothing written."""
    with KestraClient(emulator.url) as client:
        client.create_flow(FINE)
        client.create_flow(flow("acme._files", "x"))
        client.put_namespace_file("acme", "/kv.yml", b"a namespace file of acme\n")
        client.put_kv("acme._files", "region", "eu")
    env = {"KESTRA_URL": emulator.url}
    pulled = run_cli("pull", "--all", "--overwrite", cwd=tmp_path, env=env)
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr
    assert "flows/acme/_files/kv.yml" in pulled.stderr, pulled.stderr
    assert "nothing was written" in pulled.stderr
    assert not (tmp_path / "flows").exists()


def test_a_link_out_of_the_directory_refuses_the_whole_pull_for_every_kind(emulator, tmp_path):
    """kv.yml planted as a link to a file outside: refused before anything is written (as a
    namespace file's path through a link is), not after the flows and files were written."""
    with KestraClient(emulator.url) as client:
        client.create_flow(FINE)
        client.put_namespace_file("acme", "/a.txt", b"a\n")
        client.put_kv("acme", "region", "eu")
    outside = tmp_path / "outside.yml"
    outside.write_text("values: {}\n")
    work = tmp_path / "repo"
    (work / "flows/acme").mkdir(parents=True)
    (work / "flows/acme/kv.yml").symlink_to(outside)
    pulled = run_cli("pull", "--namespace", "acme", cwd=work, env={"KESTRA_URL": emulator.url})
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr
    assert "flows/acme/kv.yml" in pulled.stderr and "nothing was written" in pulled.stderr
    assert sorted(p.name for p in (work / "flows/acme").iterdir()) == ["kv.yml"]
    assert outside.read_text() == "values: {}\n"


APP = """id: request
type: io.kestra.plugin.ee.apps.Execution
displayName: Request
namespace: acme
flowId: fine
access:
  type: PRIVATE
layout:
  - on: OPEN
    blocks:
      - type: io.kestra.plugin.ee.apps.core.blocks.Markdown
        content: hi
"""


def test_an_app_folder_linked_out_of_the_directory_refuses_the_whole_pull(make_emulator, tmp_path):
    """`_apps` planted as a link out of the directory: the pull writes nothing (it wrote the
    flows and files, then kept the app as 'refused')."""
    emu = make_emulator(edition="ee")
    with KestraClient(emu.url) as client:
        client.create_flow(FINE)
        client.put_namespace_file("acme", "/a.txt", b"a\n")
        client.create_app(APP)
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "repo"
    (work / "flows/acme").mkdir(parents=True)
    (work / "flows/acme/_apps").symlink_to(outside)
    pulled = run_cli("pull", "--namespace", "acme", cwd=work, env={"KESTRA_URL": emu.url})
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr
    assert "flows/acme/_apps/request.yml" in pulled.stderr, pulled.stderr
    assert "nothing was written" in pulled.stderr
    assert sorted(p.name for p in (work / "flows/acme").iterdir()) == ["_apps"]
    assert list(outside.iterdir()) == []


def test_a_file_where_a_folder_must_go_is_named_and_a_rerun_converges(emulator, tmp_path):
    with KestraClient(emulator.url) as client:
        client.create_flow(FINE)
        client.put_namespace_file("acme", "/a.txt", b"a\\n")
    env = {"KESTRA_URL": emulator.url}
    (tmp_path / "flows/acme").mkdir(parents=True)
    (tmp_path / "flows/acme/_files").write_text("in the way")
    stopped = run_cli("pull", "--namespace", "acme", cwd=tmp_path, env=env)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    error = [line for line in stopped.stderr.splitlines() if line.startswith("error:")]
    assert error == [
        "error: flows/acme/_files/a.txt: cannot write (flows/acme/_files is a file where a "
        "folder must go): the pull stopped there; 1 file(s) were written before it (the "
        "`wrote` lines above), nothing after"
    ], stopped.stderr
    assert "wrote      flows/acme/fine.yml  (acme/fine)" in stopped.stdout
    (tmp_path / "flows/acme/_files").unlink()
    again = run_cli("pull", "--namespace", "acme", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "unchanged  flows/acme/fine.yml" in again.stdout
    assert (tmp_path / "flows/acme/_files/a.txt").read_bytes() == b"a\\n"


@pytest.mark.parametrize("suite_id", ["sub/x", "x.y", "-x"])
def test_a_test_suite_id_kestra_refuses_is_refused_not_written(make_emulator, tmp_path, suite_id):
    """A suite id becomes a file name in `_tests/`: one Kestra would not accept (`sub/x`
    made a folder the scan never reads, `x.y` a file validate refuses) refuses the pull, as
    an app's does."""
    import json

    from tests.support.hostile import HostileServer

    emu = make_emulator(edition="ee")
    with KestraClient(emu.url) as client:
        client.create_flow(FINE)
    source = f"id: {suite_id}\nnamespace: acme\nflowId: fine\ntestCases: []\n"
    suite = {"id": suite_id, "namespace": "acme", "flowId": "fine", "source": source}

    def answer(method, path, body):
        if method == "GET" and "/tests/search" in path:
            reply = {"results": [suite], "total": 1}
            return 200, {"Content-Type": "application/json"}, json.dumps(reply).encode()
        return None

    with HostileServer(answer, emu.url) as server:
        pulled = run_cli(
            "pull", "--namespace", "acme", cwd=tmp_path, env={"KESTRA_URL": server.url}
        )
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr
    assert f"acme test suite {suite_id!r}" in pulled.stderr, pulled.stderr
    assert "nothing was written" in pulled.stderr
    assert not (tmp_path / "flows").exists()


def test_a_kv_value_that_is_the_token_pull_connects_with_is_never_written(make_emulator, tmp_path):
    """A KV pair holding the very token kestra-sync connects with (under a key and in a form
    nothing flags as a secret) is held on the server like a secret: kv.yml lists its key under
    `sensitive:`, never the value."""
    token = "s3cr3t-Value-7f9a2c"
    emu = make_emulator(edition="ee", tokens=[token])
    with KestraClient(emu.url, token=token) as client:
        client.create_flow(FINE)
        client.put_kv("acme", "endpoint", token)
        client.put_kv("acme", "region", "eu")
    env = {"KESTRA_URL": emu.url, "KESTRA_API_TOKEN": token}
    pulled = run_cli("pull", "--namespace", "acme", cwd=tmp_path, env=env)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    text = (tmp_path / "flows/acme/kv.yml").read_text()
    assert token not in text and token not in pulled.stdout + pulled.stderr
    assert "endpoint" in text and "region: eu" in text


def test_kv_pairs_git_declares_elsewhere_are_pulled_into_that_file(emulator, tmp_path):
    """A kv.yml in another folder with `namespace: acme` holds acme's pairs: pull wrote a
    second one in flows/acme (the next plan refused both), and wrote over a local value
    that differs without --overwrite."""
    with KestraClient(emulator.url) as client:
        client.create_flow(FINE)
        client.put_kv("acme", "region", "us")
    env = {"KESTRA_URL": emulator.url}
    (tmp_path / "flows/acme").mkdir(parents=True)
    (tmp_path / "flows/acme/fine.yml").write_text(FINE)
    shared = tmp_path / "flows/settings/kv.yml"
    shared.parent.mkdir()
    shared.write_text("namespace: acme\nvalues:\n  region: eu\n")
    kept = run_cli("pull", "--namespace", "acme", cwd=tmp_path, env=env)
    assert kept.returncode == 1, kept.stdout + kept.stderr
    assert "conflict   flows/settings/kv.yml  (acme KV)" in kept.stderr, kept.stderr
    assert not (tmp_path / "flows/acme/kv.yml").exists()
    taken = run_cli("pull", "--namespace", "acme", "--overwrite", cwd=tmp_path, env=env)
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert not (tmp_path / "flows/acme/kv.yml").exists()
    plan = run_cli("plan", "--detailed-exitcode", cwd=tmp_path, env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_a_listing_that_fails_for_one_kind_says_nothing_was_written(emulator, tmp_path):
    from tests.support.hostile import HostileServer

    with KestraClient(emulator.url) as client:
        client.create_flow(FINE)
        client.put_namespace_file("acme", "/a.txt", b"a\n")

    def answer(method, path, body):
        if "/kv" in path:  # control characters in the server's message are never echoed raw
            return 500, {"Content-Type": "application/json"}, b'{"message":"boom \x1b[31m"}'
        return None

    with HostileServer(answer, emulator.url) as server:
        pulled = run_cli("pull", "--all", cwd=tmp_path, env={"KESTRA_URL": server.url})
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr
    error = [line for line in pulled.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "/namespaces/acme/kv" in error[0], pulled.stderr
    assert error[0].endswith(": nothing was written"), pulled.stderr
    assert "\x1b" not in pulled.stderr + pulled.stdout
    assert list(tmp_path.iterdir()) == []
