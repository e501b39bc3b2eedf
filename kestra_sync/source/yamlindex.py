"""Parse one flow's YAML with PyYAML (C loader when present) and keep where every node is.

Kestra reads flows with Jackson's YAML parser (SnakeYAML events, YAML 1.1 syntax, as PyYAML).
Jackson types scalars itself: only ``true``/``false`` are booleans and aliases are NOT expanded
(an alias becomes the anchor's name as a string: kestra-io/kestra#16315, jackson-dataformats-text
``YAMLParser``: ``AliasEvent`` -> ``VALUE_STRING`` of the anchor). So checks here use the raw
scalar text where Kestra binds text (ids), and every alias gets a warning.

One pass composes the node tree (which carries line/column marks), then:
- an index maps a path such as ``("tasks", 1, "type")`` to the 1-based (line, column) of the
  value, and ``KEY`` paths to the key itself, so that any problem can point to a line;
- duplicate keys in a mapping are reported (Kestra rejects them, see ``validate.py``);
- the size the document would have with every alias expanded is computed without expanding it,
  so an alias bomb ("billion laughs") is refused instead of hanging the checks that walk the data;
- the data is constructed from the same node tree (no second parse), with timestamps kept as
  strings (a JSON schema sees what Kestra sees: a string it parses later).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from sys import intern
from typing import Any

import yaml

_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Beyond this many nodes once aliases are expanded, a document is an alias bomb. A real flow has a
# few hundred nodes; a 3 MiB flow (Kestra's limit) cannot reach this without aliases.
MAX_EXPANDED_NODES = 1_000_000

# Kestra reads flows with Jackson (JacksonMapper.ofYaml, kestra-io/kestra
# core/src/main/java/io/kestra/core/serializers/JacksonMapper.java at 057c4f17, which overrides
# only maxNameLength of Jackson's StreamReadConstraints), so Jackson's default maxNestingDepth of
# 1,000 applies: a deeper document is refused. libyaml from PyYAML 6.0.4 stops at the same depth;
# older builds do not, so the limit is checked here too and kestra-sync says the same whatever
# PyYAML is installed (docs/yaml.md).
MAX_NESTING = 1_000


_RESOLVED: dict[str, str] = {}  # plain scalar text -> its implicit tag (see _tag)
_RESOLVED_MAX = 65_536
_RESOLVER = yaml.resolver.Resolver()  # YAML 1.1 implicit tags, as SafeLoader resolves them
_CONSTRUCTOR = yaml.constructor.SafeConstructor()  # for ints and floats only
_EMPTY: dict = {}
_NOTHING: list = []


class _Composer(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """Composes the node tree only (``get_single_node``); the data is built by ``_construct``.

    Even with libyaml, the composer calls three resolver hooks through Python for every node:
    about a fifth of composing a flow. Here they are C builtins. ``resolve`` keeps its
    arguments in a slice (kind, value, implicit: start, stop, step) and ``_tag`` decides the
    tag later, only for values (a key is its written text whatever its tag); the path-resolver
    hooks do nothing, as no path resolver is registered. Never construct data with this class
    (its tags are slices)."""

    resolve = slice
    descend_resolver = _EMPTY.get  # (parent, index) -> None
    ascend_resolver = _NOTHING.clear  # () -> None


KEY = "<key>"  # path suffix meaning "the key itself" in the index


@dataclass
class YamlProblem:
    code: str
    message: str
    line: int | None = None
    column: int | None = None
    severity: str = "error"


@dataclass
class ParsedYaml:
    data: Any = None
    problems: list[YamlProblem] = field(default_factory=list)
    empty: bool = False
    # The node tree is not kept (1,000 trees in memory make the garbage collector slow the scan
    # down threefold); the index is built from the text again when a diagnostic needs a line.
    text: str = field(default="", repr=False)
    # Written text of the scalar values of RAW_KEYS that are not text in ``data`` (``id: 0755``
    # is 493 there), by (id(mapping), key). A text value is its own written text.
    raw: dict[tuple[int, str], str] = field(default_factory=dict, repr=False)
    _index: dict[tuple, tuple[int, int]] | None = field(default=None, repr=False)

    @property
    def index(self) -> dict[tuple, tuple[int, int]]:
        """path -> (line, column), built on first use: only files with a problem need it."""
        if self._index is None:
            root = None
            if self.text:
                loader = _Composer(self.text)
                try:
                    root = loader.get_single_node()
                except yaml.YAMLError:
                    root = None
                finally:
                    loader.dispose()
            self._index = _build_index(root) if root is not None else {}
        return self._index

    def position(self, path: tuple | list) -> tuple[int | None, int | None]:
        """The (line, column) of the deepest indexed node along ``path``."""
        path = tuple(path)
        index = self.index
        while path:
            if path in index:
                return index[path]
            path = path[:-1]
        return index.get((), (None, None))

    def key_position(self, path: tuple | list) -> tuple[int | None, int | None]:
        """Where the key of ``path`` is written (falls back to the value, then the parent)."""
        path = tuple(path)
        return self.index.get(path + (KEY,)) or self.position(path)

    def text_of(self, mapping: Any, key: str) -> str | None:
        """The written text of ``mapping[key]`` when it is a non-null scalar (``id: 0755`` is
        "0755" for Kestra, whose Jackson binding coerces scalars to their text), else None."""
        if not isinstance(mapping, dict):
            return None
        value = mapping.get(key)
        if value.__class__ is str:
            return value
        return self.raw.get((id(mapping), key))


RAW_KEYS = frozenset(("id", "namespace"))


def _key_text(node: yaml.Node) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _friendly_yaml_error(err: yaml.YAMLError, text: str) -> YamlProblem:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    if _is_tab_at(text, line, column) or "'\\t'" in problem:
        return YamlProblem(
            "yaml-tab",
            "tab character in indentation: YAML (and Kestra) only accept spaces for "
            "indentation; replace the tab with spaces",
            line,
            column,
        )
    if isinstance(err, yaml.reader.ReaderError):
        # No mark: compute the line of the offending character from its position.
        pos = err.position
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return YamlProblem(
            "yaml-syntax",
            f"unacceptable character #x{err.character:04x} in the file: remove it "
            "(YAML only allows printable characters)",
            line,
            column,
        )
    if "exceeded maximum nesting depth" in problem:  # libyaml's limit, since PyYAML 6.0.4
        return _too_deep(line, column)
    if "expected a single document" in str(err):
        return YamlProblem(
            "multiple-documents",
            "the file holds more than one YAML document ('---'): put one flow per file",
            line,
            column,
        )
    opened = getattr(err, "context_mark", None)
    problem_mark = getattr(err, "problem_mark", None)
    if (
        context
        and opened is not None
        and problem_mark is not None
        and problem_mark.index >= len(text.rstrip())
    ):
        # An unclosed '[', '{' or quote is only noticed at the end of the file; the end is
        # not where the user has to look, the opening is.
        construct = context.removeprefix("while parsing ").removeprefix("while scanning ")
        return YamlProblem(
            "yaml-syntax",
            f"invalid YAML: {construct} starts here and is never closed ({problem}); close it",
            opened.line + 1,
            opened.column + 1,
        )
    what = f"{context} {problem}" if context else problem
    return YamlProblem(
        "yaml-syntax", f"invalid YAML: {what}; fix the syntax at this position", line, column
    )


def _too_deep(line: int | None, column: int | None) -> YamlProblem:
    return YamlProblem(
        "yaml-too-deep",
        f"lists and mappings are nested more than {MAX_NESTING:,} levels deep here: Kestra's "
        "YAML reader refuses such a document; flatten the structure",
        line,
        column,
    )


def _nesting_beyond(root: yaml.Node, limit: int) -> yaml.Node | None:
    """The first node nested deeper than ``limit`` levels (lists and mappings), or None.
    Iterative: it runs only for documents too deep for the recursive quick build."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if isinstance(node, yaml.ScalarNode) or id(node) in seen:
            continue
        if depth > limit:
            return node
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend((v, depth + 1) for _, v in node.value)
        else:
            stack.extend((v, depth + 1) for v in node.value)
    return None


