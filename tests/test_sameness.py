"""The plan's "same flow" rule against PyYAML, edit by edit (issue 20 item 4).

A property-style corpus: a realistic flow with every kind of scalar (plain, single- and
double-quoted, multi-line flow scalars, literal and folded block scalars with each chomping
indicator, comments), and for each line every whitespace edit a checkout or an editor makes.
The plan may call an edited source unchanged only when PyYAML parses it to the same data;
trailing whitespace inside a block scalar is part of the value, so it must be an update."""

from __future__ import annotations

import pytest
import yaml

from kestra_sync.planning.plan import unified_diff
from kestra_sync.planning.sameness import sources_equal
from kestra_sync.rules.knowledge import same_source

BASE = """\
# a flow with every kind of scalar
id: corpus
namespace: company.team
description: plain text
labels:
  owner: 'data team'
  quoted: "a \\"b\\""
tasks:
  - id: literal
    type: io.kestra.plugin.core.log.Log
    message: |
      first line
      second line

      after a blank line
  - id: folded
    type: io.kestra.plugin.core.log.Log
    message: >
      folded
      text
  - id: keep
    type: io.kestra.plugin.core.log.Log
    message: |+
      kept newline

  - id: strip
    type: io.kestra.plugin.core.log.Log
    message: |-
      stripped
  - id: multi
    type: io.kestra.plugin.core.log.Log
    message: "a double-quoted
      scalar on two lines"
  - id: plain
    type: io.kestra.plugin.core.log.Log
    message: a plain
      scalar on two lines
# a final comment
"""

LINES = BASE.split("\n")


def whitespace_edits():
    """(name, edited source): a space, a tab or both at the end of each line; CRLF; a lone CR;
    extra or missing final newlines."""
    for index, line in enumerate(LINES[:-1]):
        for suffix in (" ", "\t", "  \t "):
            edited = LINES[:index] + [line + suffix] + LINES[index + 1 :]
            yield f"line {index + 1} + {suffix!r}", "\n".join(edited)
    yield "CRLF", BASE.replace("\n", "\r\n")
    yield "CR", BASE.replace("\n", "\r")
    yield "two final newlines", BASE + "\n"
    yield "no final newline", BASE.rstrip("\n")


EDITS = list(whitespace_edits())
REFUSED = object()


def parsed(source: str):
    """PyYAML's reading (with libyaml, as flows are read when it is there), or REFUSED (the
    pure-Python reader refuses a tab after a plain scalar, which libyaml and SnakeYAML read:
    with no parse to prove it by, the plan shows the edit)."""
    try:
        return yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError:
        return REFUSED


@pytest.mark.parametrize(("name", "edited"), EDITS, ids=[name for name, _ in EDITS])
def test_a_whitespace_edit_is_unchanged_exactly_when_pyyaml_parses_the_same(name, edited):
    assert parsed(BASE) is not REFUSED
    parses_the_same = parsed(edited) == parsed(BASE)
    assert sources_equal(edited, BASE) is parses_the_same
    assert sources_equal(BASE, edited) is parses_the_same


def test_the_corpus_holds_both_outcomes():
    """The corpus is no use unless some edits matter and some do not."""
    verdicts = {sources_equal(edited, BASE) for _, edited in EDITS}
    assert verdicts == {True, False}
    changed = [name for name, edited in EDITS if not sources_equal(edited, BASE)]
    # Inside the literal block: its text lines (line 12 on); not its `message: |` line.
    assert "line 12 + ' '" in changed and "line 11 + ' '" not in changed


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("# a flow with every kind of scalar", "# another comment"),
        ("owner: 'data team'", 'owner: "data team"'),
        ("description: plain text", "description: 'plain text'"),
        ("message: |-\n      stripped", "message: |-\n        stripped"),
    ],
)
def test_comment_and_quoting_edits_are_updates_though_they_parse_the_same(old, new):
    """Kestra stores the text verbatim: such an edit is a real change on the server (a new
    revision), shown as formatting only; the plan never hides it."""
    edited = BASE.replace(old, new)
    assert edited != BASE and parsed(edited) == parsed(BASE)
    assert not sources_equal(edited, BASE)
    assert not same_source(edited, BASE)


def test_a_revision_line_the_server_added_is_not_a_change():
    assert sources_equal(BASE, "revision: 4\n" + BASE)


def test_the_diff_of_a_block_scalar_whitespace_edit_shows_where():
    edited = BASE.replace("      first line\n", "      first line  \n")
    diff = unified_diff(BASE, edited, "server", "git")
    assert "-      first line\n" in diff + "\n"
    assert "+      first line  ⏎" in diff
