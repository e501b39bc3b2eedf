"""Whether to colour output: one rule for every command."""

from __future__ import annotations

import os
import sys


def use_color(choice: str = "auto", stream=None, env=None) -> bool:
    """``always``/``never`` win; ``auto`` colours a terminal unless NO_COLOR is set (no-color.org),
    and FORCE_COLOR colours a pipe (CI logs that render ANSI)."""
    if choice != "auto":
        return choice == "always"
    env = os.environ if env is None else env
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream or sys.stdout, "isatty", None)
    return bool(isatty and isatty())
