"""Where a path really leads, and what stands there: the checks every writer into the user's
directory makes (``pull`` and the kinds' pull step), so nothing is written outside it and
nothing but a regular file is ever read."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def inside(path: Path, directory: Path) -> bool:
    """Whether ``path``, with every symbolic link on the way resolved, stays in ``directory``."""
    real, root = os.path.realpath(path), os.path.realpath(directory)
    try:
        return os.path.commonpath([real, root]) == root
    except ValueError:  # another drive on Windows
        return False


def regular_bytes(path: Path) -> bytes | None:
    """The bytes of a regular file (links followed); None for anything else or a file that
    cannot be read. A FIFO is opened with O_NONBLOCK, so it cannot block the caller."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    except OSError:
        return None
    finally:
        os.close(fd)
