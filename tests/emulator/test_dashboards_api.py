"""The emulator's dashboard endpoints over real HTTP, per version, as Kestra's
DashboardController answers (cited in kestra_sync/emulator/dashboards.py); the cases Kestra's
own DashboardControllerTest covers are in tests/oracles/test_conformance_dashboards.py."""

from __future__ import annotations

import requests

YAML = {"Content-Type": "application/x-yaml"}
TIMESERIES = "io.kestra.plugin.core.dashboard.chart.TimeSeries"


def url(emu, tail: str = "") -> str:
    return f"{emu.url}/api/v1/main/dashboards{tail}"


def board(did: str | None = "ops", title: str = "Ops", chart_type: str = TIMESERIES) -> str:
    head = f"id: {did}\n" if did else ""
    return f"{head}title: {title}  # kept\ncharts:\n  - id: c1\n    type: {chart_type}\n"


def post(emu, source: str) -> requests.Response:
    return requests.post(url(emu), data=source.encode("utf-8"), headers=YAML)


def test_listing_pages_without_sources_and_get_serves_the_source_verbatim(emulator):
    for did in ("b", "a", "c"):
        assert post(emulator, board(did)).status_code == 200
    first = requests.get(url(emulator), params={"page": 1, "size": 2}).json()
    second = requests.get(url(emulator), params={"page": 2, "size": 2}).json()
    assert (first["total"], second["total"]) == (3, 3)
    assert [d["id"] for d in first["results"] + second["results"]] == ["a", "b", "c"]
    assert all("sourceCode" not in d for d in first["results"])
    got = requests.get(url(emulator, "/a")).json()
    assert got["sourceCode"] == board("a")


def test_missing_dashboard_answers_404_on_get_and_put_and_409_on_delete(emulator):
    assert requests.get(url(emulator, "/nope")).status_code == 404
    put = requests.put(url(emulator, "/nope"), data=board("nope").encode(), headers=YAML)
    assert (put.status_code, put.content) == (404, b"")
    gone = requests.delete(url(emulator, "/nope"))
    assert gone.status_code == 409
    assert gone.json()["message"] == "Illegal state: Dashboard nope doesn't exists"


def test_a_chart_type_kestra_lacks_and_a_bad_chart_id_are_refused(emulator):
    unknown = post(emulator, board("x", chart_type="io.kestra.plugin.core.dashboard.chart.Gauge"))
    assert unknown.status_code == 422
    assert "Invalid type: io.kestra.plugin.core.dashboard.chart.Gauge" in unknown.json()["message"]
    bad_id = post(emulator, board("y").replace("id: c1", "id: _c1"))
    assert bad_id.status_code == 422
    assert "charts[0].id" in bad_id.json()["message"]
    no_title = post(emulator, "id: z\ntitle: ''\n")
    assert (no_title.status_code, no_title.json()["message"]) == (
        422,
        "Invalid entity: title: must not be blank\n",
    )
    assert requests.get(url(emulator)).json()["total"] == 0


def test_validate_answers_200_with_the_constraints(emulator):
    good = requests.post(url(emulator, "/validate"), data=board().encode(), headers=YAML)
    assert good.json() == {"index": 0}
    bad = requests.post(url(emulator, "/validate"), data=b"id: v\ntitle: ''\n", headers=YAML)
    assert bad.status_code == 200
    assert bad.json()["constraints"] == "title: must not be blank\n"


def test_kestra_0_22_makes_up_the_id_and_refuses_one_in_the_yaml(make_emulator):
    emu = make_emulator(version="0.22")
    named = post(emu, board("ops"))
    assert (named.status_code, named.json()["message"]) == (
        422,
        "Illegal argument: Dashboard id is not editable",
    )
    made = post(emu, board(None))
    assert made.status_code == 200
    assert made.json()["id"] and made.json()["id"] != "ops"


def test_reset_forgets_the_dashboards(emulator):
    post(emulator, board("ops"))
    requests.post(f"{emulator.url}/_emulator/reset")
    assert requests.get(url(emulator)).json() == {"results": [], "total": 0}
