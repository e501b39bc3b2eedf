"""Render diagnostics: text (one ``path:line:col: severity: message`` line each), json, github.

The JSON shape is a documented contract (``version`` bumps on any incompatible change)::

    {"version": 1, "valid": bool, "errors": int, "warnings": int, "files": int,
     "diagnostics": [{"path", "line", "column", "severity", "code", "message"}]}

``line``/``column`` are 1-based or null. Diagnostics are sorted by path, line, column.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence

from ..models import ERROR, Diagnostic
from . import escape

JSON_VERSION = 1


def sort_key(d: Diagnostic) -> tuple:
    return (d.path, d.line or 0, d.column or 0, d.code, d.message)


def sorted_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    # de-duplicate exact repeats (e.g. the same file given twice) while sorting
    return sorted(set(diagnostics), key=sort_key)


def counts(diagnostics: Sequence[Diagnostic]) -> tuple[int, int]:
    errors = sum(1 for d in diagnostics if d.severity == ERROR)
    return errors, len(diagnostics) - errors


def location(d: Diagnostic) -> str:
    loc = d.path
    if d.line:
        loc += f":{d.line}"
        if d.column:
            loc += f":{d.column}"
    return loc


def format_text_line(d: Diagnostic, color: bool = False) -> str:
    sev = d.severity
    code = f" [{d.code}]" if d.code else ""
    if color:
        import click

        sev = click.style(sev, fg="red" if d.severity == ERROR else "yellow", bold=True)
    # One line whatever a path or a message holds (report/escape.py).
    return f"{escape.line(location(d))}: {sev}: {escape.line(d.message)}{code}"


def summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    errors, warnings = counts(diagnostics)
    noun = "file" if files == 1 else "files"
    if not errors and not warnings:
        return f"{files} {noun} checked, no problems"
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return f"{files} {noun} checked: {', '.join(parts)}"


def render_text(
    diagnostics: Sequence[Diagnostic], files: int, color: bool = False, rules: str | None = None
) -> list[str]:
    """One line per problem, then the summary; ``rules`` says which Kestra version's rules."""
    lines = [format_text_line(d, color) for d in diagnostics]
    lines.append(summary(diagnostics, files) + (f" ({rules})" if rules else ""))
    return lines


def render_json(
    diagnostics: Sequence[Diagnostic], files: int, kestra_version: dict | None = None
) -> str:
    errors, warnings = counts(diagnostics)
    doc = {
        "version": JSON_VERSION,
        "valid": errors == 0,
        "errors": errors,
        "warnings": warnings,
        "files": files,
        # {"rules": "1.3" or null (every supported version), "origin": ..., "server": ...}
        "kestra_version": kestra_version,
        "diagnostics": [diagnostic_json(d) for d in diagnostics],
    }
    return escape.json_text(json.dumps(doc, indent=2, ensure_ascii=False))


def diagnostic_json(d: Diagnostic) -> dict:
    """One diagnostic as every JSON output shows it (validate's report, the error document)."""
    return {
        "path": d.path,
        "line": d.line,
        "column": d.column,
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
    }


def pick_format(fmt: str, env: Mapping[str, str] | None = None) -> str:
    found = os.environ if env is None else env
    if fmt == "auto":
        return "github" if found.get("GITHUB_ACTIONS") == "true" else "text"
    return fmt
