"""KestraClient's namespace-files and KV calls against mocked HTTP (responses): what goes out
(paths, multipart part name, Ion-safe KV bodies, the ttl header) and how replies are read."""

from __future__ import annotations

import io
import json
import zipfile
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from kestra_sync.client import KestraClient
from kestra_sync.errors import IncompleteListingError, ServerError, UnexpectedResponseError

URL = "http://kestra.test:8080"
NS_URL = f"{URL}/api/v1/main/namespaces/company.team"


@pytest.fixture
def client():
    with KestraClient(URL, retries=0) as c:
        yield c


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _multipart(request) -> list[tuple[str, str, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n" + request.body
    )
    return [
        (
            p.get_param("name", header="content-disposition"),
            p.get_filename(),
            p.get_payload(decode=True),
        )
        for p in message.iter_parts()
    ]


@responses.activate
def test_export_reads_every_file_in_one_request_and_skips_old_servers_flows(client):
    body = _zip(
        {
            "etl/load.py": b"print(1)\n",
            "data/blob.bin": b"\x00\xff",
            "_flows/hello.yml": b"id: hello\n",  # Kestra < 1.2 exported the flows too
        }
    )
    responses.get(f"{NS_URL}/files/export", body=body, content_type="application/octet-stream")
    files = client.export_namespace_files("company.team")
    assert files == {"/etl/load.py": b"print(1)\n", "/data/blob.bin": b"\x00\xff"}
    assert len(responses.calls) == 1


@responses.activate
def test_export_that_is_not_a_zip_is_an_unreadable_reply(client):
    responses.get(f"{NS_URL}/files/export", body=b"PK truncated")
    with pytest.raises(UnexpectedResponseError, match="not a zip archive"):
        client.export_namespace_files("company.team")


@responses.activate
def test_upload_is_multipart_filecontent_and_never_named_zip(client):
    responses.post(f"{NS_URL}/files", body=b"")
    client.put_namespace_file("company.team", "/etl/load.py", b"print(1)\n")
    client.put_namespace_file("company.team", "/bundles/model.zip", b"PK\x03\x04")
    first, second = responses.calls
    assert dict(parse_qsl(urlsplit(first.request.url).query)) == {"path": "/etl/load.py"}
    assert _multipart(first.request) == [("fileContent", "load.py", b"print(1)\n")]
    name, filename, content = _multipart(second.request)[0]
    # NamespaceFileController extracts an upload whose file name ends in .zip.
    assert name == "fileContent" and not filename.lower().endswith(".zip")
    assert content == b"PK\x03\x04"


@responses.activate
def test_delete_of_a_missing_file_is_done(client):
    responses.delete(f"{NS_URL}/files", status=404, json={"message": "Not Found: gone"})
    client.delete_namespace_file("company.team", "/gone.txt")  # no exception


@responses.activate
def test_kv_put_sends_json_text_so_a_string_stays_a_string(client):
    responses.put(f"{NS_URL}/kv/flag", body=b"")
    responses.put(f"{NS_URL}/kv/retries", body=b"")
    client.put_kv("company.team", "flag", "true")
    client.put_kv("company.team", "retries", 3, ttl="PT1H")
    flag, retries = responses.calls
    assert flag.request.body == b'"true"'
    assert flag.request.headers["Content-Type"] == "text/plain"
    assert "ttl" not in flag.request.headers
    assert retries.request.body == b"3" and retries.request.headers["ttl"] == "PT1H"


@responses.activate
def test_namespace_kv_lists_then_reads_each_key_and_skips_expired(client):
    responses.get(f"{NS_URL}/kv", json=[{"key": "a"}, {"key": "b"}, {"key": "c"}])
    responses.get(f"{NS_URL}/kv/a", json={"type": "STRING", "value": "x"})
    responses.get(f"{NS_URL}/kv/b", json={"type": "JSON", "value": {"n": 1}})
    responses.get(f"{NS_URL}/kv/c", status=410, json={"message": "Resource has expired: ..."})
    assert client.namespace_kv("company.team") == {
        "a": ("STRING", "x"),
        "b": ("JSON", {"n": 1}),
    }


@responses.activate
def test_kv_errors_are_typed(client):
    responses.get(f"{NS_URL}/kv", status=500, json={"message": "Internal server error: boom"})
    with pytest.raises(ServerError, match="boom"):
        client.list_kv("company.team")
    responses.delete(f"{NS_URL}/kv/a", body=b"false", content_type="application/json")
    assert client.delete_kv("company.team", "a") is False


def test_client_against_the_emulator_round_trips_bytes_and_values(emulator):
    with KestraClient(emulator.url) as c:
        blob = bytes(range(256)) * 3
        c.put_namespace_file("company.team", "/data/blob.bin", blob)
        c.put_namespace_file("company.team", "/etl/load.py", b"print(1)\n")
        assert c.export_namespace_files("company.team") == {
            "/data/blob.bin": blob,
            "/etl/load.py": b"print(1)\n",
        }
        assert c.get_namespace_file("company.team", "/data/blob.bin") == blob
        assert [e["fileName"] for e in c.list_namespace_directory("company.team")] == [
            "data",
            "etl",
        ]
        assert c.namespace_file_stats("company.team", "/etl/load.py")["size"] == 9
        for key, value in {"s": "true", "n": 2.5, "b": False, "j": {"k": [1, "x"]}}.items():
            c.put_kv("company.team", key, value)
        assert c.namespace_kv("company.team") == {
            "b": ("BOOLEAN", False),
            "j": ("JSON", {"k": [1, "x"]}),
            "n": ("NUMBER", 2.5),
            "s": ("STRING", "true"),
        }
        assert json.loads(json.dumps(c.get_kv("company.team", "missing"))) is None


@responses.activate
def test_an_export_announcing_more_than_the_reply_limit_is_not_unpacked(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.bin", b"\0" * 5000)  # a few dozen bytes on the wire
    responses.get(f"{NS_URL}/files/export", body=buf.getvalue())
    client.http.max_reply_bytes = 1000  # the transport's reply limit, when it has one
    with pytest.raises(UnexpectedResponseError, match="would unpack to 5,000 bytes") as err:
        client.export_namespace_files("company.team")
    assert "--max-reply-mb" in err.value.hint and "proxy" not in err.value.hint


@responses.activate
def test_kv_keys_are_listed_at_the_tenant_kv_path_where_the_namespace_listing_is_gone(client):
    """Kestra 2.0 (ca87a2762, docs/kestra-versions.md): `GET /api/v1/{tenant}/namespaces/{ns}/kv`
    no longer exists (only a bulk DELETE there); keys are listed by listAllKeys,
    `GET /api/v1/{tenant}/kv`, paged, filtered by namespace."""
    responses.get(f"{NS_URL}/kv", status=404, json={"message": "Page Not Found"})
    pages = {
        "1": {
            "results": [
                {"key": "a", "namespace": "company.team"},
                {"key": "b", "namespace": "company.team"},
            ],
            "total": 3,
        },
        "2": {
            "results": [{"key": "x", "namespace": "company.team.child"}],  # never another's
            "total": 3,
        },
    }

    def page(request):
        query = dict(parse_qsl(urlsplit(request.url).query))
        assert query["filters[namespace][EQUALS]"] == "company.team"
        return 200, {}, json.dumps(pages[query["page"]])

    responses.add_callback(responses.GET, f"{URL}/api/v1/main/kv", callback=page)
    assert [e["key"] for e in client._list_all_keys("company.team", page_size=2)] == ["a", "b"]


@responses.activate
def test_a_tenant_kv_listing_that_repeats_a_page_stops_at_the_repeat(client):
    # A hostile server claims a huge total and serves the same full page again and again: the
    # client must stop at the first key it has seen, not page (and hold it all) until `total`.
    calls = []

    def page(request):
        calls.append(request.url)
        body = {
            "results": [
                {"key": "a", "namespace": "company.team"},
                {"key": "x", "namespace": "other"},  # another namespace's: counted too
            ],
            "total": 10**9,
        }
        return 200, {}, json.dumps(body)

    responses.add_callback(responses.GET, f"{URL}/api/v1/main/kv", callback=page)
    with pytest.raises(IncompleteListingError, match="twice"):
        client._list_all_keys("company.team", page_size=2)
    assert len(calls) == 2


@responses.activate
def test_list_kv_falls_back_to_the_tenant_listing_on_404(client):
    responses.get(f"{NS_URL}/kv", status=404, json={"message": "Page Not Found"})
    responses.get(
        f"{URL}/api/v1/main/kv",
        json={"results": [{"key": "region", "namespace": "company.team"}], "total": 1},
    )
    assert [e["key"] for e in client.list_kv("company.team")] == ["region"]


@responses.activate
def test_a_server_error_on_the_namespace_kv_listing_is_not_taken_for_a_missing_path(client):
    responses.get(f"{NS_URL}/kv", status=403, json={"message": "forbidden"})
    with pytest.raises(Exception, match="403|forbidden|Forbidden"):
        client.list_kv("company.team")
    assert len(responses.calls) == 1  # no fallback: only 404/405 mean the path is not there
