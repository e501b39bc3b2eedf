"""Where kestra-sync keeps what it may throw away: its directory in the user's cache.

``KESTRA_SYNC_CACHE_DIR`` names it; else ``$XDG_CACHE_HOME/kestra-sync``, on macOS
``~/Library/Caches/kestra-sync``, on Windows ``%LOCALAPPDATA%\\kestra-sync\\Cache``, else
``~/.cache/kestra-sync``. The result cache (``resultcache.py``) and downloaded schemas
(``schemacheck.resolve_schema``) live there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def user_cache_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """kestra-sync's cache directory, or None when there is no home to put it in."""
    env = os.environ if env is None else env
    if env.get("KESTRA_SYNC_CACHE_DIR"):
        return Path(env["KESTRA_SYNC_CACHE_DIR"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "kestra-sync"
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "kestra-sync" / "Cache"
    home = os.path.expanduser("~")
    if home.startswith("~"):
        return None
    if sys.platform == "darwin":
        return Path(home) / "Library" / "Caches" / "kestra-sync"
    return Path(home) / ".cache" / "kestra-sync"
