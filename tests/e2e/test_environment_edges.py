"""Environments met as a careless user or a hostile repository would, with the real CLI
against the emulator: an overlay must keep every promise the shared kv.yml makes."""

from __future__ import annotations

import json

from tests.support.cli import run_cli

NS = "company.team"
ETL = (
    "id: etl\nnamespace: company.team\n"
    "tasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: \"{{ kv('dsn') }}\"\n"
)


def write(root, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_key_kv_yml_marks_sensitive_stays_hidden_when_an_overlay_sets_it(tmp_path, make_emulator):
    emu = make_emulator()
    write(
        tmp_path,
        "kestra-sync.yml",
        f"directory: flows\nlayout: nested\nenvironments:\n  prod:\n    url: {emu.url}\n",
    )
    write(tmp_path, "flows/company/team/etl.yml", ETL)
    write(
        tmp_path,
        "flows/company/team/kv.yml",
        "sensitive: [dsn, db_password]\nvalues:\n  dsn: shared-dsn-1\n",
    )
    # db_password is declared by name only in kv.yml; prod's overlay sets it: still sensitive,
    # so neither refused as a secret-looking value nor shown
    write(
        tmp_path,
        "flows/company/team/kv.prod.yml",
        "values:\n  dsn: prod-dsn-7731\n  db_password: hunter2-prod-42\n",
    )
    checked = run_cli("validate", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for fmt in ("text", "json", "markdown"):
        shown = run_cli("plan", "--env", "prod", "--format", fmt, cwd=tmp_path)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        for value in ("prod-dsn-7731", "hunter2-prod-42"):
            assert value not in shown.stdout + shown.stderr, fmt
    text = run_cli("plan", "--env", "prod", cwd=tmp_path)
    assert text.stdout.count("value set (sensitive: not shown)") == 2, text.stdout
    done = run_cli("apply", "--env", "prod", "--auto-approve", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "prod-dsn-7731" not in done.stdout + done.stderr
    assert "hunter2-prod-42" not in done.stdout + done.stderr
    assert json.loads(done.stdout)["changes"]


def put_kv(emu, key: str, value) -> None:
    from kestra_sync.client import KestraClient

    with KestraClient(emu.url, retries=0) as c:
        c.put_kv(NS, key, value, None)


def test_diff_between_environments_never_shows_a_sensitive_or_secret_looking_value(
    tmp_path, make_emulator
):
    """`diff --env staging --env prod` carries staging's server values: a key kv.yml marks
    sensitive (declared by name only, as pull writes a secret) or a value that looks like a
    secret is planned as "changed", never printed."""
    staging, prod = make_emulator(), make_emulator()
    write(
        tmp_path,
        "kestra-sync.yml",
        f"directory: flows\nlayout: nested\nenvironments:\n  staging:\n    url: {staging.url}\n"
        f"  prod:\n    url: {prod.url}\n",
    )
    write(tmp_path, "flows/company/team/etl.yml", ETL)
    write(
        tmp_path,
        "flows/company/team/kv.yml",
        "sensitive: [db_password, dsn]\nvalues:\n  dsn: shared\n  region: eu-west-1\n",
    )
    for emu, password in ((staging, "staging-pw-5521"), (prod, "prod-pw-9934")):
        put_kv(emu, "db_password", password)
    for env in ("staging", "prod"):
        assert run_cli("apply", "--env", env, "-y", cwd=tmp_path).returncode == 0
    put_kv(staging, "dsn", "postgres://app:s3cr3t-dsn@db/app")  # changed in staging's UI
    put_kv(staging, "region", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8")  # a token pasted
    for fmt in ("text", "json", "markdown"):
        done = run_cli("diff", "--env", "staging", "--env", "prod", "--format", fmt, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout + done.stderr
        for secret in ("staging-pw-5521", "s3cr3t-dsn", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"):
            assert secret not in out, (fmt, out)
    text = run_cli("diff", "--env", "staging", "--env", "prod", cwd=tmp_path).stdout
    assert text.count("value changed (sensitive: not shown)") == 3, text


def test_pull_in_an_environment_with_overlays_never_rewrites_the_shared_files(
    tmp_path, make_emulator
):
    """kv.yml and _files/ are every environment's; prod's own values live in kv.prod.yml and
    _files.prod/. Pulling prod into the shared files would hand prod's values to staging and
    leave a plan that is not a no-op: refused before anything is written."""
    emu = make_emulator()
    write(
        tmp_path,
        "kestra-sync.yml",
        f"directory: flows\nlayout: nested\nenvironments:\n  prod:\n    url: {emu.url}\n"
        "  staging:\n    url: http://127.0.0.1:9\n",
    )
    write(tmp_path, "flows/company/team/etl.yml", ETL)
    write(tmp_path, "flows/company/team/kv.yml", "values:\n  region: eu\n  retries: 3\n")
    write(tmp_path, "flows/company/team/kv.prod.yml", "values:\n  region: us\n")
    write(tmp_path, "flows/company/team/_files/c.txt", "shared\n")
    write(tmp_path, "flows/company/team/_files.prod/c.txt", "prod\n")
    assert run_cli("apply", "--env", "prod", "-y", cwd=tmp_path).returncode == 0
    put_kv(emu, "region", "ap")  # changed in prod's UI
    before = {p: p.read_bytes() for p in (tmp_path / "flows").rglob("*") if p.is_file()}
    done = run_cli(
        "pull", "--env", "prod", "--namespace", NS, "--overwrite", cwd=tmp_path
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "error: environment prod has its own values in flows/company/team/" in done.stderr
    assert "nothing was written" in done.stderr
    after = {p: p.read_bytes() for p in (tmp_path / "flows").rglob("*") if p.is_file()}
    assert after == before


def test_environments_sharing_a_server_never_offer_to_retire_each_others_namespaces(
    tmp_path, make_emulator
):
    """staging (namespace_map company -> staging.company) and prod share one server. Each
    one's `plan --delete` names the namespaces left behind in its own space, with the command
    that retires one, but never the other environment's: following that command would delete
    the other environment's flows."""
    from tests.support.project import flow, seed

    emu = make_emulator()
    write(
        tmp_path,
        "kestra-sync.yml",
        f"directory: flows\nlayout: nested\nenvironments:\n  prod:\n    url: {emu.url}\n"
        f"  staging:\n    url: {emu.url}\n    namespace_map: {{company: staging.company}}\n",
    )
    write(tmp_path, "flows/company/team/etl.yml", flow("etl"))
    for env in ("prod", "staging"):
        assert run_cli("apply", "--env", env, "-y", cwd=tmp_path).returncode == 0
    # each environment has a real leftover: a namespace renamed away in git
    seed(emu, flow("old", "company.old"), flow("old", "staging.company.old"))
    for env, own, other in (
        ("prod", "company.old", "staging.company"),
        ("staging", "staging.company.old", "company.team"),
    ):
        done = run_cli("plan", "--env", env, "--delete", "--format", "json", cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["other_namespaces"] == {"main": [own]}, env
        text = run_cli("plan", "--env", env, "--delete", cwd=tmp_path).stdout
        named = [x for x in text.splitlines() if x.startswith(("Not in git", "  To remove"))]
        assert named[0].endswith(f"git has no folder for, not read or changed: {own}."), text
        assert named[1] == (
            f"  To remove it: kestra-sync plan --env {env} --delete --namespace {own} "
            "--allow-empty-namespace"
        )
        assert other not in "\n".join(named)


def test_a_name_an_overlay_never_deploys_is_kept_on_the_server(tmp_path, make_emulator):
    """`_files.prod/.gitignore` is git's own, never deployed, and the warning says the server's
    file of that name is kept: with only the overlay holding the namespace's files, `--delete`
    must keep it too, as it does under `_files/`."""
    emu = make_emulator()
    write(
        tmp_path,
        "kestra-sync.yml",
        f"directory: flows\nlayout: nested\nenvironments:\n  prod:\n    url: {emu.url}\n",
    )
    write(tmp_path, "flows/company/team/etl.yml", ETL)
    write(tmp_path, "flows/company/team/_files.prod/a.txt", "a\n")
    write(tmp_path, "flows/company/team/_files.prod/.gitignore", "*.pyc\n")
    from kestra_sync.client import KestraClient

    with KestraClient(emu.url, retries=0) as c:
        c.put_namespace_file(NS, "/.gitignore", b"*.pyc\n")
    done = run_cli("apply", "--env", "prod", "--delete", "-y", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "server's files of those names are kept" in done.stderr
    with KestraClient(emu.url, retries=0) as c:
        assert c.export_namespace_files(NS) == {"/.gitignore": b"*.pyc\n", "/a.txt": b"a\n"}


def test_an_overlay_follows_kestraignore_as_files_does(tmp_path, make_emulator):
    """`.kestraignore` says `drafts/`: `_files/drafts/` is neither deployed nor deleted on the
    server; `_files.prod/drafts/` must be treated the same, not uploaded to prod."""
    emu = make_emulator()
    write(
        tmp_path,
        "kestra-sync.yml",
        f"directory: flows\nlayout: nested\nenvironments:\n  prod:\n    url: {emu.url}\n",
    )
    write(tmp_path, "flows/.kestraignore", "drafts/\n")
    write(tmp_path, "flows/company/team/etl.yml", ETL)
    write(tmp_path, "flows/company/team/_files.prod/a.txt", "a\n")
    write(tmp_path, "flows/company/team/_files.prod/drafts/wip.txt", "not ready\n")
    from kestra_sync.client import KestraClient

    with KestraClient(emu.url, retries=0) as c:
        c.put_namespace_file(NS, "/drafts/old.txt", b"kept\n")
    done = run_cli("apply", "--env", "prod", "--delete", "-y", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    with KestraClient(emu.url, retries=0) as c:
        assert c.export_namespace_files(NS) == {"/drafts/old.txt": b"kept\n", "/a.txt": b"a\n"}


def test_a_namespace_map_into_a_child_of_its_own_source_is_refused(tmp_path, emulator):
    # staging's flows under company.staging would be, to prod's `--include-children --delete`,
    # flows of company that left git: the mapping is refused before anything is read.
    write(
        tmp_path,
        "kestra-sync.yml",
        "directory: flows\nenvironments:\n"
        f"  staging: {{url: '{emulator.url}', namespace_map: {{company: company.staging}}}}\n",
    )
    write(tmp_path, "flows/company/team/etl.yml", ETL)
    done = run_cli("plan", "--env", "staging", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "namespace_map maps company into its own child company.staging" in done.stderr
    assert "Traceback" not in done.stderr
    assert emulator.stats.count() == 0  # refused before any request
