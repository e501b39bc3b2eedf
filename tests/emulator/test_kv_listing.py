"""Which KV listing each profile serves (knowledge.KV_NAMESPACE_LISTING, KV_TENANT_LISTING, read
from the specs of kestra-io/client-sdk): up to 1.3 ``GET …/namespaces/{ns}/kv`` (a list); from
1.1 also ``GET /api/v1/{tenant}/kv`` (paged, ``filters[...]``); 2.0 keeps only the bulk DELETE on
the namespace path, so its GET answers 405."""

from __future__ import annotations

import pytest
import requests

TEXT = {"Content-Type": "text/plain"}


def seed(emu) -> None:
    for ns, key in (("company.team", "b"), ("company.team", "a"), ("company.team.sub", "c")):
        url = f"{emu.url}/api/v1/main/namespaces/{ns}/kv/{key}"
        assert requests.put(url, data='"v"', headers=TEXT, timeout=10).ok
    assert requests.put(f"{emu.url}/api/v1/main/namespaces/other/kv/z", data="1", headers=TEXT).ok


def by_namespace(emu) -> requests.Response:
    return requests.get(f"{emu.url}/api/v1/main/namespaces/company.team/kv", timeout=10)


def tenant_wide(emu, **params) -> requests.Response:
    return requests.get(f"{emu.url}/api/v1/main/kv", params=params, timeout=10)


@pytest.mark.parametrize("version", ["0.22", "1.0"])
def test_before_1_1_only_the_namespace_listing_exists(make_emulator, version):
    emu = make_emulator(version=version)
    seed(emu)
    assert [e["key"] for e in by_namespace(emu).json()] == ["a", "b"]
    assert tenant_wide(emu).status_code == 404


def test_1_3_serves_both_listings(make_emulator):
    emu = make_emulator(version="1.3")
    seed(emu)
    assert [e["key"] for e in by_namespace(emu).json()] == ["a", "b"]
    page = tenant_wide(emu, **{"filters[namespace][EQUALS]": "company.team"}).json()
    assert [e["key"] for e in page["results"]] == ["a", "b"] and page["total"] == 2


def test_2_0_lists_only_tenant_wide_paged_and_filtered(make_emulator):
    emu = make_emulator(version="2.0")
    seed(emu)
    gone = by_namespace(emu)
    assert gone.status_code == 405 and "Allowed methods: [DELETE]" in gone.json()["message"]

    every = tenant_wide(emu).json()
    assert [(e["namespace"], e["key"]) for e in every["results"]] == [
        ("company.team", "a"),
        ("company.team", "b"),
        ("company.team.sub", "c"),
        ("other", "z"),
    ]
    assert set(every["results"][0]) >= {"namespace", "key", "revision", "updateDate"}
    exact = tenant_wide(emu, **{"filters[namespace][EQUALS]": "company.team", "size": 1})
    assert exact.json()["total"] == 2 and [e["key"] for e in exact.json()["results"]] == ["a"]
    second = tenant_wide(
        emu, **{"filters[namespace][EQUALS]": "company.team", "size": 1, "page": 2}
    )
    assert [e["key"] for e in second.json()["results"]] == ["b"]
    tree = tenant_wide(emu, **{"filters[namespace][PREFIX]": "company.team"}).json()
    assert tree["total"] == 3
    bad = tenant_wide(emu, **{"filters[color][EQUALS]": "red"})
    assert bad.status_code == 400 and "Invalid query filters" in bad.json()["message"]


@pytest.mark.parametrize("version", ["1.3", "2.0"])
def test_bulk_delete_on_the_namespace_path_answers_the_keys_it_deleted(make_emulator, version):
    emu = make_emulator(version=version)
    seed(emu)
    url = f"{emu.url}/api/v1/main/namespaces/company.team/kv"
    done = requests.delete(url, json={"keys": ["a", "nope"]}, timeout=10)
    assert done.status_code == 200 and done.json() == {"keys": ["a"]}
    left = tenant_wide(emu, **{"filters[namespace][EQUALS]": "company.team"}).json()
    assert [e["key"] for e in left["results"]] == ["b"]
