"""The emulator's namespace-files and KV endpoints over real HTTP, as Kestra's
NamespaceFileController and KVController answer (cited in kestra_sync/emulator/resources.py)."""

from __future__ import annotations

import io
import zipfile

import pytest
import requests

NS = "company.team"


def files_url(emu, tail: str = "") -> str:
    return f"{emu.url}/api/v1/main/namespaces/{NS}/files{tail}"


def kv_url(emu, key: str = "") -> str:
    return f"{emu.url}/api/v1/main/namespaces/{NS}/kv" + (f"/{key}" if key else "")


def upload(emu, path: str, content: bytes, filename: str = "x.bin") -> requests.Response:
    return requests.post(
        files_url(emu), params={"path": path}, files={"fileContent": (filename, content)}
    )


def test_upload_read_list_export_delete(emulator):
    assert upload(emulator, "/etl/load.py", b"print('hi')\n").status_code == 200
    assert upload(emulator, "/etl/data.bin", bytes(range(256))).status_code == 200
    got = requests.get(files_url(emulator), params={"path": "/etl/load.py"})
    assert got.status_code == 200 and got.content == b"print('hi')\n"
    assert got.headers["Content-Type"] == "application/octet-stream"

    root = requests.get(files_url(emulator, "/directory")).json()
    assert [(e["fileName"], e["type"]) for e in root] == [("etl", "Directory")]
    etl = requests.get(files_url(emulator, "/directory"), params={"path": "/etl"}).json()
    assert {e["fileName"]: e["size"] for e in etl} == {"data.bin": 256, "load.py": 12}
    stats = requests.get(files_url(emulator, "/stats"), params={"path": "/etl/data.bin"}).json()
    assert stats["type"] == "File" and stats["size"] == 256

    export = requests.get(files_url(emulator, "/export"))
    assert f'filename="{NS}_files.zip"' in export.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        # Entry names drop the leading slash; no directory entries.
        assert sorted(archive.namelist()) == ["etl/data.bin", "etl/load.py"]
        assert archive.read("etl/data.bin") == bytes(range(256))

    # DELETE adds a missing leading slash; the parent left empty goes with the file.
    assert requests.delete(files_url(emulator), params={"path": "etl/load.py"}).status_code == 200
    assert requests.delete(files_url(emulator), params={"path": "/etl/data.bin"}).ok
    assert requests.get(files_url(emulator, "/directory")).json() == []
    missing = requests.get(files_url(emulator), params={"path": "/etl/load.py"})
    assert missing.status_code == 404 and missing.json()["message"].startswith("Not Found: ")


def test_forbidden_and_too_long_paths_are_refused(emulator):
    refused = upload(emulator, "/_flows/x.yml", b"id: x")
    assert refused.status_code == 422
    assert refused.json()["message"] == "Illegal argument: Forbidden path: /_flows/x.yml"
    too_long = upload(emulator, "/" + "a" * 256, b"x")
    assert too_long.status_code == 422
    assert "exceeds the maximum length of 255" in too_long.json()["message"]
    not_multipart = requests.post(files_url(emulator), params={"path": "/a"}, data=b"x")
    assert not_multipart.status_code == 415


def test_a_zip_upload_is_extracted_at_the_root(emulator):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("a/one.txt", "1")
    assert upload(emulator, "/ignored.zip", buf.getvalue(), filename="bundle.zip").ok
    names = requests.get(files_url(emulator, "/directory"), params={"path": "/a"}).json()
    assert [e["fileName"] for e in names] == ["one.txt"]
    assert requests.get(files_url(emulator), params={"path": "/ignored.zip"}).status_code == 404


