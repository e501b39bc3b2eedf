"""GitHub Actions workflow commands (annotations): escaping and per-step caps.

Escaping: report/escape.py's ``command_data`` / ``command_property`` (the runner's own rules,
plus every other control character made visible). GitHub shows at most 10 error and 10
warning annotations per step, so only the first ones are emitted and a notice says how many more
there are (they are all in the log as plain lines).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import ERROR, Diagnostic
from .escape import command_data as escape_data
from .escape import command_property as escape_property

MAX_PER_LEVEL = 10


def annotation(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    """One ``::level file=...,line=...,col=...,title=...::message`` command."""
    props = []
    if file:
        props.append(f"file={escape_property(file.replace(chr(92), '/'))}")
    if line:
        props.append(f"line={line}")
        if col:
            props.append(f"col={col}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{level}" + (" " + ",".join(props) if props else "")
    return f"{head}::{escape_data(message)}"


def render(
    diagnostics: Iterable[Diagnostic],
    *,
    title_prefix: str = "kestra-sync",
    max_per_level: int = MAX_PER_LEVEL,
) -> list[str]:
    """Annotation lines for diagnostics (first ``max_per_level`` errors and warnings), then one
    plain ``file:line:col: severity: message`` line per diagnostic, so nothing is lost."""
    lines: list[str] = []
    counts = {"error": 0, "warning": 0}
    hidden = {"error": 0, "warning": 0}
    diagnostics = list(diagnostics)
    for d in diagnostics:
        level = "error" if d.severity == ERROR else "warning"
        if counts[level] >= max_per_level:
            hidden[level] += 1
            continue
        counts[level] += 1
        title = f"{title_prefix}: {d.code}" if d.code else title_prefix
        lines.append(
            annotation(level, d.message, file=d.path, line=d.line, col=d.column, title=title)
        )
    more = [f"{n} more {lvl}{'s' if n > 1 else ''}" for lvl, n in hidden.items() if n]
    if more:
        lines.append(
            annotation(
                "notice",
                f"GitHub shows only {max_per_level} error and {max_per_level} warning annotations per "
                f"step: {' and '.join(more)} not annotated; see the full list in the job log.",
                title=title_prefix,
            )
        )
    return lines
