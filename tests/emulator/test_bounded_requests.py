"""The emulator is shipped to users: every request does bounded work and meets Kestra's own
refusals, and SIGTERM stops it cleanly (issue 20, item 13). Real HTTP requests, against the
in-process emulator and, for the signal, the `kestra-sync emulator` command itself."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import zipfile

import requests

from tests.conftest import ROOT

NS_URL = "/api/v1/main/namespaces/company.team"
TRAVERSAL = "File should be accessed with their full path and not using relative '..' path."


def _strict_json(text: str):
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_catastrophic_fault_pattern_is_refused_and_sigterm_stops_the_emulator(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "kestra_sync", "emulator", "--port", "0", "--no-auth"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = child.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first).group()
        for pattern in ("(a+)+$", "(a|aa)*$", "a*a*a*$", r"(\w+)\1"):
            refused = requests.post(f"{url}/_emulator/faults", json={"path": pattern}, timeout=5)
            assert refused.status_code == 400, (pattern, refused.text)
            assert "bad fault: path pattern" in refused.json()["message"]
        kept = requests.post(f"{url}/_emulator/faults", json={"path": r"/kv/[a-z]+$"}, timeout=5)
        assert kept.status_code == 200, kept.text
        # A long path against the fault that stays: answered, not after minutes of matching
        # (the request's timeout fails the test); a busy machine gets a generous bound.
        reply = requests.get(f"{url}{NS_URL}/kv/{'a' * 4000}!", timeout=30)
        assert reply.status_code == 422  # a key Kestra refuses

        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 0
        assert "emulator stopped" in child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()


def test_a_deeply_nested_kv_value_is_stored_as_text_as_kestra_does_not_a_500(emulator):
    body = "[" * 200_000 + "]" * 200_000
    url = f"{emulator.url}{NS_URL}/kv/deep"
    put = requests.put(url, data=body, headers={"Content-Type": "text/plain"}, timeout=30)
    assert put.status_code == 200, put.text[:300]
    got = requests.get(url, timeout=30).json()
    assert got["type"] == "STRING" and got["value"] == body
    shallow = "[" * 10 + "]" * 10
    requests.put(url, data=shallow, headers={"Content-Type": "text/plain"}, timeout=30)
    assert requests.get(url, timeout=30).json()["type"] == "JSON"


def test_a_deeply_nested_json_body_is_refused_not_a_500(emulator):
    reply = requests.post(
        f"{emulator.url}/api/v1/main/flows/export/by-ids",
        data="[" * 200_000 + "]" * 200_000,
        headers={"Content-Type": "application/json"},
        auth=None,
        timeout=30,
    )
    assert reply.status_code == 422, reply.text[:300]
    assert "nested too deeply" in reply.json()["message"]


def test_a_number_out_of_range_never_makes_invalid_json(emulator):
    url = f"{emulator.url}{NS_URL}/kv/huge"
    for body, expected in (("1e400", "Infinity"), ("-1e400", "-Infinity")):
        put = requests.put(url, data=body, headers={"Content-Type": "text/plain"}, timeout=5)
        assert put.status_code == 200, put.text
        got = _strict_json(requests.get(url, timeout=5).text)
        assert got["type"] == "NUMBER" and got["value"] == expected
    # Infinity and NaN as bare words are Ion symbols: strings, never numbers.
    requests.put(url, data="NaN", headers={"Content-Type": "text/plain"}, timeout=5)
    assert _strict_json(requests.get(url, timeout=5).text)["value"] == "NaN"


def _upload(emulator, path: str, content: bytes, name: str = "file"):
    return requests.post(
        f"{emulator.url}{NS_URL}/files",
        params={"path": path},
        files={"fileContent": (name, content)},
        timeout=5,
    )


def test_a_path_with_dot_dot_is_refused_as_kestras_storage_does(emulator):
    for path in ("/a/../../../escape.txt", "/../x", "/a/..", "/..hidden", "/a/b../c"):
        reply = _upload(emulator, path, b"x")
        assert reply.status_code == 422, (path, reply.text)
        assert TRAVERSAL in reply.json()["message"]
        for method in (requests.get, requests.delete):
            other = method(f"{emulator.url}{NS_URL}/files", params={"path": path}, timeout=5)
            assert other.status_code == 422, (path, other.text)
    assert _upload(emulator, "/a/b..c/ok..txt", b"fine").status_code == 200

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../escape.txt", b"x")
    reply = _upload(emulator, "/", archive.getvalue(), name="bundle.zip")
    assert reply.status_code == 422 and TRAVERSAL in reply.json()["message"]

    export = requests.get(f"{emulator.url}{NS_URL}/files/export", timeout=5)
    with zipfile.ZipFile(io.BytesIO(export.content)) as z:
        assert z.namelist() == ["a/b..c/ok..txt"]