def _is_tab_at(text: str, line: int | None, column: int | None) -> bool:
    if line is None or column is None:
        return False
    lines = text.split("\n", line)
    if len(lines) < line:
        return False
    where = lines[line - 1]
    return "\t" in where[:column] and not where[: column - 1].strip(" \t")


def parse_yaml(text: str, max_expanded_nodes: int = MAX_EXPANDED_NODES) -> ParsedYaml:
    """Parse ``text`` (one YAML document). Never raises for bad input: problems are returned."""
    out = ParsedYaml()
    try:
        loader = _Composer(text)  # PyYAML's pure-Python reader checks the characters here
    except yaml.YAMLError as err:
        out.problems.append(_friendly_yaml_error(err, text))
        return out
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as err:
        out.problems.append(_friendly_yaml_error(err, text))
        return out
    except RecursionError:  # PyYAML's pure-Python composer recurses once per level
        out.problems.append(
            YamlProblem(
                "yaml-too-deep",
                "lists and mappings are nested too deeply for this PyYAML (built without "
                "libyaml) to read; flatten the structure, or install PyYAML with libyaml",
            )
        )
        return out
    finally:
        loader.dispose()
    if root is None:
        out.empty = True
        return out
    out.text = text
    if _ANCHOR.search(text) is None and 2 * len(text) + 2 < max_expanded_nodes:
        # No alias can exist, and the node count stays under the limit (a node takes about a
        # character of text or more, as in `{a,b}`): the quick build.
        raw: dict[tuple[int, str], str] = {}
        try:
            out.data = _construct_plain(root, raw)
            out.raw = raw
            return out
        except _Unusual:
            pass  # a duplicate or non-text key: the general build says which
        except RecursionError:
            pass  # very deep: checked below, before the general build
    # Only documents the quick build could not take get here: a walk for the depth is cheap.
    deepest = _nesting_beyond(root, MAX_NESTING)
    if deepest is not None:
        out.problems.append(_too_deep(*_mark(deepest)))
        return out
    try:
        data, expanded, has_alias = _construct(root, out, max_expanded_nodes)
    except RecursionError:  # pragma: no cover - _construct is iterative
        data, expanded, has_alias = None, 0, False
    if expanded > max_expanded_nodes:
        line, column = _first_alias(root)
        out.problems = [p for p in out.problems if p.code != "duplicate-key"]
        out.problems.append(
            YamlProblem(
                "alias-bomb",
                f"YAML aliases expand this document to more than {max_expanded_nodes:,} "
                "nodes (an alias bomb); write the values out or use fewer nested aliases",
                line,
                column,
            )
        )
        return out
    if has_alias:
        _alias_warnings(text, out)
    out.data = data
    return out


