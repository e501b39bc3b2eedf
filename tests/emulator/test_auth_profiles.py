"""Auth per version profile (knowledge.MANDATORY_BASIC_AUTH, CONFIGS_OPEN, BASIC_AUTH_REALM,
CONFIGS_BASIC_AUTH_INITIALIZED): up to 0.23 Kestra OSS checks credentials only when some are
configured; from 0.24 on always, so a server with none configured (its setup page not done)
answers 401 with an empty body to everything but GET /api/v1/configs."""

from __future__ import annotations

import pytest
import requests

from .conftest import Api, flow_yaml

USER, PASSWORD = "admin@kestra.io", "Admin1234"
LATER = ["1.0", "1.3", "2.0"]


def get(emu, path: str, **kw) -> requests.Response:
    return requests.get(emu.url + path, timeout=10, **kw)


@pytest.mark.parametrize("version", LATER)
def test_from_0_24_a_server_without_credentials_answers_401_to_every_api_call(
    make_emulator, version
):
    emu = make_emulator(version=version, auth=None)
    for path in (
        "/api/v1/main/flows/search",
        "/api/v1/main/flows/company.team",
        "/api/v1/main/namespaces/company.team/files/directory",
        "/api/v1/main/namespaces/company.team/kv/key",
    ):
        r = get(emu, path)
        assert (r.status_code, r.content) == (401, b""), path
        assert r.headers["WWW-Authenticate"] == "Basic"
    assert Api(emu).create(flow_yaml()).status_code == 401
    assert emu.store.count() == 0
    # The login page's Referer gets no challenge (AuthenticationFilter, develop).
    r = get(emu, "/api/v1/main/flows/search", headers={"Referer": f"{emu.url}/ui/login?from=x"})
    assert r.status_code == 401 and "WWW-Authenticate" not in r.headers


@pytest.mark.parametrize("version", LATER)
def test_from_0_24_configs_stays_open_and_says_whether_auth_is_set_up(make_emulator, version):
    fresh = make_emulator(version=version, auth=None)
    body = get(fresh, "/api/v1/configs").json()
    assert body["version"] == f"{version}.0" and body["isBasicAuthInitialized"] is False
    configured = make_emulator(version=version, users={USER: PASSWORD})
    assert get(configured, "/api/v1/configs").json()["isBasicAuthInitialized"] is True
    assert get(configured, "/api/v1/main/flows/search").status_code == 401
    assert get(configured, "/api/v1/main/flows/search", auth=(USER, PASSWORD)).status_code == 200


def test_on_0_22_auth_is_optional_and_when_on_covers_configs_with_a_realm(make_emulator):
    open_ = make_emulator(version="0.22", auth=None)
    assert get(open_, "/api/v1/main/flows/search").status_code == 200
    assert get(open_, "/api/v1/configs").json()["isBasicAuthEnabled"] is False

    guarded = make_emulator(version="0.22", users={USER: PASSWORD})
    for path in ("/api/v1/configs", "/api/v1/main/flows/search"):
        r = get(guarded, path)
        assert (r.status_code, r.content) == (401, b""), path
        assert r.headers["WWW-Authenticate"] == "Basic realm=Kestra"
    body = get(guarded, "/api/v1/configs", auth=(USER, PASSWORD)).json()
    assert body["isBasicAuthEnabled"] is True and "isBasicAuthInitialized" not in body


def test_ee_always_needs_credentials(make_emulator):
    emu = make_emulator(edition="ee", version="1.3", auth=None)
    assert get(emu, "/api/v1/acme/flows/search").status_code == 401


def test_auth_false_opens_a_2_0_server_as_no_real_one_can(make_emulator):
    emu = make_emulator(auth=False)
    assert get(emu, "/api/v1/main/flows/search").status_code == 200
    assert "auth OFF" in emu.describe()


def test_the_control_api_stays_usable_when_no_credentials_exist(make_emulator):
    # Nobody could authenticate: the knobs stay open (with credentials, they need them:
    # test_control_auth.py).
    emu = make_emulator(auth=None)
    assert get(emu, "/_emulator/stats").status_code == 200
    assert "every API call answers 401" in emu.describe()
