"""`validate --fix`: apply the mechanical rewrites of the version table to the files.

Only rewrites that replace one written token by another are applied: a key (``taskDefaults`` ->
``pluginDefaults``, input ``name`` -> ``id``, ``checks[].condition`` -> ``when``), a whole scalar
value (input type ``BOOLEAN`` -> ``BOOL``, a legacy type alias, a type prefix), or the Pebble
``json`` filter and function inside a string (``| json`` -> ``| toJson``, ``json(`` ->
``fromJson(``). Each rewrite is a row of the version table whose ``fix_valid`` cites the Kestra
code that makes the new text valid; it is printed with the edit. Each edit replaces exactly the
old text at the position the YAML parser reports, after checking that the old text is written
there; every byte outside the edited spans stays as it was. A file whose bytes are not exactly
its decoded text (a BOM, another encoding) is left alone. Dashed references are only reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..models import LocalFlow
from ..source.yamlindex import ParsedYaml, parse_yaml
from . import flowrules

# Rule codes whose finding names a key to rename, and whose finding names a scalar to replace.
KEY_RENAMES = {
    "removed-taskDefaults": ("taskDefaults", "pluginDefaults"),
    "input-name": ("name", "id"),
    "renamed-check-condition": ("condition", "when"),
}
VALUE_RULES = ("removed-input-type", "removed-type")
EXPRESSION_RULES = ("removed-json-function",)


@dataclass
class Edit:
    path: str
    line: int
    old: str
    new: str
    valid: str = ""  # the Kestra code that makes ``new`` valid (the rule's fix_valid)


def _offset(text: str, line: int, column: int) -> int | None:
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    return sum(len(lines[i]) + 1 for i in range(line - 1)) + column - 1


def _edits_for(
    flow: LocalFlow, parsed: ParsedYaml, version: str | None
) -> list[tuple[int, str, str, int, str]]:
    """(offset, old, new, line, valid) for each mechanical rewrite this flow needs under
    ``version``."""
    out: list[tuple[int, str, str, int, str]] = []
    data = flow.data
    for finding in flowrules.findings(data, flow.source):
        if flowrules.judge(finding, version) is None or not finding.rule.mechanical:
            continue
        code = finding.rule.code
        if code in EXPRESSION_RULES:
            out += _expression_edits(flow, parsed, finding)
            continue
        if code in KEY_RENAMES and finding.key:
            old, new = KEY_RENAMES[code]
            parent = flowrules.value_at(data, finding.path[:-1])
            if isinstance(parent, dict) and new in parent:
                continue  # `name:` next to an `id:`: renaming would write a duplicate key
            line, column = parsed.key_position(finding.path)
        elif code in VALUE_RULES and not finding.key:
            value = flowrules.value_at(data, finding.path)
            if not isinstance(value, str):
                continue
            old = value
            replacement = _new_value(finding, value)
            if replacement is None:
                continue
            new = replacement
            line, column = parsed.position(finding.path)
        else:
            continue
        at = _offset(flow.source, line, column) if line and column else None
        if at is None or line is None:
            continue
        for quote in ("", "'", '"'):  # a quoted scalar's position is its opening quote
            if flow.source.startswith(quote + old + quote, at):
                out.append((at + len(quote), old, new, line, finding.rule.fix_valid))
                break
    return out


def _expression_edits(
    flow: LocalFlow, parsed: ParsedYaml, finding: flowrules.Finding
) -> list[tuple[int, str, str, int, str]]:
    """``| json`` -> ``| toJson`` and ``json(`` -> ``fromJson(`` inside one string, only where
    the written text of the scalar holds each occurrence verbatim: the same number of matches
    in the source span as in the parsed value (an escape or a line fold in the middle of one
    leaves the string alone)."""
    value = flowrules.value_at(flow.data, finding.path)
    line, column = parsed.position(finding.path)
    if not isinstance(value, str) or not line or not column:
        return []
    start = _offset(flow.source, line, column)
    end = _scalar_end(flow.source, parsed, finding.path)
    if start is None or end is None:
        return []
    span = flow.source[start:end]
    out = []
    for pattern, _, new, _ in flowrules.JSON_PATTERNS:
        if finding.rule.fix != new:
            continue
        found = list(pattern.finditer(span))
        if not found or len(found) != len(pattern.findall(value)):
            continue
        name = "fromJson" if new.startswith("fromJson") else "toJson"
        for m in found:
            at = start + m.start()
            text = m.group(0)
            number = flow.source.count("\n", 0, at) + 1
            out.append((at, text, text.replace("json", name, 1), number, finding.rule.fix_valid))
    return out


def _scalar_end(source: str, parsed: ParsedYaml, path: tuple) -> int | None:
    """Where the scalar at ``path`` ends in ``source``: the start of the next indexed node
    after it, or the end of the text (a bound: the count check in _expression_edits makes
    sure the span holds that scalar's occurrences only)."""
    line, column = parsed.position(path)
    start = _offset(source, line, column) if line and column else None
    if start is None:
        return None
    after = [
        _offset(source, ln, col)
        for ln, col in parsed.index.values()
        if ln and col and (ln, col) > (line, column)
    ]
    later = [a for a in after if a is not None and a > start]
    return min(later) if later else len(source)


def _new_value(finding: flowrules.Finding, value: str) -> str | None:
    fix = finding.rule.fix
    if finding.rule.code == "removed-type":
        removal = flowrules.removed_type(value)
        if removal is None or not removal.mechanical:
            return None
        return removal.new + value[len(removal.old) :] if removal.old.endswith(".") else fix
    return fix


def fix_flows(
    flows: list[LocalFlow], parsed: dict[str, ParsedYaml], version: str | None
) -> tuple[list[Edit], list[str]]:
    """Rewrite the files; returns the edits made and the files left alone (with why)."""
    edits: list[Edit] = []
    skipped: list[str] = []
    for flow in flows:
        if not isinstance(flow.data, dict):
            continue
        p = parsed.get(str(flow.path)) or parse_yaml(flow.source)
        todo = _edits_for(flow, p, version)
        if not todo:
            continue
        path = Path(flow.path)
        if path.read_bytes() != flow.source.encode("utf-8"):
            skipped.append(f"{flow.path}: not rewritten (a BOM or changed since it was read)")
            continue
        text = flow.source
        for at, old, new, line, valid in sorted(set(todo), reverse=True):  # from the end
            text = text[:at] + new + text[at + len(old) :]
            edits.append(Edit(str(flow.path), line, old, new, valid))
        path.write_bytes(text.encode("utf-8"))
    edits.sort(key=lambda e: (e.path, e.line))
    return edits, skipped
