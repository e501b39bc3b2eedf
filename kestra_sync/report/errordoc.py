"""The one JSON document `plan`/`apply --format json` print when they stop on an error (an
unreachable server, invalid flows, a refused plan file): a script parsing stdout always gets a
document, never an empty stream. Described with the plan in docs/plan.schema.json."""

from __future__ import annotations

from .. import __version__
from ..errors import KestraSyncError
from .diagnostics import diagnostic_json
from .planfile import FORMAT_VERSION


def error_document(command: str, err: KestraSyncError) -> dict:
    diagnostics = [diagnostic_json(d) for d in getattr(err, "diagnostics", None) or []]
    return {
        "format_version": FORMAT_VERSION,
        "kestra_sync_version": __version__,
        "command": command,
        "error": {"type": type(err).__name__, "message": err.message, "hint": err.hint},
        "errors": [err.message],
        "diagnostics": diagnostics,
    }