MAX_ALIAS_WARNINGS = 10


def _alias_warnings(text: str, out: ParsedYaml) -> None:
    """One warning per alias (``*name``), up to MAX_ALIAS_WARNINGS, then one summary."""
    aliases = []
    try:
        for event in yaml.parse(text, Loader=_BASE_LOADER):
            if isinstance(event, yaml.AliasEvent):
                aliases.append(event)
    except yaml.YAMLError:  # already composed fine; cannot happen, but never crash on it
        return
    for event in aliases[:MAX_ALIAS_WARNINGS]:
        assert event.start_mark is not None  # the parser marks every event
        out.problems.append(
            YamlProblem(
                "yaml-alias",
                f"YAML alias *{event.anchor}: Kestra does not expand aliases (it reads "
                f"*{event.anchor} as the text '{event.anchor}', kestra-io/kestra#16315); "
                "write the value out instead",
                event.start_mark.line + 1,
                event.start_mark.column + 1,
                "warning",
            )
        )
    if len(aliases) > MAX_ALIAS_WARNINGS:
        first = aliases[MAX_ALIAS_WARNINGS]
        assert first.start_mark is not None
        out.problems.append(
            YamlProblem(
                "yaml-alias",
                f"{len(aliases) - MAX_ALIAS_WARNINGS} more YAML aliases in this file, none of "
                "them expanded by Kestra; write the values out instead",
                first.start_mark.line + 1,
                first.start_mark.column + 1,
                "warning",
            )
        )


