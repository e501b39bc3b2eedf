"""Which config owns each file named on the command line, and which of the files no flow
directory holds are flows all the same.

pre-commit passes every staged ``*.yml`` of a repository: in a monorepo
(``kestra/kestra-sync.yml``, ``kestra/flows/...``) those files belong to the config nearest
to them, not to the one in the current directory. A staged file outside every flow directory
is skipped when it is not a flow (a CI workflow, the config itself), but a flow there is an
error: skipping it would let a broken flow pass the hook.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..models import Diagnostic
from .config import find_config_file

_TOP_LEVEL_ID = re.compile(r"^id[ \t]*:", re.MULTILINE)
_TOP_LEVEL_NAMESPACE = re.compile(r"^namespace[ \t]*:", re.MULTILINE)
_READ_LIMIT = 64 * 1024  # id and namespace open a flow; no need to read a large file whole


def group_by_config(paths: list[str], cwd: Path | None = None) -> dict[Path | None, list[str]]:
    """config file (None: none found) -> the given paths it owns, in the given order."""
    cwd = (cwd or Path.cwd()).absolute()
    groups: dict[Path | None, list[str]] = {}
    cache: dict[Path, Path | None] = {}
    for raw in paths:
        path = Path(raw)
        start = (cwd / path).absolute()
        folder = start if start.is_dir() else start.parent
        if folder not in cache:
            cache[folder] = find_config_file(folder)
        groups.setdefault(cache[folder], []).append(raw)
    return groups


def looks_like_flow(path: Path) -> bool:
    """A top-level ``id:`` and ``namespace:``: what every Kestra flow has and other YAML
    (workflows, docker-compose, dbt projects, this tool's config) does not."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(_READ_LIMIT)
    except OSError:
        return False
    return bool(_TOP_LEVEL_ID.search(head) and _TOP_LEVEL_NAMESPACE.search(head))


def misplaced_flows(skipped: list[Path], settings) -> tuple[list[Diagnostic], list[Path]]:
    """Split files outside every flow directory into errors (flows) and the rest (skipped)."""
    dirs = ", ".join(f"{d}/" for d in settings.directories().values())
    config = _shown(settings.config_file) if settings.config_file else "no config file found"
    errors, rest = [], []
    for path in skipped:
        if not looks_like_flow(path):
            rest.append(path)
            continue
        errors.append(
            Diagnostic(
                str(path),
                f"this flow is outside the flow directory {dirs} ({config}): it would never be "
                "validated, planned or applied; move it under that directory, or add a "
                "kestra-sync.yml next to it (or above it) whose `directory` holds it",
                code="outside-flow-directory",
            )
        )
    return errors, rest


def _shown(path: Path) -> str:
    """A config path as the user would type it from here."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
