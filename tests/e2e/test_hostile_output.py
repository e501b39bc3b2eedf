"""What a hostile server or repository can put in front of a reviewer, end to end: the real CLI
(and the GitHub Action's entry point, against a fake GitHub) over real HTTP, with a Kestra whose
namespace files are named to break out of where they are shown (a line feed then
``::error::``, OSC and CSI terminal sequences, Markdown: `|`, backticks, ``> [!NOTE]``, an
``@mention``, an image link) and whose KV store holds secrets git never declared."""

from __future__ import annotations

import json
import re

import pytest

from kestra_sync.emulator.resources import store_of
from tests.support.github import FakeGitHub, action_env
from tests.support.github import run_action as run_action_step
from tests.support.project import Project, client, line_with

NS = "company.team"
SECRET = "hunter2-Sup3rSecret"
HOSTILE_NAMES = [
    "/a\n::error::pwned.txt",
    "/osc\x1b]8;;https:evil.example\x07click\x1b]8;;\x07.txt",  # no "//": an empty segment, refused
    "/csi\x1b[2J\x1b[1;1H.txt",
    "/c1\x9b31m.txt",
    "/rtl\u202eexe.txt",
    "/t|b`c`.md",
    "/v1 ##[error]pwned.txt",  # the runner's older command form, read anywhere in a line
    "/> [!NOTE] @octocat ![i](https:evil.example?i.png) <img src=x>.txt",
]


@pytest.fixture
def hostile(tmp_path, emulator) -> Project:
    """A repository with one namespace file and a kv.yml, and a server whose namespace holds
    files with hostile names (stored as a server would serve them: the emulator's store takes
    what Kestra's API would, and more) and KV secrets git does not declare."""
    for name in HOSTILE_NAMES:
        store_of(emulator._server).put_file("main", NS, name, b"x")
    with client(emulator) as c:
        c.put_kv(NS, "db_password", SECRET, None)
        c.put_kv(NS, "session", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", None)
        c.put_kv(NS, "region", f"eu {SECRET}", None)  # not secret-looking, still the server's
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    files = tmp_path / "flows/company/team/_files"
    files.mkdir(parents=True)
    (files / "ok.txt").write_text("ok\n")
    (tmp_path / "flows/company/team/kv.yml").write_text("managed: true\nvalues:\n  region: us\n")
    return p


def outside_code(markdown: str) -> str:
    """The Markdown with its code spans and fenced blocks removed: what GitHub interprets."""
    markdown = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1\s*$", "", markdown)
    return re.sub(r"(`+)(?!`).+?(?<!`)\1(?!`)", "", markdown)


def unescaped(char: str, text: str) -> int:
    return len(re.findall(r"(?<!\\)" + re.escape(char), text))


def assert_markdown_inert(markdown: str) -> None:
    """No name broke a table row, started a line of its own, or became a mention, an image,
    a link or HTML."""
    rows = [ln for ln in markdown.splitlines() if ln.startswith("| ")]
    assert rows, markdown
    for row in rows:
        assert unescaped("|", row) == 6, row  # | icon | kind | name | action | details |
    live = outside_code(markdown)
    for line in live.splitlines():
        assert not line.startswith((">", "::")), line
    for marker in ("@octocat", "![", "<img", "](http"):
        assert not re.search(r"(?<!\\)" + re.escape(marker), live), (marker, live)
    for char in "\x1b\x07\x9b\u202e":
        assert char not in markdown


def assert_terminal_inert(text: str) -> None:
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), line
    assert "##[" not in text
    for char in "\x1b\x07\x9b\u202e":
        assert char not in text


def test_plan_text_escapes_server_names_and_shows_each_kind(hostile):
    done = hostile.plan("--delete")
    assert done.returncode == 0, done.stderr
    assert_terminal_inert(done.stdout)
    assert_terminal_inert(done.stderr)
    # Each name is shown, its control characters visible, under its kind.
    line_with(done.stdout, "- file /a\\n::error::pwned.txt", "delete")
    line_with(done.stdout, "- file /osc\\x1b]8;;https:evil.example\\x07click", "delete")
    line_with(done.stdout, "- file /c1\\x9b31m.txt", "delete")
    line_with(done.stdout, "- file /rtl\\u202eexe.txt", "delete")
    line_with(done.stdout, "- kv db_password", "delete")
    line_with(done.stdout, "- file /v1 #\\x23[error]pwned.txt", "delete")


