"""Write a file so that a failure half-way leaves the old file (or none), never a partial one,
with the permissions any other tool would give it (0666 minus the umask, e.g. 0644).

``tempfile.mkstemp`` creates files 0600, so a plain "temp file then rename" would hand a team
files only their owner can read; the mode is set from the umask before the rename.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process umask. Linux shows it in /proc; elsewhere it can only be read by setting it
    (briefly, which is harmless here: nothing else creates files meanwhile)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename.
    ``private``: the file stays readable by its owner only (0600, as mkstemp makes it), for
    caches. Raises OSError; the temporary file never survives a failure."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if not private:
            os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
