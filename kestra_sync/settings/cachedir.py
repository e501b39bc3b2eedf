"""Where kestra-sync keeps what it may throw away: its directory in the user's cache.

``KESTRA_SYNC_CACHE_DIR`` names it; else ``$XDG_CACHE_HOME/kestra-sync``, on macOS
``~/Library/Caches/kestra-sync``, on Windows ``%LOCALAPPDATA%\\kestra-sync\\Cache``, else
``~/.cache/kestra-sync``. The result cache (``resultcache.py``) and downloaded schemas
(``schemacheck.resolve_schema``) live there, and both read a file there only when
``written_by_us`` says so.
"""

from __future__ import annotations

import os
import stat
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


def written_by_us(st: os.stat_result) -> bool:
    """A file of the user running (or root) that no one else may write: in a shared cache
    directory (KESTRA_SYNC_CACHE_DIR=/tmp/...) another user could otherwise swap in result
    entries that give flows other identities, or a schema that lets every flow pass."""
    if not stat.S_ISREG(st.st_mode):
        return False  # a FIFO, a device: nothing kestra-sync wrote
    if not hasattr(os, "geteuid"):
        return True  # Windows: the per-user LOCALAPPDATA
    # root's own files too: root could write ours anyway, and a CI runner may restore a cache
    # as root for a job that runs as another user.
    return st.st_uid in (os.geteuid(), 0) and not st.st_mode & 0o022


def read_own_file(path: Path) -> bytes | None:
    """The bytes of a cache file ``written_by_us``; None for anything else or a file that
    cannot be read. Opened non-blocking and checked once open: a FIFO in its place cannot
    block, and a file swapped in after a check is not read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    with open(fd, "rb") as handle:
        try:
            return handle.read() if written_by_us(os.fstat(fd)) else None
        except OSError:
            return None
