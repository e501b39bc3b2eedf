"""Oracle 3, dashboards: Kestra's ``DashboardControllerTest`` (kestra-io/kestra
``webserver/src/test/java/io/kestra/webserver/controllers/api/DashboardControllerTest.java``,
at conformance.KESTRA_COMMIT) translated into HTTP checks, as test_conformance_kestra.py does
for the other controllers. The cases about ids apply from 1.0: before 5da4d8873 (2025-08-27,
in the 1.0 cut) the server made up every dashboard id. Each case deletes what it made, so that
a real server is left as it was. The chart-data and default-dashboard cases are left out:
kestra-sync does not use those endpoints."""

from __future__ import annotations

import uuid

from .conformance import kestra_case

DCT = "DashboardControllerTest"
BY_ID = ("1.0", "1.3", "2.0")
YAML = {"Content-Type": "application/x-yaml"}


def dashboard(did: str | None, description: str = "Default overview dashboard") -> str:
    head = f"id: {did}\n" if did else ""
    return (
        f"{head}title: Some Dashboard\ndescription: {description}\ntimeWindow:\n"
        "  default: P30D # P30DT30H\n  max: P365D\n\ncharts:\n  - id: logs_timeseries\n"
        "    type: io.kestra.plugin.core.dashboard.chart.TimeSeries\n    data:\n"
        "      type: io.kestra.plugin.core.dashboard.data.Logs\n      columns:\n"
        "        date:\n          field: DATE\n"
    )


def fresh_id(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def post(http, source: str):
    return http.call("POST", "/dashboards", data=source.encode("utf-8"), headers=YAML)


@kestra_case(f"{DCT}#full", profiles=BY_ID)
def test_created_dashboard_reads_back_lists_and_deletes(http):
    did = fresh_id("full")
    created = post(http, dashboard(did))
    assert created.status_code == 200
    body = created.json()
    assert (body["id"], body["title"]) == (did, "Some Dashboard")
    assert body["description"] == "Default overview dashboard"
    got = http.get(f"/dashboards/{did}").json()
    assert got["sourceCode"].startswith(f"id: {did}\ntitle: Some Dashboard")
    listed = http.get("/dashboards", params={"size": 100}).json()
    assert did in [d["id"] for d in listed["results"]]
    assert http.delete(f"/dashboards/{did}").status_code == 204
    assert http.get(f"/dashboards/{did}").status_code == 404


@kestra_case(f"{DCT}#cantHaveMultipleDashboardsWithSameId", profiles=BY_ID)
def test_a_second_create_of_an_id_is_refused(http):
    did = fresh_id("same")
    assert post(http, dashboard(did)).status_code == 200
    again = post(http, dashboard(did))
    http.delete(f"/dashboards/{did}")
    assert again.status_code == 422
    assert again.json()["message"] == "Invalid entity: dashboard.id: Dashboard id already exists"


@kestra_case(f"{DCT}#update", profiles=BY_ID)
def test_update_keeps_the_id_and_refuses_another(http):
    did = fresh_id("update")
    post(http, dashboard(did))
    path = f"/dashboards/{did}"
    changed = dashboard(did, "Another description")
    updated = http.call("PUT", path, data=changed.encode("utf-8"), headers=YAML)
    assert (updated.status_code, updated.json()["description"]) == (200, "Another description")
    renamed = changed.replace(did, did + "-updated")
    refused = http.call("PUT", path, data=renamed.encode("utf-8"), headers=YAML)
    got = http.get(path).json()
    http.delete(path)
    assert refused.status_code == 422
    assert refused.json()["message"] == "Invalid entity: dashboard.id: Illegal dashboard id update"
    assert got["sourceCode"] == changed  # stored byte for byte, comments included


@kestra_case(f"{DCT}#mandatoryId", profiles=BY_ID)
def test_a_dashboard_without_id_is_refused(http):
    refused = post(http, dashboard(None))
    assert refused.status_code == 422
    assert refused.json()["message"] == "Illegal argument: Dashboard id is mandatory"
