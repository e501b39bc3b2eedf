"""Pull then plan is a no-op for every KV value type Kestra stores, and a pull that must refuse
one entry writes nothing (issue 20, item 5). The real CLI, over real HTTP, against the emulator.

KVController.setKeyValue reads the body with Jackson's Ion mapper (kestra-io/kestra
webserver/.../controllers/api/KVController.java at 996466e0): JSON text is Ion, an unquoted
Ion timestamp is a DATETIME or a DATE, a string shaped like an ISO-8601 duration reads back as
a DURATION; GET answers {type, value}."""

from __future__ import annotations

import os

import pytest
import requests

from tests.e2e.test_resources import NS, files_dir, server_kv
from tests.support.project import Project, client, flow

# (key, body sent as text/plain, the type Kestra reports)
VALUES = [
    ("text", '"eu-west-1"', "STRING"),
    ("text_true", '"true"', "STRING"),
    ("text_number", '"3"', "STRING"),
    ("text_date", '"2025-01-01"', "STRING"),
    ("text_multiline", '"line 1\\nline 2\\n"', "STRING"),
    ("text_null", '"null"', "STRING"),
    ("text_unicode", '"caf\u00e9 \u2028"', "STRING"),
    ("text_nel", '"\u0085next line"', "STRING"),  # U+0085 is a line break to YAML
    ("text_yaml", '"yes: - [x] # y"', "STRING"),
    ("count", "3", "NUMBER"),
    ("ratio", "2.5", "NUMBER"),
    ("tiny", "1e-07", "NUMBER"),
    ("flag", "true", "BOOLEAN"),
    ("when", "2025-01-01T10:00:00Z", "DATETIME"),
    ("day", "2025-01-01", "DATE"),
    ("every", '"PT1H"', "DURATION"),
    ("obj_long_form", '{"value": "x", "description": "d"}', "JSON"),
    ("obj_value_only", '{"value": "x"}', "JSON"),
    ("obj_ttl", '{"value": 1, "ttl": "PT1H"}', "JSON"),
    ("obj_nested", '{"a": {"value": "b", "ttl": "P1D"}}', "JSON"),
    ("obj_empty", "{}", "JSON"),
    ("array", '[1, "a", {"value": "x"}]', "JSON"),
    ("array_empty", "[]", "JSON"),
]


@pytest.fixture
def project(tmp_path, emulator) -> Project:
    p = Project(tmp_path, emulator)
    p.config("directory: flows\nlayout: nested\n")
    return p


def put_raw(p: Project, key: str, body: str) -> None:
    url = f"{p.emu.url}/api/v1/main/namespaces/{NS}/kv/{key}"
    reply = requests.put(url, data=body.encode(), headers={"Content-Type": "text/plain"})
    assert reply.status_code == 200, reply.text


def test_pull_then_plan_is_a_no_op_for_every_kv_value_type(project):
    with client(project.emu) as c:
        c.create_flow(flow("etl"))
    for key, body, _ in VALUES:
        put_raw(project, key, body)
    with client(project.emu) as c:
        assert {k: t for k, (t, _) in c.namespace_kv(NS).items()} == {k: t for k, _, t in VALUES}
    before = server_kv(project)

    pulled = project.run("pull", "--namespace", NS)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    planned = project.plan("--delete", "--detailed-exitcode")
    assert planned.returncode == 0, planned.stdout + planned.stderr

    # And what git now holds deploys the same values (a managed namespace: nothing extra).
    kv_file = files_dir(project).parent / "kv.yml"
    kv_file.write_text("managed: true\n" + kv_file.read_text())
    applied = project.run("apply", "--auto-approve", "--delete")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert server_kv(project) == before


def test_a_pull_that_refuses_one_file_writes_nothing(project, tmp_path):
    """A link under `_files` leading out of the directory: the file under it is refused, and
    so is the whole pull (the other files, the flow and kv.yml are not written)."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with client(project.emu) as c:
        c.create_flow(flow("etl"))
        c.put_namespace_file(NS, "/a.py", b"a")
        c.put_namespace_file(NS, "/lib/b.py", b"b")
        c.put_kv(NS, "region", "eu")
    files_dir(project).mkdir(parents=True)
    os.symlink(outside, files_dir(project) / "lib")

    pulled = project.run("pull", "--namespace", NS)
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr
    assert "/lib/b.py" in pulled.stderr and "nothing was written" in pulled.stderr
    assert not (files_dir(project) / "a.py").exists()
    assert not (files_dir(project).parent / "kv.yml").exists()
    assert not (files_dir(project).parent / "etl.yml").exists()
    assert not list(outside.iterdir())


def test_a_kv_value_kv_yml_cannot_hold_makes_pull_write_nothing(project):
    with client(project.emu) as c:
        c.create_flow(flow("etl"))
    put_raw(project, "region", '"eu"')
    put_raw(project, "nothing", "null")

    pulled = project.run("pull", "--namespace", NS)
    assert pulled.returncode == 1, pulled.stdout + pulled.stderr
    assert "KV key 'nothing'" in pulled.stderr and "nothing was written" in pulled.stderr
    assert not (files_dir(project).parent / "kv.yml").exists()
    assert not (files_dir(project).parent / "etl.yml").exists()
