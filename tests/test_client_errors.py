"""Every error status -> its typed error with a short, useful message and no secret in it."""

from __future__ import annotations

import base64

import pytest
import requests

from kestra_sync.client import KestraClient
from kestra_sync.errors import (
    AlreadyExistsError,
    ApiError,
    AuthError,
    BadRequestError,
    ConflictError,
    InvalidFlowError,
    KestraSyncError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from tests.support.http_mock import FLOWS, URL, mocked_http

SOURCE = "id: hello\nnamespace: company.team\ntasks:\n  - id: t\n    type: x\n"
ITEM = f"{FLOWS}/company.team/hello"
PASSWORD = "Sup3rSecretPw"
TOKEN = "tok_9f8e7d6c5b4a"
BASIC = base64.b64encode(f"admin@kestra.io:{PASSWORD}".encode()).decode()


@pytest.fixture(autouse=True)
def rsps():
    yield from mocked_http()


@pytest.fixture
def client():
    return KestraClient(URL, username="admin@kestra.io", password=PASSWORD, retries=0)


# Exact 422 bodies (docs/kestra-api.md)
ALREADY_EXISTS = {
    "message": "Invalid entity: flow.id: Flow id already exists",
    "_links": {"self": {"href": "/api/v1/main/flows", "templated": False}},
    "_embedded": {"errors": [{"message": "Flow id already exists", "path": "flow.id"}]},
}
ILLEGAL_ID_UPDATE = {
    "message": "Invalid entity: flow.id: Illegal flow id update",
    "_links": {"self": {"href": "/api/v1/main/flows/company.team/hello", "templated": False}},
    "_embedded": {"errors": [{"message": "Illegal flow id update", "path": "flow.id"}]},
}
CONSTRAINTS = {
    "message": (
        'Invalid entity: tasks: must not be empty\nid: must match "^[a-zA-Z0-9][a-zA-Z0-9._-]*"\n'
    ),
    "_links": {"self": {"href": "/api/v1/main/flows", "templated": False}},
    "_embedded": {
        "errors": [
            {"message": "must not be empty", "path": "tasks"},
            {"message": 'must match "^[a-zA-Z0-9][a-zA-Z0-9._-]*"', "path": "id"},
        ]
    },
}


def test_create_of_an_existing_flow_raises_already_exists_with_its_violation(rsps, client):
    rsps.post(FLOWS, status=422, json=ALREADY_EXISTS)
    with pytest.raises(AlreadyExistsError) as e:
        client.create_flow(SOURCE)
    err = e.value
    assert isinstance(err, InvalidFlowError)
    assert (
        str(err) == "POST /api/v1/main/flows: 422 Invalid entity: flow.id: Flow id already exists"
    )
    assert err.violations == [("flow.id", "Flow id already exists")]
    assert err.server_message == ALREADY_EXISTS["message"]
    assert (err.status, err.method, err.path) == (422, "POST", "/api/v1/main/flows")


def test_already_exists_is_recognised_from_the_message_alone(rsps, client):
    # Only status 422 and the message are certain; _embedded may be absent or shaped otherwise.
    rsps.post(
        FLOWS, status=422, json={"message": "Invalid entity: flow.id: Flow id already exists"}
    )
    with pytest.raises(AlreadyExistsError) as e:
        client.create_flow(SOURCE)
    assert e.value.violations == []


def test_put_with_a_changed_id_reports_illegal_flow_id_update(rsps, client):
    rsps.put(ITEM, status=422, json=ILLEGAL_ID_UPDATE)
    with pytest.raises(InvalidFlowError) as e:
        client.update_flow("company.team", "hello", SOURCE)
    assert not isinstance(e.value, AlreadyExistsError)
    assert str(e.value) == (
        "PUT /api/v1/main/flows/company.team/hello: 422 Invalid entity: flow.id: "
        "Illegal flow id update"
    )


def test_constraint_violations_are_listed_and_the_message_stays_on_one_line(rsps, client):
    rsps.post(FLOWS, status=422, json=CONSTRAINTS)
    with pytest.raises(InvalidFlowError) as e:
        client.create_flow(SOURCE)
    assert "\n" not in str(e.value)
    assert str(e.value).endswith(
        'Invalid entity: tasks: must not be empty; id: must match "^[a-zA-Z0-9][a-zA-Z0-9._-]*"'
    )
    assert e.value.violations == [
        ("tasks", "must not be empty"),
        ("id", 'must match "^[a-zA-Z0-9][a-zA-Z0-9._-]*"'),
    ]


def test_embedded_errors_as_a_single_object_are_accepted(rsps, client):
    body = dict(ALREADY_EXISTS, _embedded={"errors": ALREADY_EXISTS["_embedded"]["errors"][0]})
    rsps.post(FLOWS, status=422, json=body)
    with pytest.raises(AlreadyExistsError) as e:
        client.create_flow(SOURCE)
    assert e.value.violations == [("flow.id", "Flow id already exists")]


def test_illegal_argument_422_is_an_invalid_flow_error(rsps, client):
    msg = "Illegal argument: Cannot create flow with null or blank source"
    rsps.post(FLOWS, status=422, json={"message": msg})
    with pytest.raises(InvalidFlowError, match="blank source"):
        client.create_flow(" ")


def test_401_with_empty_body_says_to_check_credentials(rsps, client):
    rsps.get(ITEM, status=401, body="", headers={"WWW-Authenticate": "Basic"})
    with pytest.raises(AuthError) as e:
        client.get_flow("company.team", "hello")
    assert str(e.value) == "GET /api/v1/main/flows/company.team/hello: 401 Unauthorized"
    assert "KESTRA_USERNAME" in e.value.hint and "KESTRA_PASSWORD" in e.value.hint
    assert e.value.body_excerpt == ""


def test_401_with_a_token_explains_that_oss_refuses_bearer_tokens(rsps):
    c = KestraClient(URL, token=TOKEN, retries=0)
    rsps.get(ITEM, status=401, body="", headers={"WWW-Authenticate": "Basic"})
    with pytest.raises(AuthError) as e:
        c.get_flow("company.team", "hello")
    assert "KESTRA_API_TOKEN" in e.value.hint
    assert "Bearer" in e.value.hint and "0.24" in e.value.hint


def test_401_without_any_credentials_says_the_server_requires_them(rsps):
    c = KestraClient(URL, retries=0)
    rsps.get(ITEM, status=401, body="")
    with pytest.raises(AuthError) as e:
        c.get_flow("company.team", "hello")
    assert "requires credentials" in e.value.hint


def test_403_is_an_auth_error_about_permissions(rsps, client):
    rsps.delete(ITEM, status=403, json={"message": "Forbidden"})
    with pytest.raises(AuthError) as e:
        client.delete_flow("company.team", "hello")
    assert "permission" in e.value.hint


def test_wrong_tenant_on_oss_hints_that_only_main_exists(rsps):
    c = KestraClient(URL, tenant="acme", retries=0)
    rsps.get(
        f"{URL}/api/v1/acme/flows/company.team",
        status=400,
        json={"message": "Bad Request: Tenant must be 'main' for OSS version"},
    )
    with pytest.raises(BadRequestError) as e:
        c.list_namespace("company.team")
    assert "'main'" in e.value.hint
    assert str(e.value).endswith("400 Bad Request: Tenant must be 'main' for OSS version")


def test_409_is_a_conflict(rsps, client):
    rsps.put(ITEM, status=409, json={"message": "Illegal state: flow is locked"})
    with pytest.raises(ConflictError, match="409 Illegal state: flow is locked"):
        client.update_flow("company.team", "hello", SOURCE)


def test_500_is_a_server_error(rsps, client):
    rsps.get(ITEM, status=500, json={"message": "Internal server error: boom"})
    with pytest.raises(ServerError, match="500 Internal server error: boom"):
        client.get_flow("company.team", "hello")


def test_other_statuses_are_plain_api_errors(rsps, client):
    rsps.get(ITEM, status=423, json={"message": "Locked: cannot deserialize"})
    with pytest.raises(ApiError) as e:
        client.get_flow("company.team", "hello")
    assert type(e.value) is ApiError and e.value.status == 423


def test_html_error_page_gives_status_and_reason_and_keeps_an_excerpt(rsps, client):
    rsps.get(ITEM, status=502, body="<html>Bad gateway " + "x" * 1000 + "</html>")
    with pytest.raises(ServerError) as e:
        client.get_flow("company.team", "hello")
    assert str(e.value) == "GET /api/v1/main/flows/company.team/hello: 502 Bad Gateway"
    assert e.value.body_excerpt.startswith("<html>") and len(e.value.body_excerpt) <= 300


def test_redirect_on_a_write_is_not_followed(rsps, client):
    # requests would turn a redirected POST into a GET and silently drop the flow.
    rsps.post(FLOWS, status=301, headers={"Location": "https://kestra.test/api/v1/main/flows"})
    with pytest.raises(ApiError) as e:
        client.create_flow(SOURCE)
    assert e.value.status == 301 and "https://kestra.test" in e.value.hint
    assert len(rsps.calls) == 1


def test_redirect_on_a_read_is_followed(rsps, client):
    rsps.get(f"{FLOWS}/distinct-namespaces", status=302, headers={"Location": f"{URL}/elsewhere"})
    rsps.get(f"{URL}/elsewhere", json=["a"])
    assert client.distinct_namespaces() == ["a"]


# -- unreadable 2xx ------------------------------------------------------------------------------


def test_unreadable_reply_to_a_write_says_the_write_was_applied(rsps, client):
    rsps.put(ITEM, status=200, body="revision: two", content_type="text/plain")
    with pytest.raises(UnexpectedResponseError) as e:
        client.update_flow("company.team", "hello", SOURCE)
    assert "the write was applied" in str(e.value) and "could not be read" in str(e.value)
    assert e.value.method == "PUT"


@pytest.mark.parametrize(
    "body, ctype",
    [
        ("<html><form>Sign in</form></html>", "text/html; charset=utf-8"),
        ("\n  <!DOCTYPE html><title>Login</title>", "application/json"),  # a lying header
    ],
)
def test_an_html_page_answering_a_write_is_not_applied(rsps, client, body, ctype):
    """A proxy or SSO login page answering 200 is not Kestra: the write did not happen."""
    rsps.put(ITEM, status=200, body=body, content_type=ctype)
    with pytest.raises(UnexpectedResponseError) as e:
        client.update_flow("company.team", "hello", SOURCE)
    assert "HTML page" in str(e.value) and "the change was not applied" in str(e.value)
    assert "applied (200)" not in str(e.value) and "login page" in str(e.value)


def test_an_html_page_answering_a_listing_is_not_a_listing(rsps, client):
    rsps.get(
        f"{FLOWS}/company.team", status=200, body="<html>Login</html>", content_type="text/html"
    )
    with pytest.raises(UnexpectedResponseError, match="HTML page .*not Kestra's API"):
        client.list_namespace("company.team")


def test_empty_reply_to_a_create_says_the_write_was_applied(rsps, client):
    rsps.post(FLOWS, status=200, body="")
    with pytest.raises(UnexpectedResponseError, match="applied.*empty body"):
        client.create_flow(SOURCE)


def test_json_reply_without_a_revision_to_a_write_says_applied(rsps, client):
    rsps.post(FLOWS, json={"id": "hello", "namespace": "company.team"})
    with pytest.raises(UnexpectedResponseError, match="applied.*no revision"):
        client.create_flow(SOURCE)


def test_unreadable_reply_to_a_read_does_not_claim_a_write(rsps, client):
    rsps.get(ITEM, status=200, body="not json")
    with pytest.raises(UnexpectedResponseError) as e:
        client.get_flow("company.team", "hello")
    assert "applied" not in str(e.value)
    assert "proxy" in e.value.hint


# -- transport -----------------------------------------------------------------------------------


def test_connection_refused_names_the_server_not_the_credentials(rsps):
    c = KestraClient("http://admin%40kestra.io:Pw0rdXyz1@kestra.test:8080", retries=0)
    rsps.get(ITEM, body=requests.exceptions.ConnectionError("Connection refused"))
    with pytest.raises(TransportError) as e:
        c.get_flow("company.team", "hello")
    assert "cannot reach http://kestra.test:8080: connection refused" in str(e.value)
    assert "Pw0rdXyz1" not in str(e.value) and "Pw0rdXyz1" not in (e.value.hint or "")


def test_read_timeout_on_a_write_says_it_may_have_been_applied(rsps, client):
    rsps.post(FLOWS, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TransportError) as e:
        client.create_flow(SOURCE)
    assert "no complete reply from http://kestra.test:8080 within 30s (--timeout)" in str(e.value)
    assert "may have been applied, a re-run converges" in str(e.value)
    assert e.value.maybe_applied and "never duplicated" in e.value.hint


def test_tls_failure_is_a_transport_error_with_a_ca_hint(rsps, client):
    rsps.get(ITEM, body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(TransportError) as e:
        client.get_flow("company.team", "hello")
    assert "TLS" in str(e.value) and "verify" in e.value.hint


# -- no secret in any error message --------------------------------------------------------------

ECHO = "{echo}"  # replaced per auth mode by what that client actually sends

ERROR_PATHS = {
    "401": dict(status=401, body="", headers={"WWW-Authenticate": "Basic"}),
    "403": dict(status=403, json={"message": "Forbidden for {echo}"}),
    "400": dict(status=400, json={"message": "Bad Request: {echo}"}),
    "404": dict(status=404, json={"message": "Not Found"}),
    "409": dict(status=409, json={"message": "Illegal state: {echo}"}),
    "422": dict(status=422, json=CONSTRAINTS),
    "422-exists": dict(status=422, json=ALREADY_EXISTS),
    "422-echo": dict(
        status=422,
        json={"message": ECHO, "_embedded": {"errors": [{"message": ECHO, "path": ECHO}]}},
    ),
    "500-echo": dict(status=500, body="<pre>{echo}</pre>"),
    "503": dict(status=503, body=""),
    "301": dict(status=301, headers={"Location": "http://u:{secret}@elsewhere/"}),
    "2xx-unreadable": dict(status=200, body=ECHO),
    "connection": dict(body=requests.exceptions.ConnectionError("refused {echo}")),
    "timeout": dict(body=requests.exceptions.ReadTimeout("timeout {echo}")),
    "tls": dict(body=requests.exceptions.SSLError("bad cert {echo}")),
}


def _fill(value, echo: str, secret: str):
    """A server (or a proxy, or an exception text) that echoes the request's credentials."""
    if isinstance(value, str):
        return value.replace("{echo}", echo).replace("{secret}", secret)
    if isinstance(value, dict):
        return {k: _fill(v, echo, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, echo, secret) for v in value]
    if isinstance(value, Exception):
        return type(value)(_fill(str(value), echo, secret))
    return value


def _all_text(err: KestraSyncError) -> str:
    parts = [str(err), err.message, err.hint or "", repr(err.args)]
    for attr in ("server_message", "body_excerpt", "path"):
        parts.append(str(getattr(err, attr, "") or ""))
    parts += [f"{p} {m}" for p, m in getattr(err, "violations", [])]
    return "\n".join(parts)


@pytest.mark.parametrize("auth", ["basic", "token", "url"])
@pytest.mark.parametrize("case", sorted(ERROR_PATHS))
def test_no_secret_in_any_error(rsps, case, auth):
    if auth == "token":
        c = KestraClient(URL, token=TOKEN, retries=0)
        echo, secret = f"Authorization: Bearer {TOKEN} token={TOKEN}", TOKEN
    else:
        if auth == "basic":
            c = KestraClient(URL, username="admin@kestra.io", password=PASSWORD, retries=0)
        else:
            c = KestraClient(f"http://admin%40kestra.io:{PASSWORD}@kestra.test:8080", retries=0)
        echo, secret = f"Authorization: Basic {BASIC} password={PASSWORD}", PASSWORD
    rsps.put(ITEM, **_fill(ERROR_PATHS[case], echo, secret))
    with pytest.raises(KestraSyncError) as e:
        c.update_flow("company.team", "hello", SOURCE)
    text = _all_text(e.value)
    for s in (PASSWORD, TOKEN, BASIC):
        assert s not in text


def test_no_secret_in_a_configuration_error():
    with pytest.raises(KestraSyncError) as e:
        KestraClient(f"localhost:8080?x=1&u=admin:{PASSWORD}@")
    assert PASSWORD not in _all_text(e.value)
