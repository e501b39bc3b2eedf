"""wire.flow_identity reads namespace/id from the text when that is safe, and must then agree
with a full YAML parse; every ambiguous source goes to the parser."""

from __future__ import annotations

import pytest
import yaml

from kestra_sync.client.wire import _identity_from_text, flow_identity

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the parser wire.py falls back to

REALISTIC = """# nightly extract
id: orders-etl
namespace: company.team # owned by data
description: |
  id: not-this
  namespace: nor-this
labels: {team: data, tier: "1"}
inputs:
  - id: day
    type: DATE
tasks:
  - id: extract
    type: io.kestra.plugin.scripts.python.Script
    script: |
      print("id: x")
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
"""


def full_parse(source: str) -> tuple[str | None, str | None]:
    try:
        data = yaml.load(source, Loader=LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    ns, fid = data.get("namespace"), data.get("id")
    return (ns if isinstance(ns, str) else None, fid if isinstance(fid, str) else None)


TRICKY = [
    REALISTIC,
    REALISTIC.replace("\n", "\r\n"),
    "id: a\nnamespace: n\n",
    "id: 12\nnamespace: n\n",  # an int for YAML: the parser decides
    "id: yes\nnamespace: n\n",  # a bool for YAML 1.1
    "id: null\nnamespace: n\n",
    "id: 1.5\nnamespace: n\n",
    "id: a\nnamespace: n\nid: b\n",  # duplicate key: the last one wins in PyYAML
    "id:\n  a\nnamespace: n\n",  # the value on the next line
    "id: &x a\nnamespace: n\n",  # an anchor
    "id: !!str 12\nnamespace: n\n",  # a tag
    "id: 'a'\nnamespace: \"n\"\n",  # quoted
    "---\nid: a\nnamespace: n\n",  # a document marker
    "id: a\n---\nid: b\nnamespace: n\n",  # two documents: not a flow
    "- a\n",
    "id: [\n",
    "{id: a, namespace: n}\n",
    '"id": a\nnamespace: n\n',
    'description: "a\nid: fake\nx: y"\nnamespace: n\n',  # a quoted scalar over lines
    "description: 'a\nid: fake\nx: y'\nid: real\nnamespace: n\n",
    "labels: {a: b,\nid: fake,\nc: d}\nid: real\nnamespace: n\n",
    "labels: [a,\nb]\nid: real\nnamespace: n\n",
    "id: a\rnamespace: n\n",  # a lone CR is a line break for YAML
    "id: a\u2028namespace: n\n",
    "\ufeffid: a\nnamespace: n\n",
    "  id: a\n  namespace: n\n",  # an indented top-level mapping
    "id: a\nnamespace: n\ntasks:\n- id: t\n  type: x\n",  # a sequence at column 0
    "id: a #comment\nnamespace: n\t# c\n",
    "id: a#b\nnamespace: n\n",  # '#' inside a plain scalar is part of it
    "id: a\n",  # no namespace
    "id: a\r\nnamespace: n\r\n",
    "id: a\nnamespace: n\r",  # a CR that ends the text is a lone CR too
    "id: a\nnamespace: n\u2029",
    "id: a\nnamespace: n\x85",
    "id: a\nnamespace: n\nkey: \t'open\nid: fake\n'\n",  # a tab before the quote
    "id: a\nnamespace: n\nkey:\t'x'\n",  # a tab after the colon
    "id: a\n\tnamespace: n\n",
    "id: a\nnamespace: n\n#id: b\n",
    "id : a\nnamespace  : n\n",
    "id: a\nnamespace: n\nx: {a: 1}  # c\n",
    "id: a\n  b\nnamespace: n\n",  # a plain scalar over two lines: the id is "a b"
    "id: a\n\n  b\nnamespace: n\n",
    "namespace: n\n# c\n  x\nid: a\n",
]


# The sources of TRICKY the fast path answers itself; it declines every other one (the full
# parse decides). A source moving between the two is a deliberate change of this list.
FAST_PATH_ANSWERS = {
    TRICKY[0],
    TRICKY[1],
    "id: a\nnamespace: n\n",
    "id: a\r\nnamespace: n\r\n",
    "id: a\nnamespace: n\n#id: b\n",
    "id : a\nnamespace  : n\n",
}


def test_the_fast_path_list_names_tricky_sources():
    assert FAST_PATH_ANSWERS.issubset(TRICKY)  # a mistyped entry would match nothing


@pytest.mark.parametrize("source", TRICKY)
def test_fast_path_agrees_with_a_full_parse_or_declines(source):
    quick = _identity_from_text(source)
    if source in FAST_PATH_ANSWERS:
        assert quick == full_parse(source) != (None, None)
    else:
        assert quick is None
    assert flow_identity(source) == full_parse(source)


def test_fast_path_answers_the_realistic_case_without_parsing():
    # Guards the point of the fast path: a realistic flow must not need the parser.
    assert _identity_from_text(REALISTIC) == ("company.team", "orders-etl")
    assert _identity_from_text(REALISTIC.replace("\n", "\r\n")) == ("company.team", "orders-etl")


@pytest.mark.parametrize(
    "source",
    [
        'description: "a\nid: fake\nx: y"\nid: real\nnamespace: n\n',
        "labels: {a: b,\nid: fake,\nc: d}\nid: real\nnamespace: n\n",
        "id: a\nnamespace: n\nid: b\n",
    ],
)
def test_a_look_alike_key_line_sends_the_source_to_the_parser(source):
    assert _identity_from_text(source) is None


# Pieces of lines a generated source is made of: key lines, look-alikes, openers of quoted and
# flow scalars, markers, odd line breaks and whitespace.
PIECES = [
    "id: a",
    "id: b",
    "namespace: n",
    "namespace: m.x",
    "id: 12",
    "id: yes",
    "id: 'q'",
    "id:",
    "namespace:",
    "  id: c",
    "description: |",
    "  text",
    'x: "open',
    "x: 'open",
    'close"',
    "close'",
    "x: [a,",
    "b]",
    "x: {a: 1}",
    'x: "a" # c',
    "---",
    "...",
    "- item",
    "? key",
    "# comment",
    "",
    " ",
    "\t",
    "x:y",
    "x: \ty",
    "id: a # c",
    "id: a#b",
]
BREAKS = ["\n"] * 12 + ["\r\n"] * 4 + ["\r", "\u2028"]


def generated_sources(count: int, seed: int = 13):
    import random

    rng = random.Random(seed)
    for _ in range(count):
        lines = [rng.choice(PIECES) for _ in range(rng.randint(0, 5))]
        for key_line in ("id: a", "namespace: n"):  # most sources are nearly flows
            if rng.random() < 0.9:
                lines.insert(rng.randint(0, len(lines)), key_line)
        text = "".join(line + rng.choice(BREAKS) for line in lines)
        yield text if rng.random() < 0.8 else text.rstrip("\n")


def parses(source: str) -> bool:
    try:
        yaml.load(source, Loader=LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError:
        return False
    return True


def test_fast_path_agrees_with_a_full_parse_on_generated_sources():
    """Of text that is not YAML at all the fast path may still read the key lines (a server
    never stores such a source); of every source that parses, it must say what the parser
    says. It once read "id: a" followed by an indented line as "a" (the parser: "a b")."""
    answered = 0
    for source in generated_sources(5000):
        quick = _identity_from_text(source)
        if quick is not None and parses(source):
            answered += 1
            assert quick == full_parse(source), repr(source)
    assert answered > 200  # the generator does reach the fast path
