"""The transport's limits and trust rules (issue 9, items 6, 8, 9, 10): a deadline per request,
reply and export size caps, the TLS setting the user configured, and no redirect to another
server. responses where a mock shows it; a real socket on 127.0.0.1 where timing or framing is
the point (tests/e2e/hostile.py)."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile

import pytest
import requests

from kestra_sync.client import KestraClient
from kestra_sync.client.wire import ZipTooLargeError, read_zip
from kestra_sync.errors import ApiError, ConfigError, TransportError, UnexpectedResponseError
from tests.support.hostile import HostileServer, drip
from tests.support.http_mock import FLOWS, URL, flow_json, make_zip, mocked_http

ITEM = f"{FLOWS}/company.team/hello"
MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def rsps():
    yield from mocked_http()


# -- item 6: one deadline for the whole request ----------------------------------------------


def drip_headers(handler):
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 200:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        __import__("time").sleep(0.05)


@pytest.mark.parametrize(
    "reply", [drip_headers, drip(every=0.05, total=400)], ids=["headers", "body"]
)
def test_a_reply_that_trickles_in_ends_at_the_timeout(rsps, reply):
    """Every read gets a byte within 0.05 s, far inside the 0.5 s timeout: only a deadline on
    the request as a whole stops it (the trickle would last 10-20 s)."""
    with HostileServer(lambda *a: reply) as server:
        rsps.add_passthru(server.url)
        client = KestraClient(server.url, timeout=0.5, retries=0)
        with pytest.raises(TransportError) as e:
            client.get_flow("company.team", "hello")
    assert str(e.value) == (
        "GET /api/v1/main/flows/company.team/hello: no complete reply from "
        f"{server.url.replace('http://', 'http://')} within 0.5s (--timeout)"
    )
    assert not e.value.unreachable


def test_a_zero_or_negative_timeout_is_a_config_error():
    for value in (0, -1.0):
        with pytest.raises(ConfigError, match="timeout must be more than 0"):
            KestraClient(URL, timeout=value)


# -- item 9: reply and export size caps -------------------------------------------------------


def test_a_reply_larger_than_the_limit_is_refused(rsps):
    rsps.get(f"{FLOWS}/distinct-namespaces", body=b"[" + b'"a",' * MIB + b'"a"]')
    client = KestraClient(URL, max_reply_mb=1, retries=0)
    with pytest.raises(UnexpectedResponseError) as e:
        client.distinct_namespaces()
    assert "than the limit of 1 MiB (--max-reply-mb)" in str(e.value)
    assert "KESTRA_MAX_REPLY_MB" in e.value.hint


def test_a_reply_announcing_more_than_the_limit_says_so_in_a_sentence(rsps):
    rsps.get(
        f"{FLOWS}/distinct-namespaces",
        body=b"[]",
        headers={"Content-Length": str(3 * MIB)},
        auto_calculate_content_length=False,
    )
    client = KestraClient(URL, max_reply_mb=1, retries=0)
    with pytest.raises(UnexpectedResponseError) as e:
        client.distinct_namespaces()
    assert f"it announces {3 * MIB:,} bytes, more than the limit of 1 MiB" in str(e.value)


def test_a_gzip_bomb_is_counted_as_it_expands(rsps):
    bomb = gzip.compress(b" " * (3 * MIB))
    assert len(bomb) < 64 * 1024
    rsps.get(
        f"{FLOWS}/distinct-namespaces",
        body=bomb,
        headers={"Content-Encoding": "gzip"},
        content_type="application/json",
    )
    client = KestraClient(URL, max_reply_mb=1, retries=0)
    with pytest.raises(UnexpectedResponseError, match="it is larger than the limit of 1 MiB"):
        client.distinct_namespaces()


def test_a_reply_without_a_length_is_cut_at_the_limit(rsps):
    """No Content-Length (the body ends when the connection closes): counted as it comes."""

    def endless(handler):
        handler.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[")
        for _ in range(64):  # 4 MiB if read to the end
            handler.wfile.write(b'"x",' * 16384)

    with HostileServer(lambda *a: endless) as server:
        rsps.add_passthru(server.url)
        client = KestraClient(server.url, max_reply_mb=1, retries=0)
        with pytest.raises(UnexpectedResponseError, match="larger than the limit of 1 MiB"):
            client.distinct_namespaces()


def test_a_reply_within_the_limit_is_read_whole(rsps):
    rsps.get(ITEM, json=flow_json(source="id: hello\nnamespace: company.team\n" + "#" * 5000))
    flow = KestraClient(URL, max_reply_mb=1).get_flow("company.team", "hello")
    assert flow.source.endswith("#" * 5000)


def zip_of(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_an_export_entry_that_expands_past_the_limit_is_refused(rsps):
    bomb = zip_of(
        {"company.team-hello.yml": b"id: hello\nnamespace: company.team\n" + b"#" * (2 * MIB)}
    )
    rsps.get(f"{FLOWS}/export/by-query", body=bomb)
    client = KestraClient(URL, max_reply_mb=1, retries=0)
    with pytest.raises(UnexpectedResponseError) as e:
        client.export_sources("company.team")
    assert "company.team-hello.yml" in str(e.value)
    assert "expands to more than the limit of 1 MiB (--max-reply-mb)" in str(e.value)


def test_many_entries_count_together():
    entries = {f"ns-f{i}.yml": b"#" * (300 * 1024) for i in range(5)}  # 1.5 MiB in all
    with pytest.raises(ZipTooLargeError):
        read_zip(zip_of(entries), MIB)
    assert len(read_zip(zip_of(entries), 2 * MIB)) == 5


def lie_about_size(data: bytes, size: int) -> bytes:
    """The zip with every declared uncompressed size replaced by ``size``."""
    out = bytearray(data)
    local = out.find(b"PK\x03\x04")
    struct.pack_into("<I", out, local + 22, size)
    central = out.find(b"PK\x01\x02")
    struct.pack_into("<I", out, central + 24, size)
    return bytes(out)


def test_an_entry_whose_header_understates_its_size_is_not_trusted():
    honest = zip_of({"ns-f.yml": b"#" * (2 * MIB)})
    lying = lie_about_size(honest, 100)
    with pytest.raises(ValueError) as e:  # never 2 MiB in memory on the header's word
        read_zip(lying, MIB)
    assert "ns-f.yml" in str(e.value)


def test_an_entry_whose_header_overstates_its_size_fails_before_reading():
    lying = lie_about_size(zip_of({"ns-f.yml": b"id: f\n"}), 2**31)
    with pytest.raises(ZipTooLargeError, match="declares 2,147,483,648 bytes"):
        read_zip(lying, MIB)


def test_export_still_reads_normal_zips(rsps):
    rsps.get(
        f"{FLOWS}/export/by-query", body=make_zip({"x.yml": "id: a\nnamespace: company.team\n"})
    )
    assert list(KestraClient(URL).export_sources("company.team")) == [("company.team", "a")]


# -- item 10: the configured TLS setting wins ------------------------------------------------


@pytest.fixture
def env_bundle(tmp_path, monkeypatch):
    """A company CA bundle set in the environment, as many CI images and laptops do."""
    path = tmp_path / "company-ca.pem"
    path.write_text("-")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(path))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return str(path)


def sent_verify(rsps, client) -> object:
    rsps.get(f"{FLOWS}/distinct-namespaces", json=[])
    client.distinct_namespaces()
    return rsps.calls[-1].request.req_kwargs["verify"]


def test_a_configured_ca_bundle_wins_over_requests_ca_bundle(rsps, env_bundle, tmp_path):
    mine = tmp_path / "mine.pem"
    mine.write_text("-")
    assert sent_verify(rsps, KestraClient(URL, verify=str(mine))) == str(mine)


def test_verify_false_and_true_win_over_the_environment(rsps, env_bundle):
    assert sent_verify(rsps, KestraClient(URL, verify=False)) is False
    assert sent_verify(rsps, KestraClient(URL, verify=True)) == requests.certs.where()


def test_without_a_setting_the_environments_bundle_is_used(rsps, env_bundle):
    assert sent_verify(rsps, KestraClient(URL)) == env_bundle


def test_a_ca_bundle_that_does_not_exist_is_named(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match=r"the CA bundle \S*nope.pem does not exist"):
        KestraClient(URL, verify=str(tmp_path / "nope.pem"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone.pem"))
    with pytest.raises(ConfigError, match=r"gone.pem named by REQUESTS_CA_BUNDLE does not exist"):
        KestraClient("https://kestra.test")


# -- item 10: redirects stay on the server ---------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.test/api/v1/main/flows/search",
        "https://kestra.test:8080/x",
        "http://kestra.test:9090/x",
    ],
)
def test_a_redirect_to_another_origin_is_refused_naming_both(rsps, target):
    rsps.get(f"{FLOWS}/distinct-namespaces", status=302, headers={"Location": target})
    client = KestraClient(URL, username="admin@kestra.io", password="Pw0rd-secret", retries=0)
    with pytest.raises(ApiError) as e:
        client.distinct_namespaces()
    other = target.split("/api")[0].rsplit("/x", 1)[0]
    other = other if other.count(":") == 2 else other + ":443"
    assert f"http://kestra.test:8080 redirects to another server, {other}: not followed" in str(
        e.value
    )
    assert len(rsps.calls) == 1  # nothing was sent there, so no credentials either


def test_a_redirect_loop_on_the_same_server_ends(rsps):
    rsps.get(f"{FLOWS}/distinct-namespaces", status=302, headers={"Location": "/a"})
    rsps.get(f"{URL}/a", status=302, headers={"Location": f"{FLOWS}/distinct-namespaces"})
    with pytest.raises(TransportError, match="more than 5 redirects"):
        KestraClient(URL, retries=0).distinct_namespaces()


# -- keep-alive connections: one per thread, reused --------------------------------------------


@pytest.mark.parametrize("threads", [16, 24])
def test_as_many_threads_as_the_pool_size_reuse_their_connections(rsps, threads):
    """requests keeps 10 idle connections per server; with more threads (apply's default is
    16) each request beyond the tenth opened a new connection (a TLS handshake over https)."""
    import threading

    round_trip = threading.Barrier(threads, timeout=10)  # all requests in flight at once

    def answer(method, path, body):
        round_trip.wait()
        return 200, {"Content-Type": "application/json"}, b"[]"

    with HostileServer(answer) as server:
        accepted = []
        serve = server.httpd.process_request
        server.httpd.process_request = lambda *a: (accepted.append(1), serve(*a))
        rsps.add_passthru(server.url)
        client = KestraClient(server.url, retries=0, pool_size=threads)
        for _ in range(3):
            workers = [threading.Thread(target=client.distinct_namespaces) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
    assert len(accepted) == threads  # the first round's connections served all three


# -- export zips are inflated directly, with zipfile's checks ----------------------------------


def kestra_like_zip(entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    """As Java's ZipOutputStream writes them: deflated, sizes in a data descriptor."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries.items():
            with z.open(name, "w") as out:  # streamed: flag bit 3, a data descriptor
                out.write(data)
    return buf.getvalue()


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_export_entries_are_read_as_zipfile_reads_them(monkeypatch, method):
    import kestra_sync.client.wire as wire

    entries = {f"ns-f{i}.yml": f"id: f{i}\nnamespace: ns\n# é ✓\n".encode() for i in range(5)}
    data = kestra_like_zip(entries, method)
    expected = [(n, t.decode("utf-8")) for n, t in entries.items()]

    def not_needed(*args):
        raise AssertionError("a plain entry went through zipfile.open")

    monkeypatch.setattr(wire, "_read_entry", not_needed)
    assert read_zip(data, MIB) == expected
    assert read_zip(data) == expected