def test_kv_typed_values_ttl_and_errors(emulator):
    text = {"Content-Type": "text/plain"}
    assert requests.put(kv_url(emulator, "region"), data='"eu"', headers=text).ok
    assert requests.put(kv_url(emulator, "retries"), data="3", headers=text).ok
    assert requests.put(kv_url(emulator, "on"), data="true", headers=text).ok
    assert requests.put(kv_url(emulator, "cfg"), data='{"a": [1]}', headers=text).ok
    assert requests.put(kv_url(emulator, "quoted"), data='"true"', headers=text).ok
    ttl = {**text, "ttl": "PT1H"}
    assert requests.put(kv_url(emulator, "short"), data='"x"', headers=ttl).ok
    assert requests.get(kv_url(emulator, "region")).json()["type"] == "STRING"
    assert requests.get(kv_url(emulator, "retries")).json()["value"] == 3
    assert requests.get(kv_url(emulator, "on")).json()["type"] == "BOOLEAN"
    assert requests.get(kv_url(emulator, "cfg")).json() == {
        **requests.get(kv_url(emulator, "cfg")).json(),
        "type": "JSON",
        "value": {"a": [1]},
    }
    assert requests.get(kv_url(emulator, "quoted")).json()["type"] == "STRING"
    # 2.0 lists keys tenant-wide (knowledge.KV_TENANT_LISTING; test_kv_listing.py)
    listing = requests.get(
        f"{emulator.url}/api/v1/main/kv", params={"filters[namespace][EQUALS]": NS, "size": 50}
    ).json()["results"]
    assert [e["key"] for e in listing] == ["cfg", "on", "quoted", "region", "retries", "short"]
    assert next(e for e in listing if e["key"] == "short")["expirationDate"] is not None

    bad_key = requests.put(kv_url(emulator, "-bad"), data='"x"', headers=text)
    assert bad_key.status_code == 422 and "Key must start with" in bad_key.json()["message"]
    # Text that is no JSON is a STRING from 1.2 (kestra-io/kestra 281301ea7), a 422 before.
    assert requests.put(kv_url(emulator, "k"), data="{not json", headers=text).status_code == 200
    assert requests.get(kv_url(emulator, "k")).json()["value"] == "{not json"
    missing = requests.get(kv_url(emulator, "nope"))
    assert missing.status_code == 404
    assert missing.json()["message"] == (
        f"Not Found: No value found for key 'nope' in namespace '{NS}'"
    )
    assert requests.delete(kv_url(emulator, "region")).json() is True
    assert requests.delete(kv_url(emulator, "region")).json() is False


def test_kv_text_that_is_no_json_is_refused_before_1_2(make_emulator):
    emu = make_emulator(version="1.0")
    text = {"Content-Type": "text/plain"}
    bad_value = requests.put(kv_url(emu, "k"), data="{not json", headers=text)
    assert bad_value.status_code == 422
    assert bad_value.json()["message"] == "Illegal argument: Invalid JSON value for: {not json"


def test_files_and_kv_survive_a_restart_with_state(make_emulator, tmp_path):
    state = tmp_path / "emu.json"
    first = make_emulator(state=state)
    assert upload(first, "/a/b.bin", b"\x00\x01").ok
    assert requests.put(kv_url(first, "k"), data="[1]", headers={"Content-Type": "text/plain"}).ok
    first.stop()
    second = make_emulator(state=state)
    assert requests.get(files_url(second), params={"path": "/a/b.bin"}).content == b"\x00\x01"
    assert requests.get(kv_url(second, "k")).json()["value"] == [1]
    assert (tmp_path / "emu.json.resources.json").is_file()


def test_fault_plan_and_stats_cover_the_new_routes(emulator):
    emulator.faults.add("GET", r"/files/export$", status=503, count=1)
    assert requests.get(files_url(emulator, "/export")).status_code == 503
    assert requests.get(files_url(emulator, "/export")).status_code == 200
    emulator.faults.add("PUT", r"/kv/k$", drop=True)
    with pytest.raises(requests.ConnectionError):
        requests.put(kv_url(emulator, "k"), data="1", headers={"Content-Type": "text/plain"})
    counts = emulator.stats.snapshot()["requests"]
    assert counts["GET /api/v1/{tenant}/namespaces/{namespace}/files/export"] == 2
    assert counts["PUT /api/v1/{tenant}/namespaces/{namespace}/kv/{key}"] == 1
