"""End to end: every kind is planned per tenant, whatever folder it comes from (issue 22,
bug 1). With `tenants: {staging: flows, prod: flows}` the second tenant used to get its flows
and KV pairs but no namespace file: the scan read each file once for the first tenant, so
apply uploaded nothing to prod and the next plan said everything was unchanged."""

from __future__ import annotations

from tests.support.project import Project, client, flow, line_with

NS = "company.team"


def files_on(emu, tenant: str) -> dict[str, bytes]:
    with client(emu, tenant) as c:
        return c.export_namespace_files(NS)


def test_two_tenants_from_one_folder_both_get_flows_files_and_kv(make_emulator, tmp_path):
    emu = make_emulator(edition="ee")
    p = Project(tmp_path, emu)
    p.config("tenants:\n  staging: flows\n  prod: flows\n")
    p.write(flow("etl"))
    script = tmp_path / "flows" / NS / "_files" / "load.py"
    script.parent.mkdir(parents=True)
    script.write_bytes(b"print('load')\n")
    (tmp_path / "flows" / NS / "kv.yml").write_text("values:\n  region: eu\n", encoding="utf-8")

    planned = p.plan()
    assert planned.returncode == 0, planned.stdout + planned.stderr
    line_with(planned.stdout, "Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged.")

    done = p.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    for tenant in ("staging", "prod"):
        assert files_on(emu, tenant) == {"/load.py": b"print('load')\n"}, tenant

    again = p.plan("--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_mapped_files_folder_goes_to_every_tenant(make_emulator, tmp_path):
    """`namespace_files: {ns: folder}` belongs to the namespace in each tenant deployed (it
    went to the default tenant `main` only, which a `tenants:` map may not even hold)."""
    emu = make_emulator(edition="ee")
    p = Project(tmp_path, emu)
    p.config(f"tenants:\n  staging: flows\n  prod: flows\nnamespace_files:\n  {NS}: scripts\n")
    p.write(flow("etl"))
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "run.sh").write_bytes(b"echo hi\n")

    done = p.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    for tenant in ("staging", "prod"):
        assert files_on(emu, tenant) == {"/run.sh": b"echo hi\n"}, tenant
    with client(emu, "main") as c:
        assert c.export_namespace_files(NS) == {}
