"""The pull step of the seam, as plain data (docs/kinds.md: pulling).

`pull` asks every registered kind two things:
- ``pull_read(client, scope)``: what the server holds of the kind in the pulled namespaces
  (``PullScope``), or for a tenant-level kind in the tenant; ``KindBase`` reads each with
  the kind's ``read``. A server without the kind's API raises ``KindUnsupported``, whose
  message (when not empty) `pull` says once;
- ``pull_files(items, target)``: the files those items become in git (``Pulled``): each
  file's path and exact bytes (``PullFile``), grouped as they are reported (``PullGroup``),
  and the server entries that refuse the whole pull before anything is written.

The kind says *what* to write; `pull` writes it (``pull/kinds.py``), the same way for every
kind: nothing outside the directory, a local file that differs kept unless --overwrite,
anything but a regular file never read, the bytes written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..rules.validate import expected_layout_path


@dataclass
class PullScope:
    """What a pull covers, as each kind's ``pull_read`` is handed it."""

    tenant: str
    namespaces: list[str]  # the namespaces pulled (named, and the children holding flows)
    with_tenant: bool = False  # the tenant-level kinds too (`--all`, `--dashboards`)
    version: str | None = None  # the server's Kestra version, when it says
    say: Callable[[str], None] = print  # a line for the user (stderr): what was not pulled


@dataclass
class PullTarget:
    """Where a pull writes: the settings (flow directory, tenant, `namespace_files:`) and
    the layout new files take."""

    settings: Any
    layout: str

    @property
    def directory(self) -> Path:
        return Path(self.settings.directory)

    def folder(self, namespace: str) -> Path:
        """A namespace's folder: the one the layout rule gives its flows."""
        return self.directory / Path(expected_layout_path(namespace, "x", self.layout)).parent


@dataclass
class PullFile:
    """One file a pulled item becomes in git."""

    path: Path
    data: bytes  # written byte for byte
    what: str  # the words in parentheses on its line: "company.team file", "dashboard"
    # Whether the bytes there already say the same (a kv.yml read back as the same values);
    # None: the same bytes.
    same: Callable[[bytes], bool] | None = None
    confine: Path | None = None  # nothing written outside it (links resolved); None: the directory
    detail: str = ""  # after ``what`` on a wrote/unchanged line: ", 3 key(s)"
    notes: list[str] = field(default_factory=list)  # said once it is written or unchanged


@dataclass
class PullGroup:
    """Files reported together: first ``lines`` (what was refused or skipped, on stderr),
    then a line per file, then ``summary(written, unchanged, kept)`` (kept: the conflicts,
    the files refused, and ``kept``)."""

    files: list[PullFile] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    kept: int = 0  # items ``lines`` refused one by one
    summary: Callable[[int, int, int], str] | None = None


@dataclass
class Pulled:
    """What a kind's pulled items become: the groups of files, and the server entries that
    refuse the whole pull (one line each: nothing is written)."""

    groups: list[PullGroup] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def escaping(paths: list[str], root: Path, confine: Path | None = None) -> list[str]:
    """The paths (relative to ``root``, a leading "/" allowed) that would be written outside
    it. Checked twice: as written, the path must stay in ``root`` (no ``..``), and with every
    link resolved in ``confine`` (by default ``root``; no link out of the flow directory)."""
    home = os.path.normpath(root)
    base = (confine or root).resolve()
    out = []
    for remote_path in sorted(paths):
        target = root / remote_path.lstrip("/")
        lexical = os.path.normpath(target)
        if not lexical.startswith(home + os.sep) or base not in target.resolve().parents:
            out.append(remote_path)
    return out
