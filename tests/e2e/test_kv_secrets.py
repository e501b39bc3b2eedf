"""KV values that may be secrets, end to end through the real CLI against the emulator: a value
only the server holds never reaches a plan (text, JSON, Markdown, a saved plan, `show`), a key
kv.yml marks `sensitive:` shows only "changed", and pull writes a secret-looking value as a
reference that leaves the server's value alone, never the value."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.project import Project, client, line_with

NS = "company.team"
SECRET = "hunter2-Sup3rSecret"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
PLAIN = "eu-west-1-server-only"  # no secret by its looks: still never shown, git did not declare it


def kv_file(p: Project):
    return p.root / "flows/company/team/kv.yml"


def server_kv(p: Project) -> dict:
    with client(p.emu) as c:
        return {k: v for k, (_, v) in c.namespace_kv(NS).items()}


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    with client(emulator) as c:
        c.put_kv(NS, "db_password", SECRET, None)
        c.put_kv(NS, "session", JWT, None)
        c.put_kv(NS, "region", PLAIN, None)
        c.put_kv(NS, "old_setting", PLAIN + "-old", None)
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    kv_file(p).parent.mkdir(parents=True)
    return p


def no_server_value(text: str) -> None:
    for value in (SECRET, JWT, PLAIN):
        assert value not in text


def test_server_values_reach_no_plan_output_and_no_saved_plan(project):
    kv_file(project).write_text("managed: true\nvalues:\n  region: eu-central-1\n")
    text = project.plan("--delete")
    assert text.returncode == 0, text.stderr
    no_server_value(text.stdout + text.stderr)
    line_with(text.stdout, "~ kv region", "update")
    line_with(text.stdout, 'value -> "eu-central-1"', "the server's value is not shown")
    line_with(text.stdout, "- kv db_password", "delete")
    assert text.stdout.count("string value (not shown: it is not in git)") == 3

    for args in (["--format", "json"], ["--format", "markdown"]):
        done = project.plan("--delete", *args)
        assert done.returncode == 0, done.stderr
        no_server_value(done.stdout)
    done = project.plan("--delete", "--out", "plan.json")
    assert done.returncode == 0, done.stderr
    saved = (project.root / "plan.json").read_text()
    no_server_value(saved)
    assert "eu-central-1" in saved  # what git declares: apply needs it
    shown = project.run("show", "plan.json")
    no_server_value(shown.stdout)

    applied = project.run("apply", "plan.json", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    no_server_value(applied.stdout + applied.stderr)
    assert server_kv(project) == {"region": "eu-central-1"}


def test_a_sensitive_key_shows_only_set_or_changed(project):
    url = "postgres://app:pw-Str0ng@db.internal/app"
    kv_file(project).write_text(
        f"sensitive: [db_url, db_password]\nvalues:\n  db_url: {url}\n  db_password: {SECRET}\n"
    )
    plan = project.plan()
    assert plan.returncode == 0, plan.stderr  # db_password: a secret by its name, acknowledged
    line_with(plan.stdout, "+ kv db_url", "create")
    line_with(plan.stdout, "value set (sensitive: not shown)")
    assert url not in plan.stdout and SECRET not in plan.stdout
    for args in (["--format", "json"], ["--format", "markdown"]):
        done = project.plan(*args)
        assert url not in done.stdout and SECRET not in done.stdout
    applied = project.run("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert url not in applied.stdout + applied.stderr
    assert server_kv(project)["db_url"] == url

    kv_file(project).write_text(
        f"sensitive: [db_url, db_password]\nvalues:\n  db_url: {url}-2\n  db_password: {SECRET}\n"
    )
    changed = project.plan()
    line_with(changed.stdout, "~ kv db_url", "update")
    line_with(changed.stdout, "value changed (sensitive: not shown)")
    assert url not in changed.stdout


def test_kv_yml_sensitive_must_list_kv_keys(project):
    kv_file(project).write_text("sensitive: db_url\nvalues:\n  db_url: x\n")
    done = project.run("validate")
    assert done.returncode == 1
    line_with(done.stdout, "kv.yml", "`sensitive` must be a list of KV keys")


def test_pull_writes_secrets_as_references_and_the_next_plan_keeps_them(project):
    done = project.run("pull", "--namespace", NS, "flows")
    assert done.returncode == 0, done.stdout + done.stderr
    assert SECRET not in done.stdout + done.stderr and JWT not in done.stdout + done.stderr
    line_with(done.stderr, "not pulled", "KV db_password", "looks like a secret", "sensitive:")
    line_with(done.stderr, "not pulled", "KV session", "looks like a secret")
    text = kv_file(project).read_text()
    assert SECRET not in text and JWT not in text
    data = yaml.safe_load(text)
    assert data == {
        "sensitive": ["db_password", "session"],
        "values": {"old_setting": PLAIN + "-old", "region": PLAIN},
    }
    # A plan right after the pull changes nothing, even where kv.yml manages the namespace.
    plan = project.plan("--delete", "--format", "json")
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["summary"]["unchanged"] == 4
    kv_file(project).write_text("managed: true\n" + text)
    applied = project.run("apply", "--delete", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    line_with(applied.stdout, "Apply: nothing to do")
    no_server_value(applied.stdout)
    assert server_kv(project)["db_password"] == SECRET  # left as it was
    # A second pull finds the file as it would write it.
    kv_file(project).write_text(text)
    again = project.run("pull", "--namespace", NS, "flows")
    line_with(again.stdout, "unchanged", "kv.yml")


def test_a_json_value_with_a_secret_field_is_a_secret_for_validate_and_pull(project):
    with client(project.emu) as c:
        c.put_kv("company.data", "db", {"user": "app", "password": SECRET}, None)
    done = project.run("pull", "--namespace", "company.data", "flows")
    assert done.returncode == 0, done.stdout + done.stderr
    written = (project.root / "flows/company/data/kv.yml").read_text()
    assert SECRET not in written and SECRET not in done.stdout + done.stderr
    assert yaml.safe_load(written) == {"sensitive": ["db"], "values": {}}

    kv_file(project).write_text("values:\n  db: {user: app, password: x}\n")
    refused = project.run("validate")
    assert refused.returncode == 1
    line_with(refused.stdout, "kv.yml:2", "'db' looks like a secret", "sensitive:")


def test_a_saved_plan_does_not_depend_on_a_value_left_to_the_server(project):
    """A sensitive key git names without a value: the saved plan records nothing of the
    server's value (not even its digest), and rotating it on the server does not make the
    plan stale."""
    kv_file(project).write_text("managed: true\nsensitive: [db_password]\nvalues:\n  region: us\n")
    done = project.plan("--delete", "--out", "plan.json")
    assert done.returncode == 0, done.stderr
    saved = json.loads((project.root / "plan.json").read_text())
    (held,) = [c for c in saved["changes"] if c["id"] == "db_password"]
    assert (held["action"], held["digest"], held["server_digest"]) == ("unchanged", None, None)
    with client(project.emu) as c:
        c.put_kv(NS, "db_password", "rotated-" + SECRET, None)
    applied = project.run("apply", "plan.json", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert server_kv(project) == {"db_password": "rotated-" + SECRET, "region": "us"}


def test_pull_overwrite_never_writes_a_value_kv_yml_marks_sensitive(project):
    """A key the local kv.yml lists under `sensitive:` stays out of the file, even with
    --overwrite and a value that does not look like a secret; one whose value git declares
    as the server holds it stays as it is."""
    kv_file(project).write_text(
        f"sensitive: [region, old_setting]\nvalues:\n  old_setting: {PLAIN}-old\n"
    )
    done = project.run("pull", "--namespace", NS, "flows", "--overwrite")
    assert done.returncode == 0, done.stdout + done.stderr
    line_with(done.stderr, "not pulled", "KV region", "marks it sensitive")
    data = yaml.safe_load(kv_file(project).read_text())
    assert data == {
        "sensitive": ["db_password", "old_setting", "region", "session"],
        "values": {"old_setting": PLAIN + "-old"},
    }
    plan = project.plan("--format", "json")
    assert json.loads(plan.stdout)["summary"] == {
        "create": 0,
        "update": 0,
        "delete": 0,
        "unchanged": 4,
        "unmanaged": 0,
    }
