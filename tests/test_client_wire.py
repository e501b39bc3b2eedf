"""The pure wire rules: Kestra's same-source rule, its validate split, labels, entry names."""

from __future__ import annotations

import pytest

from kestra_sync.client import same_source, source_without_revision
from kestra_sync.client.wire import (
    VALIDATE_JOINER,
    flow_identity,
    identity_from_entry_name,
    normalise_labels,
    parse_flow,
    prepare_for_validate,
    split_like_server,
)

BASE = "id: a\nnamespace: n\ntasks: []\n"


# -- same source (FlowInterface.isSameWithSource, docs/kestra-api.md) ---------------------------


@pytest.mark.parametrize(
    "stored, local",
    [
        (BASE, BASE),
        ("revision: 4\n" + BASE, BASE),  # the first revision line is ignored
        (BASE + "revision: 12\n", BASE),
        (BASE.replace("\n", "\r\n"), BASE.replace("\n", "\r\n")),
        ("id: a\r\nrevision: 2\r\nx: 1", "id: a\r\n\r\nx: 1"),  # \n? cannot eat the \r\n
    ],
)
def test_sources_the_server_treats_as_the_same(stored, local):
    assert same_source(stored, local)


@pytest.mark.parametrize(
    "stored, local",
    [
        (BASE, BASE + "\n"),  # a trailing newline counts
        (BASE, BASE.replace("\n", "\r\n")),  # line endings count
        (BASE, "# comment\n" + BASE),  # comments count
        (BASE, BASE.replace("tasks: []", "tasks:  []")),
        ("revision: 1\nrevision: 2\n" + BASE, BASE),  # only the first line is dropped
        ("  revision: 3\n" + BASE, BASE),  # only at the start of a line
        ("revision: ٣\n" + BASE, BASE),  # Java's \d is ASCII only
    ],
)
def test_sources_the_server_treats_as_different(stored, local):
    assert not same_source(stored, local)


def test_revision_line_after_a_lone_carriage_return_is_dropped_like_java():
    assert source_without_revision("id: a\rrevision: 3\nx") == "id: a\rx"


# -- validate split (FlowController.validateFlows, docs/kestra-api.md) ---------------------------


def test_server_split_matches_kestra_regex_semantics():
    assert split_like_server("a\n---\nb\n\n\n---c\n---\n") == ["a", "\nb", "c"]
    assert split_like_server("  \n") == [""]
    assert split_like_server("---\na") == ["---\na"]  # no newline before: not a split


SOURCES = [
    BASE,
    "---\n" + BASE,
    "--- # first\n" + BASE,
    "\ufeff---\r\n" + BASE.replace("\n", "\r\n"),
    "# header\n\n---\n" + BASE,
    BASE + "...\n",
    BASE + "...\n# trailing\n\n",
    BASE.rstrip("\n"),
    "\n\n\n" + BASE + "\n\n\n",
    "description: |\n  ---\n  not a marker\n" + BASE,  # indented: no split
]


def test_every_prepared_source_comes_back_as_exactly_one_server_item():
    prepared = []
    for s in SOURCES:
        text, problem = prepare_for_validate(s)
        assert problem is None, s
        prepared.append(text)
    pieces = split_like_server(VALIDATE_JOINER.join(prepared))
    assert len(pieces) == len(SOURCES)
    for piece in pieces:
        assert flow_identity(piece) == ("n", "a")


@pytest.mark.parametrize(
    "source, problem",
    [
        ("", "empty"),
        ("\n  \n", "empty"),
        ("---\n", "empty"),
        ("---\n...\n", "empty"),
        (BASE + "---\n" + BASE, "line 4"),
        (BASE + "----\n", "line 4"),
        ("---\n" + BASE + "---\n", "more than one YAML document"),
    ],
)
def test_sources_that_cannot_be_one_item_are_reported_locally(source, problem):
    text, why = prepare_for_validate(source)
    assert text is None and problem in why


def test_prepare_keeps_the_flow_text_otherwise_untouched():
    text, _ = prepare_for_validate("# c\n---\n" + BASE + "# end\n")
    assert text == "# c\n" + BASE + "# end\n"


# -- flows, labels, entry names ------------------------------------------------------------------


def test_labels_map_and_list_normalise_to_key_value_list():
    assert normalise_labels({"a": "1", "b": True}) == [
        {"key": "a", "value": "1"},
        {"key": "b", "value": True},
    ]
    assert normalise_labels([{"key": "a", "value": "1"}, {"nokey": 1}, "x"]) == [
        {"key": "a", "value": "1"}
    ]
    assert normalise_labels(None) == []


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"id": "a", "namespace": "n"},
        {"id": "a", "namespace": "n", "revision": "1"},
        {"id": "a", "namespace": "n", "revision": True},
        {"id": 1, "namespace": "n", "revision": 1},
    ],
)
def test_flow_without_id_namespace_or_integer_revision_is_refused(data):
    with pytest.raises(ValueError):
        parse_flow(data, tenant="main")


def test_flow_tenant_defaults_to_the_clients():
    flow = parse_flow({"id": "a", "namespace": "n", "revision": 2}, tenant="acme")
    assert flow.tenant == "acme" and flow.source is None and flow.labels == []


@pytest.mark.parametrize(
    "name, ns, expected",
    [
        ("company.team-hello.yml", "company.team", "hello"),
        ("company.team-my-flow.yml", "company.team", "my-flow"),
        ("company.team.hello.yml", "company.team", "hello"),  # pre-0.21 naming
        ("company.team.hello.yaml", "company.team", "hello"),
        ("other-hello.yml", "company.team", None),
        ("company.team-.yml", "company.team", None),
    ],
)
def test_entry_name_gives_the_id_only_when_the_namespace_is_known(name, ns, expected):
    assert identity_from_entry_name(name, ns) == expected


@pytest.mark.parametrize(
    "source, expected",
    [
        (BASE, ("n", "a")),
        ("id: 12\nnamespace: n\n", ("n", None)),
        ("- a\n", (None, None)),
        ("id: [\n", (None, None)),
        ("id: a\n---\nid: b\n", (None, None)),
    ],
)
def test_flow_identity_reads_string_id_and_namespace(source, expected):
    assert flow_identity(source) == expected