def test_plan_markdown_escapes_every_name_into_its_table_cell(hostile):
    done = hostile.plan("--delete", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    assert_markdown_inert(done.stdout)
    assert "| 🗑️ | KV pair | `company.team` `db_password` | delete |" in done.stdout
    assert "| 🗑️ | namespace file | `company.team` ``/t\\|b`c`.md`` | delete |" in done.stdout


def test_plan_under_github_actions_cannot_issue_workflow_commands(hostile):
    """Run as a plain `run:` step: a line of a diff (text git or the server holds) may start
    with `::` after its indentation, which the runner reads as a command."""
    files = hostile.root / "flows/company/team/_files"
    (files / "hostile.txt").write_text("  ::error::from git\n")
    store_of(hostile.emu._server).put_file("main", NS, "/hostile.txt", b"  ::warning::old\n")
    done = hostile.plan(env={"GITHUB_ACTIONS": "true"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert len(token) == 32 and lines[-1] == f"::{token}::"
    assert any("::error::from git" in line for line in lines[1:-1])
    assert_terminal_inert("\n".join(lines[1:-1]))  # no control character either


def test_validate_refuses_namespace_file_names_with_control_characters(hostile):
    files = hostile.root / "flows/company/team/_files"
    (files / "bad\x1b[31mname.txt").write_text("x")
    (files / "two\nlines.txt").write_text("x")
    kv = hostile.root / "flows/company/team/kv.yml"
    kv.write_text('values:\n  "key\\n::error::x\\e[2J": 1\n')  # YAML's own escapes
    done = hostile.run("validate")
    assert done.returncode == 1
    assert_terminal_inert(done.stdout + done.stderr)
    line_with(done.stdout, "bad\\x1b[31mname.txt", "control characters (\\x1b)", "rename")
    line_with(done.stdout, "two\\nlines.txt", "control characters (\\n)", "rename")
    line_with(done.stdout, "kv.yml:2", "KV key 'key\\n::error::x\\x1b[2J'", "letters, digits")


def run_action(project: Project, github: str, monkeypatch, **inputs) -> tuple[int, str, str]:
    tmp = project.root.parent
    monkeypatch.chdir(project.root)
    env = {
        **action_env(tmp, project.root, github),
        "INPUT_SERVER": project.emu.url,
        "INPUT_GITHUB_TOKEN": "ghs_hostile_token_1234",
        "INPUT_COMMENT": "true",
    }
    code, log = run_action_step(env, **inputs)
    return code, log, (tmp / "summary.md").read_text()


def test_action_summary_comment_and_log_escape_names_and_show_kinds(hostile, github, monkeypatch):
    code, log, summary = run_action(hostile, github, monkeypatch, command="plan", delete="true")
    assert code == 0, log
    (comment,) = FakeGitHub.comments
    for markdown in (summary, comment["body"]):
        assert_markdown_inert(markdown)
        # The kind in every row: a KV pair's delete never reads as a flow's.
        assert "| 🗑️ | KV pair | `company.team` `db_password` | delete |" in markdown
        assert "| ➕ | namespace file | `company.team` `/ok.txt` | create |" in markdown
    for line in log.splitlines():
        assert not line.lstrip().startswith("::error::pwned"), line
        assert "##[error]pwned" not in line
    for char in "\x1b\x07\x9b\u202e":
        assert char not in log
    assert "- kv db_password" in log  # the plan in the log names the kind too
    # KV values only the server holds: in no log, summary, comment or saved plan.
    saved = (hostile.root.parent / "kestra-sync-plan.json").read_text()
    for text in (log, summary, comment["body"], saved):
        assert SECRET not in text


def test_action_apply_report_names_the_kind(hostile, github, monkeypatch):
    code, log, summary = run_action(hostile, github, monkeypatch, command="apply", delete="true")
    assert code == 0, log
    assert_markdown_inert(summary)
    assert "| ✅ | KV pair | `company.team` `db_password` | delete | deleted |" in summary
    assert "| ✅ | namespace file | `company.team` `/a\\n::error::pwned.txt` | delete |" in summary


def test_plan_json_carries_names_with_control_characters_escaped(hostile):
    done = hostile.plan("--delete", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert_terminal_inert(done.stdout)  # C1 and bidi characters too, which JSON allows raw
    data = json.loads(done.stdout)  # the same names, as JSON escapes
    assert {c["id"] for c in data["changes"] if c["kind"] == "file"} >= set(HOSTILE_NAMES)


def test_pull_refuses_server_names_validate_would_refuse(hostile):
    done = hostile.run("pull", "--namespace", NS, "flows")
    assert done.returncode == 1
    assert_terminal_inert(done.stdout + done.stderr)
    line_with(done.stderr, "refused", "/a\\n::error::pwned.txt", "control characters")
    line_with(done.stderr, "refused", "/rtl\\u202eexe.txt", "control characters")
    # A refused entry makes the whole pull write nothing (nothing is half pulled).
    assert "nothing was written" in done.stderr
    written = {p.name for p in (hostile.root / "flows/company/team/_files").iterdir()}
    assert written == {"ok.txt"}


def test_action_annotation_of_a_failed_kv_write_names_the_kind(hostile, github, monkeypatch):
    hostile.emu.faults.add("PUT", r"/kv/region$", status=400, count=100)
    code, log, summary = run_action(hostile, github, monkeypatch, command="apply")
    assert code == 1, log
    (failed,) = [ln for ln in log.splitlines() if ln.startswith("::error") and "failed:" in ln]
    assert "::update company.team kv region failed: " in failed
    assert "| ❌ | KV pair | `company.team` `region` | update |" in summary
