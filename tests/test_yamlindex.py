"""yamlindex builds a flow's data one of two ways: a quick recursive build when the text cannot
hold an alias, the general build (alias tracking, expansion limit) otherwise. Whichever is taken,
a flow must read the same: same values and types, same written text for ids, same problems."""

import pytest

from kestra_sync.source.yamlindex import parse_yaml

# (written scalar, the value checks see): Jackson-like typing (yamlindex module docstring).
SCALARS = [
    ("plain", "plain"),
    ("'quoted'", "quoted"),
    ('"12"', "12"),
    ("12", 12),
    ("0755", 0o755),
    ("0x1F", 31),
    ("1_000", 1000),
    ("1:30", "1:30"),  # no base-60 numbers
    ("1.5", 1.5),
    ("true", True),
    ("False", False),
    ("yes", "yes"),  # only true/false are booleans for Jackson
    ("on", "on"),
    ("~", None),
    ("null", None),
    ("", None),
    ("2024-01-01", "2024-01-01"),  # timestamps stay text
    ("!!str 12", "12"),
    ("!!int '12'", 12),
    ("!custom value", "value"),
    ("|\n  block", "block\n"),
]

# An anchor anywhere sends the document to the general build.
FORCE_GENERAL = "\nunused: &anchor 1\n"


def _both(text):
    quick, general = parse_yaml(text), parse_yaml(text + FORCE_GENERAL)
    general.data.pop("unused")
    return quick, general


@pytest.mark.parametrize("written,value", SCALARS, ids=[w or "empty" for w, _ in SCALARS])
def test_a_scalar_reads_the_same_in_both_builds(written, value):
    nested = written.replace("\n", "\n    ")  # a block scalar indented under the task
    text = f"id: {written}\ntasks:\n  - id: {nested}\n    list: [{written.strip()}]\n"
    if written.startswith("|"):
        text = f"id: {written}\ntasks:\n  - id: {nested}\n    list: []\n"
    for parsed in _both(text):
        data = parsed.data
        assert data["id"] == value and type(data["id"]) is type(value)
        assert data["tasks"][0]["id"] == value
        assert parsed.problems == []


@pytest.mark.parametrize("written", ["0755", "12", "1.5", "true", "yes", "'0755'", "!!int 7"])
def test_ids_keep_their_written_text_in_both_builds(written):
    # Kestra binds ids as the text written (`id: 0755` is the flow "0755", not 493).
    text = f"id: {written}\nnamespace: {written}\ntasks:\n  - id: {written}\n"
    expected = written.strip("'").removeprefix("!!int ")
    for parsed in _both(text):
        assert parsed.text_of(parsed.data, "id") == expected
        assert parsed.text_of(parsed.data, "namespace") == expected
        assert parsed.text_of(parsed.data["tasks"][0], "id") == expected


def test_a_null_or_collection_id_has_no_text():
    for parsed in _both("id: ~\nnamespace: [a]\ntasks: []\n"):
        assert parsed.text_of(parsed.data, "id") is None
        assert parsed.text_of(parsed.data, "namespace") is None


def test_duplicate_and_non_scalar_keys_are_reported_in_both_builds():
    text = "id: a\ntasks:\n  - id: x\n    id: y\n[k]: 1\n"
    quick, general = _both(text)
    for parsed in (quick, general):
        assert [(p.code, p.line) for p in parsed.problems] == [
            ("duplicate-key", 4),
            ("yaml-syntax", 5),
        ]
        assert parsed.data["tasks"] == [{"id": "y"}]  # the last value wins, as everywhere


def test_an_ampersand_that_is_no_anchor_changes_nothing():
    text = "id: a\nuri: https://x/?a=1&b=2\nscript: |\n  a && b\n"
    parsed = parse_yaml(text)
    assert parsed.data == {"id": "a", "uri": "https://x/?a=1&b=2", "script": "a && b\n"}
    assert parsed.problems == []


def test_nesting_kestra_reads_is_read_whole():
    depth = 990  # deeper than Python's recursion limit allows the quick build; Kestra reads it
    parsed = parse_yaml("a: " + "[" * depth + "1" + "]" * depth)
    node, seen = parsed.data["a"], 0
    while isinstance(node, list):
        node, seen = node[0], seen + 1
    assert (seen, node, parsed.problems) == (depth, 1, [])


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 3000 + "1" + "]" * 3000,  # flow style
        "a:\n" + "".join("  " * i + "- \n" for i in range(1, 1200)),  # block style
    ],
)
def test_nesting_deeper_than_kestra_reads_is_one_clear_error(text):
    # Kestra's Jackson reader refuses more than 1,000 levels; so does kestra-sync, with the
    # same code and message whether or not PyYAML's libyaml has a limit of its own.
    parsed = parse_yaml(text)
    assert parsed.data is None
    assert [p.code for p in parsed.problems] == ["yaml-too-deep"]
    assert "more than 1,000 levels" in parsed.problems[0].message
    assert parsed.problems[0].line is not None


def test_aliases_still_warn_and_bombs_are_still_refused():
    warned = parse_yaml("a: &x [1, 2]\nb: *x\n")
    assert [p.code for p in warned.problems] == ["yaml-alias"]
    assert warned.data == {"a": [1, 2], "b": [1, 2]}
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    levels += [
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    ]
    bomb = parse_yaml("\n".join(levels) + "\n")
    assert [p.code for p in bomb.problems] == ["alias-bomb"] and bomb.data is None


def test_a_large_alias_free_document_still_counts_its_nodes():
    # No alias, but more nodes than the limit allows: refused the same way as before.
    parsed = parse_yaml("a: [" + ", ".join(["1"] * 50) + "]\n", max_expanded_nodes=20)
    assert [p.code for p in parsed.problems] == ["alias-bomb"]


def test_without_libyaml_a_flow_reads_the_same_and_a_bad_character_is_a_problem():
    # PyYAML without its C extension (some platforms' wheels): the pure-Python composer calls
    # the same hooks, and its reader refuses a control character while being created.
    import json
    import subprocess
    import sys

    texts = [f"id: {w}\nlist: [{w.strip()}]\n" for w, _ in SCALARS if "\n" not in w]
    texts += ["a: &x [1]\nb: *x\n", "id: a\x07b\n", "a: 1\na: 2\n"]
    probe = (
        "import json, sys, yaml\n"
        "if hasattr(yaml, 'CSafeLoader'):\n    del yaml.CSafeLoader\n"
        "from kestra_sync.source.yamlindex import parse_yaml\n"
        "out = [(p.data, [(q.code, q.line) for q in p.problems]) for p in map(parse_yaml, "
        "json.loads(sys.stdin.read()))]\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], input=json.dumps(texts), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    pure = json.loads(done.stdout)
    here = [(p.data, [[q.code, q.line] for q in p.problems]) for p in map(parse_yaml, texts)]
    assert json.loads(json.dumps(here)) == pure
    assert pure[-2] == [None, [["yaml-syntax", 1]]]
