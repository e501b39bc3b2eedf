"""`validate --fix`: apply the mechanical rewrites of the version table to the files.

Only rewrites that replace one written token by another are applied: a key (``taskDefaults`` ->
``pluginDefaults``, input ``name`` -> ``id``, ``runIf`` -> ``when``) or a whole scalar value
(input type ``BOOLEAN`` -> ``BOOL``, a type prefix, ``CANCELED``). Each edit replaces exactly
the old text at the position the YAML parser reports, after checking that the old text is
written there; every byte outside the edited spans stays as it was. A file whose bytes are not
exactly its decoded text (a BOM, another encoding) is left alone. Expressions inside strings
(``json()``, dashed references) are only reported, never rewritten.
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
    "renamed-runIf": ("runIf", "when"),
    "renamed-check-condition": ("condition", "when"),
}
VALUE_RULES = ("removed-input-type", "renamed-state", "removed-type")


@dataclass
class Edit:
    path: str
    line: int
    old: str
    new: str


def _offset(text: str, line: int, column: int) -> int | None:
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    return sum(len(lines[i]) + 1 for i in range(line - 1)) + column - 1


def _edits_for(
    flow: LocalFlow, parsed: ParsedYaml, version: str | None
) -> list[tuple[int, str, str, int]]:
    """(offset, old, new, line) for each mechanical rewrite this flow needs under ``version``."""
    out = []
    data = flow.data
    for finding in flowrules.findings(data, flow.source):
        if flowrules.judge(finding, version) is None or not finding.rule.mechanical:
            continue
        code = finding.rule.code
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
            new = _new_value(finding, value)
            if new is None:
                continue
            line, column = parsed.position(finding.path)
        else:
            continue
        if line is None or column is None:
            continue
        at = _offset(flow.source, line, column)
        if at is None:
            continue
        for quote in ("", "'", '"'):  # a quoted scalar's position is its opening quote
            if flow.source.startswith(quote + old + quote, at):
                out.append((at + len(quote), old, new, line))
                break
    return out


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
        for at, old, new, line in sorted(todo, reverse=True):  # from the end: offsets hold
            text = text[:at] + new + text[at + len(old) :]
            edits.append(Edit(str(flow.path), line, old, new))
        path.write_bytes(text.encode("utf-8"))
    edits.sort(key=lambda e: (e.path, e.line))
    return edits, skipped
