"""The emulator reads a flow source two ways: a quick build from the composed nodes when every
node is plain, PyYAML's strict loader otherwise (``emulator/yamlparse.py``). Whichever is
taken, a source must read the same -- same data, same types, same refusal -- or the emulator
would accept or store a flow differently depending on an optimisation."""

from pathlib import Path

import pytest
import yaml

from kestra_sync.emulator import yamlparse
from kestra_sync.emulator.errors import ConstraintViolations

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted(
    p
    for folder in ("tests/data", "examples")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in (".yml", ".yaml") and p.is_file()
)

# Sources the quick build must hand over to the strict loader, each for its own reason.
NOT_PLAIN = {
    "alias to a map": "a: &x {b: 1}\nc: *x\n",
    "recursive alias": "a: &r [*r]\n",
    "merge key": "base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n",
    "inline merge key": "<<: {a: 1}\nb: 2\n",
    "duplicate key": "id: a\nnamespace: n\nid: b\n",
    "int and float keys that are equal": "x: 1\n1: 2\n1.0: 3\n",
    "true and 1 keys that are equal": "true: a\n1: b\n",
    "unhashable key": "? [1]\n: 2\n",
    "binary": "a: !!binary aGk=\n",
    "unknown tag": "a: !custom value\n",
    "syntax error": "a: b: c\n",
    "tab indentation": "a:\n\tb: 1\n",
}

# Plain sources, read by the quick build: every scalar type SafeLoader knows.
PLAIN = {
    "scalars": (
        "a: 1\nb: [1, 2.5, true, null, ~, 2024-01-01, 0x1F, 1_000, .inf, 0755, 1:30, yes, on]\n"
    ),
    "timestamp with time": "t: 2001-12-14t21:59:43.10-05:00\n",
    "explicit tags": "a: !!str 1\nb: !!int '3'\nc: !!float '1'\nd: !!bool 'true'\n",
    "alias to a scalar": "a: &s x\nb: *s\n",
    "nested flow style": "a: {b: [c, {d: e}]}\n",
    "quoted": 'key: \'quoted\'\n"q": "x\\ty"\n',
    "several documents": "--- \na: 1\n---\nb: 2\n",
    "empty document": "---\n",
    "empty source": "",
    "block scalars": "a: |\n  one\n  two\nb: >-\n  folded\n  text\n",
}


def _reference(source: str):
    """PyYAML's strict loader on the pure-Python parser: what the emulator did before."""
    return list(yaml.load_all(source, Loader=yamlparse._StrictLoader))


def _outcome(read, source: str):
    try:
        return ("read", repr(read(source)))  # repr: a recursive alias cannot be compared
    except ConstraintViolations as err:
        return ("refused", err.text, [(v.path, v.message) for v in err.violations])


@pytest.mark.parametrize("source", PLAIN.values(), ids=PLAIN.keys())
def test_a_plain_source_reads_the_same_in_the_quick_build(source):
    quick = yamlparse._load_plain(source)
    assert quick is not None, "the quick build should take a plain source"
    reference = _reference(source)
    assert quick == reference
    assert [type(v) for d in quick if isinstance(d, dict) for v in d.values()] == [
        type(v) for d in reference if isinstance(d, dict) for v in d.values()
    ]


@pytest.mark.parametrize("source", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_a_source_that_is_not_plain_goes_to_the_strict_loader(source):
    assert yamlparse._load_plain(source) is None


@pytest.mark.parametrize("source", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_a_source_that_is_not_plain_is_read_or_refused_as_before(source):
    def before(text):
        # load_yaml as it was: the strict loaders only
        original = yamlparse._load_plain
        yamlparse._load_plain = lambda _text: None
        try:
            return yamlparse.load_yaml(text, "flow", yamlparse.FLOW_WITH_SOURCE_CLASS)
        finally:
            yamlparse._load_plain = original

    now = _outcome(
        lambda t: yamlparse.load_yaml(t, "flow", yamlparse.FLOW_WITH_SOURCE_CLASS), source
    )
    assert now == _outcome(before, source)


@pytest.mark.parametrize("path", CORPUS, ids=[str(p.relative_to(ROOT)) for p in CORPUS])
def test_every_flow_of_the_corpus_reads_as_the_strict_loader_reads_it(path):
    source = path.read_bytes().decode("utf-8", "replace")
    try:
        reference = _reference(source)
    except (yaml.YAMLError, yamlparse._DuplicateKey):
        assert yamlparse._load_plain(source) is None
        return
    quick = yamlparse._load_plain(source)
    if path.name in QUICK_BUILD_DECLINES:  # the strict loader reads it instead
        assert quick is None
    else:
        assert quick == reference


# The corpus files the quick build hands to the strict loader (an alias bomb).
QUICK_BUILD_DECLINES = {"alias-bomb.yml"}


def test_the_bench_flow_takes_the_quick_build():
    # The flows of scripts/bench_apply.py are what the benchmarks measure the emulator with.
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from bench_apply import FLOW
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    source = FLOW.format(n=7, team=3, hour=4)
    assert yamlparse._load_plain(source) == _reference(source)