def test_an_entry_whose_bytes_do_not_match_its_crc_is_unreadable():
    data = zip_of({"ns-f.yml": b"id: f\nnamespace: ns\n" * 50})
    central = data.find(b"PK\x01\x02")
    broken = bytearray(data)
    broken[central + 16] ^= 0xFF  # the central directory's CRC-32
    with pytest.raises(ValueError, match="ns-f.yml"):
        read_zip(bytes(broken), MIB)


def test_an_entry_whose_local_header_names_another_file_is_unreadable():
    data = kestra_like_zip({"ns-f.yml": b"id: f\nnamespace: ns\n"})
    local = data.find(b"PK\x03\x04")
    broken = data[: local + 30] + b"ns-g.yml" + data[local + 38 :]
    with pytest.raises(ValueError, match="ns-f.yml"):
        read_zip(broken, MIB)


def test_a_truncated_entry_is_unreadable():
    data = kestra_like_zip({"ns-f.yml": bytes(range(256)) * 64})
    central = data.find(b"PK\x01\x02")
    size = struct.unpack_from("<I", data, central + 20)[0]  # the compressed size
    broken = bytearray(data)
    struct.pack_into("<I", broken, central + 20, size - 10)
    with pytest.raises(ValueError, match="ns-f.yml"):
        read_zip(bytes(broken), MIB)
