"""apply orders subflows before their callers from the parse the scan already made: a plan of
thousands of flows must not parse each changed flow again just to find its references."""

from __future__ import annotations

import pytest

import kestra_sync.planning.references as references_mod
from kestra_sync.models import FlowRef
from kestra_sync.planning.plan import CREATE, Change
from kestra_sync.planning.references import dependencies
from kestra_sync.source.flowscan import scan

CALLER = """id: caller
namespace: company.team
tasks:
  - id: run
    type: io.kestra.plugin.core.flow.Subflow
    namespace: company.team
    flowId: target
"""
TARGET = """id: target
namespace: company.team
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


@pytest.fixture
def scanned(tmp_path):
    (tmp_path / "caller.yml").write_text(CALLER, encoding="utf-8")
    (tmp_path / "target.yml").write_text(TARGET, encoding="utf-8")
    return scan(tmp_path).flows


def creates(flows, **override):
    return [
        Change(CREATE, f.ref, path=str(f.path), source=override.get(f.id, f.source)) for f in flows
    ]


def ref(flow_id):
    return FlowRef("main", "company.team", flow_id)


def test_the_scans_parse_orders_the_changes_without_parsing_again(scanned, monkeypatch):
    def no_parse(text):
        raise AssertionError("parsed a flow the scan had already parsed")

    monkeypatch.setattr(references_mod, "parse_yaml", no_parse)
    deps = dependencies(creates(scanned), scanned)
    assert deps[ref("caller")] == {ref("target")}
    assert deps[ref("target")] == set()


def test_a_change_whose_source_is_not_the_scanned_one_is_parsed(scanned, monkeypatch):
    # A saved plan edited since the scan, or a source rewritten: its own text decides.
    parsed = []
    real = references_mod.parse_yaml
    monkeypatch.setattr(
        references_mod, "parse_yaml", lambda text: parsed.append(text) or real(text)
    )
    changed = CALLER.replace("flowId: target", "flowId: elsewhere")
    deps = dependencies(creates(scanned, caller=changed), scanned)
    assert deps[ref("caller")] == set()
    assert parsed == [changed]


def test_without_the_scan_every_change_is_parsed(scanned):
    assert dependencies(creates(scanned))[ref("caller")] == {ref("target")}


def test_a_flow_parsed_on_use_is_not_parsed_when_it_cannot_call_another(tmp_path, monkeypatch):
    # With the result cache a scanned flow is parsed only when asked (models.FlowParsedOnUse):
    # ordering the changes asks only for the flows whose text can hold a flowId key.
    import kestra_sync.source.yamlindex as yamlindex
    from kestra_sync.models import PARSE_ON_USE, FlowParsedOnUse

    parsed = []
    real = yamlindex.parse_yaml
    monkeypatch.setattr(yamlindex, "parse_yaml", lambda text: parsed.append(text) or real(text))
    flows = [
        FlowParsedOnUse(tmp_path / f"{fid}.yml", text, PARSE_ON_USE, "company.team", fid)
        for fid, text in (("caller", CALLER), ("target", TARGET))
    ]
    deps = dependencies(creates(flows), flows)
    assert deps == {ref("caller"): {ref("target")}, ref("target"): set()}
    assert parsed == [CALLER]
