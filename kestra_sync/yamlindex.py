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

from dataclasses import dataclass, field
from typing import Any

import yaml

_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Beyond this many nodes once aliases are expanded, a document is an alias bomb. A real flow has a
# few hundred nodes; a 3 MiB flow (Kestra's limit) cannot reach this without aliases.
MAX_EXPANDED_NODES = 1_000_000


class _Loader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """SafeLoader with timestamps left as strings (check-jsonschema does the same)."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)  # type: ignore[attr-defined]

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
    root: yaml.Node | None = None
    index: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)
    empty: bool = False

    def position(self, path: tuple | list) -> tuple[int | None, int | None]:
        """The (line, column) of the deepest indexed node along ``path``."""
        path = tuple(path)
        while path:
            if path in self.index:
                return self.index[path]
            path = path[:-1]
        return self.index.get((), (None, None))

    def key_position(self, path: tuple | list) -> tuple[int | None, int | None]:
        """Where the key of ``path`` is written (falls back to the value, then the parent)."""
        path = tuple(path)
        return self.index.get(path + (KEY,)) or self.position(path)

    def node(self, path: tuple | list) -> yaml.Node | None:
        node = self.root
        for part in path:
            if isinstance(node, yaml.MappingNode):
                node = next(
                    (v for k, v in reversed(node.value) if _key_text(k) == part),
                    None,
                )
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                node = node.value[part] if 0 <= part < len(node.value) else None
            else:
                return None
        return node


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
    if "expected a single document" in str(err):
        return YamlProblem(
            "multiple-documents",
            "the file holds more than one YAML document ('---'): put one flow per file",
            line,
            column,
        )
    what = f"{context} {problem}" if context else problem
    return YamlProblem(
        "yaml-syntax", f"invalid YAML: {what}; fix the syntax at this position", line, column
    )


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
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as err:
            out.problems.append(_friendly_yaml_error(err, text))
            return out
        if root is None:
            out.empty = True
            return out
        out.root = root
        expanded = _index(root, out, max_expanded_nodes)
        if expanded > max_expanded_nodes:
            line, column = _first_alias(root)
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
        if "*" in text:
            _alias_warnings(text, out)
        try:
            out.data = loader.construct_document(root)
        except yaml.YAMLError as err:
            out.problems.append(_friendly_yaml_error(err, text))
        except (TypeError, ValueError) as err:  # e.g. an unhashable (mapping) key
            line, column = _mark(root)
            out.problems.append(
                YamlProblem(
                    "yaml-syntax",
                    f"invalid YAML value: {err}; use plain string keys",
                    line,
                    column,
                )
            )
    finally:
        loader.dispose()
    return out


MAX_ALIAS_WARNINGS = 10


def _alias_warnings(text: str, out: ParsedYaml) -> None:
    """One warning per alias (``*name``), up to MAX_ALIAS_WARNINGS, then one summary."""
    aliases = []
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                aliases.append(event)
    except yaml.YAMLError:  # already composed fine; cannot happen, but never crash on it
        return
    for event in aliases[:MAX_ALIAS_WARNINGS]:
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


def _index(root: yaml.Node, out: ParsedYaml, limit: int) -> int:
    """Fill ``out.index`` and duplicate-key problems; return the expanded node count.

    Each distinct node is visited once (an alias is the same Python object as its anchor), so
    this is linear in the size of the text even for an alias bomb.
    """
    sizes: dict[int, int] = {}
    index = out.index
    # Iterative post-order walk so deep nesting cannot hit Python's recursion limit.
    stack: list[tuple[yaml.Node, tuple, bool]] = [(root, (), False)]
    on_path: set[int] = set()
    while stack:
        node, path, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            if isinstance(node, yaml.MappingNode):
                total = 1 + sum(sizes.get(id(k), 1) + sizes.get(id(v), 1) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                total = 1 + sum(sizes.get(id(v), 1) for v in node.value)
            else:
                total = 1
            sizes[nid] = min(total, limit + 1)
            continue
        if nid in sizes or nid in on_path:  # an alias of a node already walked (or a cycle)
            if nid in on_path:
                sizes[nid] = limit + 1
            continue
        index[path] = _mark(node)
        on_path.add(nid)
        stack.append((node, path, True))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            children = []
            for k, v in node.value:
                key = _key_text(k)
                if key == "<<":  # a merge key; PyYAML merges at construction
                    children.append((v, path + ("<<",)))
                    continue
                if key is not None:
                    kline, kcol = _mark(k)
                    if key in first_line:
                        out.problems.append(
                            YamlProblem(
                                "duplicate-key",
                                _duplicate_message(path, key, first_line[key]),
                                kline,
                                kcol,
                            )
                        )
                    else:
                        first_line[key] = kline
                    index[path + (key, KEY)] = (kline, kcol)
                    children.append((v, path + (key,)))
                else:
                    children.append((k, path + ("<complex key>",)))
                    children.append((v, path + ("<complex key>",)))
            for child, cpath in reversed(children):
                stack.append((child, cpath, False))
        elif isinstance(node, yaml.SequenceNode):
            for i in range(len(node.value) - 1, -1, -1):
                stack.append((node.value[i], path + (i,), False))
    return sizes.get(id(root), 1)


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
