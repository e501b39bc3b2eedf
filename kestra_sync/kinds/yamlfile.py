"""Reading one YAML document a kind keeps in git (an app, a namespace.yml) with the flows'
positioned reader (``source.yamlindex``): syntax errors and keys written twice come back with
their line, and the data is typed as Kestra's Jackson reader types it (only ``true``/``false``
are booleans, dates stay text)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..source.yamlindex import ParsedYaml, parse_yaml

# problem(message, line, code)
Problem = Callable[..., None]
MAX_BYTES = 4 * 3 * 1024 * 1024  # as for flows: Kestra's YAML reader stops at 3 Mi code points


def folder_namespace(root: Path, folder: Path) -> str:
    """The namespace a folder under the flow directory stands for ("" for the directory)."""
    rel = folder.relative_to(root).as_posix()
    return "" if rel == "." else rel.replace("/", ".")


def read_yaml(file: Path, problem: Problem) -> tuple[str, ParsedYaml] | None:
    """(text, parsed) of ``file``, or None after reporting why it cannot be used."""
    try:
        if file.stat().st_size > MAX_BYTES:
            problem("the file is larger than Kestra reads (3 Mi characters)", None, "too-large")
            return None
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        problem(f"cannot read: {err}", None, "unreadable")
        return None
    parsed = parse_yaml(text)
    failed = False
    for p in parsed.problems:
        if p.code == "duplicate-key" and p.key is not None:
            first = f" (first at line {p.first_line})" if p.first_line else ""
            problem(f"`{p.key}` is written twice{first}; keep only one", p.line, "duplicate-key")
            failed = True
        elif p.severity == "error":
            problem(f"invalid YAML: {p.message}", p.line, "yaml-syntax")
            failed = True
    return None if failed else (text, parsed)


def line_of(parsed: ParsedYaml, *path: Any) -> int | None:
    return parsed.key_position(path)[0]
