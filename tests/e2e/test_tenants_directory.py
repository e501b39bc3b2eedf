"""End to end: a flow directory named on the command line (DIR, --directory) or in
KESTRA_SYNC_DIRECTORY with a `tenants:` map in kestra-sync.yml. It used to be dropped without a
word: `plan other`, `apply other` and `validate --directory other` read the map's directories
instead, so a CI step validating `other` passed whatever it held. Flags beat the config file
(README "Configuration"), so with one tenant in play (the map's only one, or the one --tenant
selects) DIR is that tenant's directory, as for `pull`; with several, it could be any one's:
one error, and no request sent."""

from __future__ import annotations

from tests.support.project import Project, flow, line_with

BAD = "id: bad id\nnamespace: company.team\ntasks: []\n"


def project(tmp_path, emu, tenants: str) -> Project:
    p = Project(tmp_path, emu)
    p.config(tenants)
    p.write(flow("a"), "flows/main")
    p.write(flow("b"), "other")
    return p


def test_dir_with_several_tenants_is_refused_naming_the_conflict(tmp_path, emulator):
    p = project(tmp_path, emulator, "tenants:\n  main: flows/main\n  staging: flows/staging\n")
    (tmp_path / "flows/staging").mkdir()
    for args, env in (
        (("plan", "other"), {}),
        (("apply", "other", "--auto-approve"), {}),
        (("validate", "--directory", "other"), {}),
        (("plan",), {"KESTRA_SYNC_DIRECTORY": "other"}),
    ):
        done = p.run(*args, env=env)
        assert done.returncode == 1, (args, done.stdout + done.stderr)
        line_with(done.stderr, "error:", "other", "conflicts with the `tenants:` map")
        line_with(done.stderr, "hint:", "--tenant NAME")
        assert "Traceback" not in done.stderr and "Plan:" not in done.stdout
    assert emulator.stats.count("GET") == 0  # refused before asking the server anything

    own = p.plan("flows/main")  # a tenant's own directory: say which --tenant it is
    assert own.returncode == 1
    line_with(own.stderr, "hint:", "tenant main's directory", "--tenant main")


def test_dir_with_one_tenant_in_play_is_that_tenants_directory(tmp_path, emulator):
    p = project(tmp_path, emulator, "tenants:\n  main: flows/main\n  staging: flows/staging\n")
    planned = p.plan("other", "--tenant", "main")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    line_with(planned.stdout, "+ b", "other/company.team/b.yml")
    assert "+ a" not in planned.stdout  # not flows/main's flow: `other` was asked for

    p.config("tenants:\n  main: flows/main\n")  # the map's only tenant
    (tmp_path / "other/company.team/b.yml").write_text(BAD, encoding="utf-8")
    checked = p.run("validate", "--directory", "other")
    assert checked.returncode == 1, checked.stdout  # used to pass: flows/main was checked
    line_with(checked.stdout, "other/company.team/b.yml", "error", "bad id")
    env_checked = p.run("validate", env={"KESTRA_SYNC_DIRECTORY": "other"})
    assert env_checked.returncode == 1 and "bad id" in env_checked.stdout


def test_a_config_file_with_both_directory_and_tenants_is_refused(tmp_path, emulator):
    """`directory:` beside a `tenants:` map was dropped without a word (each tenant reads the
    map's directory): the file is refused, naming both keys, before any request."""
    p = project(tmp_path, emulator, "directory: other\ntenants:\n  main: flows/main\n")
    for args in (("plan",), ("validate",)):
        done = p.run(*args)
        assert done.returncode == 1, (args, done.stdout + done.stderr)
        line_with(done.stderr, "error:", "kestra-sync.yml", "'directory' and 'tenants'")
        line_with(done.stderr, "hint:", "remove 'directory:'")
        assert "Traceback" not in done.stderr
    assert emulator.stats.count("GET") == 0
