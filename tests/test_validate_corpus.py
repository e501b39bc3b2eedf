"""Data-driven corpus: every file under tests/data/flows/invalid has its exact diagnostics in
expected.json ([code, line, message substring]); every file under valid/ must be clean.
Adding a case = adding a file and its line in expected.json."""

import json
from pathlib import Path

import pytest

from kestra_sync.rules.validate import validate_offline
from kestra_sync.source.flowscan import load_flow

DATA = Path(__file__).parent / "data" / "flows"
EXPECTED = json.loads((DATA / "invalid" / "expected.json").read_text(encoding="utf-8"))


def diagnose(path: Path):
    flow, diags = load_flow(path)
    if flow is not None:
        diags += validate_offline([flow])
    return flow, diags


@pytest.mark.parametrize("path", sorted((DATA / "valid").iterdir()), ids=lambda p: p.name)
def test_valid_flow_has_no_diagnostics(path):
    flow, diags = diagnose(path)
    assert diags == []
    assert flow.source.encode("utf-8") == path.read_bytes()  # source kept byte for byte


def test_every_invalid_file_has_an_expectation():
    files = {p.name for p in (DATA / "invalid").iterdir() if p.suffix in (".yml", ".yaml")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_flow_gives_exact_diagnostics(name):
    _, diags = diagnose(DATA / "invalid" / name)
    got = [(d.code, d.line) for d in diags]
    assert got == [(code, line) for code, line, _ in EXPECTED[name]], [d.message for d in diags]
    for d, (_, _, text) in zip(diags, EXPECTED[name], strict=True):
        assert text in d.message
        assert d.column is not None and d.column >= 1
        assert d.path.endswith(name)


def test_no_exception_on_any_truncation_or_mutation(tmp_path):
    """Every prefix of a real flow, and each line with a stray character, gives diagnostics,
    never an exception (a traceback is a bug)."""
    src = (Path(__file__).parent.parent / "flows/company/team/orders-etl.yml").read_text()
    variants = [src[:i] for i in range(0, len(src), 7)]
    lines = src.splitlines(keepends=True)
    for i in range(len(lines)):
        for junk in ("\t", "- ", ": ", "{", "]", "&a ", "*a ", "!!int ", "'", '"', "? "):
            variants.append("".join(lines[:i]) + junk + "".join(lines[i:]))
    path = tmp_path / "f.yml"
    for text in variants:
        path.write_text(text, encoding="utf-8")
        flow, diags = load_flow(path)
        if flow is not None:
            diags += validate_offline([flow], layout="nested", root=tmp_path)
        for d in diags:
            assert d.severity in ("error", "warning") and d.message and d.code
            assert d.line is None or d.line >= 1
