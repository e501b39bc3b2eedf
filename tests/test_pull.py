"""write_flows: the server's source lands byte for byte, local work is never silently lost."""

from pathlib import Path

from kestra_sync.models import LocalFlow, RemoteFlow
from kestra_sync.pull.flows import layout_path, write_flows

SOURCE = "# keep me\r\nid: a\r\nnamespace: company.team\r\ntasks: []   \r\n"


def remote(flow_id="a", source=SOURCE, ns="company.team"):
    return RemoteFlow(ns, flow_id, 2, source=source.replace("id: a", f"id: {flow_id}"))


def test_files_are_written_byte_for_byte_in_the_nested_layout(tmp_path):
    result = write_flows([remote()], tmp_path)
    path = tmp_path / "company" / "team" / "a.yml"
    assert result.written == [(remote().ref, path)]
    assert path.read_bytes() == SOURCE.encode()  # CRLF and trailing spaces kept


def test_dotted_layout(tmp_path):
    assert layout_path(tmp_path, "company.team", "a", "dotted") == tmp_path / "company.team/a.yml"


def test_an_existing_file_for_the_flow_is_updated_where_it_is(tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text("id: a\nnamespace: company.team\ntasks: []\n")
    local = LocalFlow(own, own.read_text(), namespace="company.team", id="a")
    result = write_flows([remote()], tmp_path, existing=[local], overwrite=True)
    assert result.written[0][1] == own
    assert own.read_bytes() == SOURCE.encode()


def test_a_differing_local_file_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "company" / "team" / "a.yml"
    path.parent.mkdir(parents=True)
    path.write_text("id: a\nnamespace: company.team\ntasks: [local work]\n")
    local = LocalFlow(path, path.read_text(), namespace="company.team", id="a")
    result = write_flows([remote()], tmp_path, existing=[local])
    assert result.conflicts == [(remote().ref, path)] and result.written == []
    assert "local work" in path.read_text()


def test_identical_file_is_reported_unchanged(tmp_path):
    write_flows([remote()], tmp_path)
    path = tmp_path / "company" / "team" / "a.yml"
    local = LocalFlow(path, path.read_bytes().decode(), namespace="company.team", id="a")
    result = write_flows([remote()], tmp_path, existing=[local])
    assert result.unchanged == [(remote().ref, path)] and result.written == []


def test_deleted_flows_are_not_written(tmp_path):
    gone = remote("gone")
    gone.deleted = True
    assert write_flows([gone], tmp_path).written == []
    assert not any(Path(tmp_path).rglob("*.yml"))
