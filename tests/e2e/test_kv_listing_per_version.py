"""The KV listing kestra-sync reads, per Kestra version, end to end (the real CLI over HTTP):
up to 1.3 ``GET …/namespaces/{ns}/kv``; on 2.0 that GET answers 405 (only the bulk DELETE is
left on the path, knowledge.KV_NAMESPACE_LISTING), and the client falls back to ``GET
/api/v1/{tenant}/kv`` with ``filters[namespace][EQUALS]`` (KV_TENANT_LISTING). Either way the
plan sees the same keys: a key made in the UI is kept (or deleted when the namespace is
managed), an unchanged one is unchanged, a changed one is an update, and another namespace's
keys never leak in."""

from __future__ import annotations

import pytest

from tests.e2e.test_resources import NS, server_kv, write_kv
from tests.support.project import Project, client, line_with

NAMESPACE_LISTING = "/api/v1/{tenant}/namespaces/{namespace}/kv"
TENANT_LISTING = "/api/v1/{tenant}/kv"


@pytest.mark.parametrize("version", ["1.3", "2.0"])
def test_plan_and_apply_read_the_keys_through_the_listing_the_version_serves(
    tmp_path, make_emulator, version
):
    emu = make_emulator(version=version)
    p = Project(tmp_path, emu)
    p.config("directory: flows\nlayout: nested\n")
    with client(emu) as c:
        c.put_kv(NS, "region", "eu")
        c.put_kv(NS, "retries", 2)
        c.put_kv(NS, "made_in_ui", "x")
        c.put_kv(NS + ".child", "elsewhere", "y")  # a child namespace: never NS's key
    write_kv(p, "values:\n  region: eu\n  retries: 3\n")
    emu.stats.reset()

    done = p.plan()
    assert done.returncode == 0, done.stderr
    line_with(done.stdout, "kv retries", "update")
    line_with(done.stdout, "? kv made_in_ui", "keep")
    assert "region" not in done.stdout.replace("Plan:", "")  # unchanged: not listed
    assert "elsewhere" not in done.stdout
    fell_back = emu.stats.count("GET", TENANT_LISTING)
    assert emu.stats.count("GET", NAMESPACE_LISTING) == 1
    assert fell_back == (1 if version == "2.0" else 0)

    write_kv(p, "managed: true\nvalues:\n  region: eu\n  retries: 3\n")
    done = p.run("apply", "--auto-approve", "--delete")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_kv(p) == {"region": "eu", "retries": 3}
    assert server_kv(p, ns=NS + ".child") == {"elsewhere": "y"}
    assert p.plan("--detailed-exitcode").returncode == 0
