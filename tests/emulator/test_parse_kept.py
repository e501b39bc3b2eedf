"""The emulator keeps each write's parse: searching and exporting thousands of flows never parses
them again (a 2,048-entry cache used to make every search past 2,048 flows re-parse them all, so
benchmarks measured the emulator instead of the client)."""

from __future__ import annotations

from kestra_sync.emulator import rules

from .conftest import flow_yaml

SEARCH = {"size": 100, "filters[namespace][EQUALS]": "company.team"}


def count_parses(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = rules.parse_generic
    monkeypatch.setattr(rules, "parse_generic", lambda src: calls.append(src) or real(src))
    return calls


def test_searches_over_more_flows_than_the_old_cache_held_parse_nothing(emulator, api, monkeypatch):
    # 2,100 flows through the server's own write path (parse, validate, store), then through
    # the HTTP API for one update.
    for i in range(2100):
        source = flow_yaml(f"f{i:04d}", extra=f"description: flow {i}\n")
        emulator.store.create("main", rules.parse_for_write(source))
    updated = flow_yaml("f0000", extra="description: new\n")
    assert api.update("company.team", "f0000", updated).status_code == 200

    calls = count_parses(monkeypatch)
    for _ in range(2):
        page = api.get("/search", params={**SEARCH, "size": 10_000}).json()
        assert page["total"] == 2100
        # The replies still echo the fields of each flow's latest source.
        descriptions = {r["id"]: r.get("description") for r in page["results"]}
        assert descriptions["f0000"] == "new" and descriptions["f2099"] == "flow 2099"
    assert calls == []


def test_a_row_that_was_never_written_through_the_api_is_parsed_once(emulator, api, monkeypatch):
    row = {
        "namespace": "company.team",
        "id": "seeded",
        "revision": 1,
        "source": flow_yaml("seeded"),
    }
    emulator.store.put_raw("main", [row])
    calls = count_parses(monkeypatch)
    for _ in range(3):
        assert api.get("/search", params=SEARCH).json()["total"] == 1
    assert len(calls) == 1