def _first_alias(root: yaml.Node) -> tuple[int | None, int | None]:
    """The first place where a node is reused (an alias), found without expanding anything."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return _mark(node)
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in reversed(node.value):
                stack.extend((v, k))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return None, None


def _build_index(root: yaml.Node) -> dict[tuple, tuple[int, int]]:
    """path -> (line, column) of every node (and of every key, under ``path + (KEY,)``).

    Each distinct node is entered once (an alias is the same object as its anchor), so this is
    linear in the text even for an alias bomb. With duplicate keys the last one wins, as in data.
    """
    index: dict[tuple, tuple[int, int]] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        index[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            children = []
            for k, v in node.value:
                key = _key_text(k)
                if key is None:
                    continue
                index[path + (key, KEY)] = _mark(k)
                children.append((v, path + (key,)))
            stack.extend(reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((node.value[i], path + (i,)) for i in range(len(node.value) - 1, -1, -1))
    return index


_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


def _tag(node: yaml.ScalarNode) -> str:
    """The tag of a scalar composed by ``_Composer``: the written one, else the one SafeLoader
    would resolve (its resolver; only the text of a plain scalar decides it)."""
    tag = node.tag
    if tag.__class__ is not slice:
        return tag  # written: !!str, !!int, !custom...
    implicit = tag.step
    if not implicit[0]:
        return _STR  # quoted or block: Resolver.resolve gives DEFAULT_SCALAR_TAG
    value = node.value
    found = _RESOLVED.get(value)
    if found is None:
        found = _RESOLVER.resolve(yaml.ScalarNode, value, implicit)
        if len(value) <= 64 and len(_RESOLVED) < _RESOLVED_MAX:
            _RESOLVED[value] = found
    return found


def _scalar(node: yaml.ScalarNode) -> Any:
    """A scalar as Jackson's YAMLParser types it (kestra reads flows with Jackson): booleans
    only ``true``/``false`` (any case), no base-60 numbers, timestamps and unknown tags as text."""
    tag = _tag(node)
    value = node.value
    if tag == _STR:
        # Types, input kinds, images...: short texts repeat across flows; keep one copy each.
        return intern(value) if len(value) <= 64 else value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        low = value.lower()
        return True if low == "true" else False if low == "false" else value
    if tag == _INT:
        return value if ":" in value else _CONSTRUCTOR.construct_yaml_int(node)
    if tag == _FLOAT:
        return value if ":" in value else _CONSTRUCTOR.construct_yaml_float(node)
    return value


# An anchor is '&' and a letter, digit, '-' or '_' (libyaml's and PyYAML's scanners accept no
# other anchor name): a text without one holds no alias at all.
_ANCHOR = re.compile(r"&[0-9A-Za-z_-]")


class _Unusual(Exception):
    """The document needs ``_construct``: a duplicate key, or a key that is not a scalar."""


def _construct_plain(root: yaml.Node, raw: dict[tuple[int, str], str]) -> Any:
    """``_construct`` for a document without aliases (most flows): the same data, built by
    recursion without tracking nodes, at half the cost. Raises ``_Unusual`` when a mapping
    has a duplicate key or a non-scalar key (the general build reports them)."""
    Scalar, Mapping = yaml.ScalarNode, yaml.MappingNode
    resolved = _RESOLVED

    def build(node: yaml.Node) -> Any:
        if node.__class__ is Mapping:
            obj: dict[str, Any] = {}
            pairs = node.value
            for k, v in pairs:
                if k.__class__ is not Scalar:
                    raise _Unusual
                key = intern(k.value)
                if v.__class__ is Scalar:
                    tag = v.tag
                    value = v.value
                    # Inline the common case: untagged text (quoted, block, or a plain
                    # scalar whose text resolves to str).
                    if tag.__class__ is slice and (not tag.step[0] or resolved.get(value) == _STR):
                        obj[key] = intern(value) if len(value) <= 64 else value
                    else:
                        data = obj[key] = _scalar(v)
                        if key in RAW_KEYS and data is not None and data.__class__ is not str:
                            raw[(id(obj), key)] = value
                else:
                    obj[key] = build(v)
            if len(obj) != len(pairs):
                raise _Unusual
            return obj
        if node.__class__ is Scalar:
            return _scalar(node)
        return [_scalar(v) if v.__class__ is Scalar else build(v) for v in node.value]

    return build(root)


def _construct(root: yaml.Node, out: ParsedYaml, limit: int) -> tuple[Any, int, bool]:
    """Build the Python data from the node tree in one iterative pass.

    Returns (data, expanded node count capped at limit + 1, whether any alias is used).
    Mapping keys are the written text (Jackson field names are text: ``1:`` is the key "1").
    Merge keys (``<<``) are NOT merged: Kestra's parser does not know them either.
    Duplicate keys are recorded as problems; like every YAML parser, the last value wins.
    """
    objects: dict[int, Any] = {}
    sizes: dict[int, int] = {}
    has_alias = False
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if not done:
            if nid in objects:
                has_alias = True
                continue
            if isinstance(node, yaml.ScalarNode):
                objects[nid] = _scalar(node)
                sizes[nid] = 1
                continue
            objects[nid] = {} if isinstance(node, yaml.MappingNode) else []
            stack.append((node, True))
            if isinstance(node, yaml.MappingNode):
                for k, v in reversed(node.value):
                    stack.append((v, False))
                    if not isinstance(k, yaml.ScalarNode):
                        stack.append((k, False))
            else:
                stack.extend((v, False) for v in reversed(node.value))
            continue
        obj = objects[nid]
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += sizes.get(id(v), limit + 1) + 1
                if isinstance(k, yaml.ScalarNode):
                    key = intern(k.value)  # keys repeat across thousands of flows: one copy
                else:
                    line, column = _mark(k)
                    out.problems.append(
                        YamlProblem(
                            "yaml-syntax",
                            "a mapping key must be a plain value, not a list or mapping; "
                            "use a string key",
                            line,
                            column,
                        )
                    )
                    continue
                if key in obj:
                    first = next(kk for kk, _ in node.value if _key_text(kk) == key)
                    line, column = _mark(k)
                    out.problems.append(
                        YamlProblem(
                            "duplicate-key",
                            _duplicate_message((), key, _mark(first)[0]),
                            line,
                            column,
                        )
                    )
                obj[key] = objects[id(v)]
                if key in RAW_KEYS and isinstance(v, yaml.ScalarNode) and _tag(v) != _NULL:
                    out.raw[(id(obj), key)] = v.value
        else:
            for v in node.value:
                total += sizes.get(id(v), limit + 1)
            obj.extend(objects[id(v)] for v in node.value)
        sizes[nid] = min(total, limit + 1)
    return objects[id(root)], sizes[id(root)], has_alias


def _duplicate_message(path: tuple, key: str, first_line: int) -> str:
    where = f" in {format_path(path)}" if path else ""
    # Kestra parses create/update bodies with Jackson STRICT_DUPLICATE_DETECTION (validate.py).
    return (
        f"duplicate key '{key}'{where} (first defined at line {first_line}): Kestra rejects "
        f"the flow with \"Duplicate field '{key}'\"; keep only one of them"
    )


def format_path(path: tuple | list) -> str:
    """``("tasks", 0, "type")`` -> ``tasks[0].type``, the way Kestra writes property paths."""
    out = ""
    for part in path:
        if part == KEY:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
