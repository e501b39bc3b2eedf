"""The client tests' HTTP mock (``responses``): a fixture that lets no request out and no
registered request go unsent, and builders of Kestra's flow replies."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

URL = "http://kestra.test:8080"


FLOWS = f"{URL}/api/v1/main/flows"


SOURCE = (
    "# owned by kestra-sync\r\n"
    "id: hello\r\n"
    "namespace: company.team\r\n"
    "description: héllo ✓\r\n"
    "tasks:\r\n"
    "  - id: log\r\n"
    "    type: io.kestra.plugin.core.log.Log\r\n"
    "    message: hi\r\n"
)


def mocked_http():
    """Run a test under responses: an unmocked request never leaves the machine, and a test
    that made one fails here even if the client turned it into an error; a request a test
    registered but the client never sent fails it too (a DELETE the test expects must happen).
    Every test module of the client uses it as an autouse fixture."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
        for call in mock.calls:
            if isinstance(call.response, Exception) and "Responses" in str(call.response):
                pytest.fail(f"unmocked HTTP request: {call.request.method} {call.request.url}")


def flow_json(ns="company.team", fid="hello", revision=1, source=None, **extra):
    data = {
        "id": fid,
        "namespace": ns,
        "revision": revision,
        "tenantId": "main",
        "disabled": False,
        "deleted": False,
        "tasks": [{"id": "log", "type": "io.kestra.plugin.core.log.Log", "message": "hi"}],
        "unknownFutureField": {"x": 1},
    }
    if source is not None:
        data["source"] = source
    data.update(extra)
    return data


def query(call) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.request.url).query)


def make_zip(entries: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in entries.items():
            z.writestr(name, text.encode("utf-8"))
    return buf.getvalue()
