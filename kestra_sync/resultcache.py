"""Remember what parsing and checking a flow file gave, by the file's content, between runs.

Parsing and the offline checks are most of the CPU a scan costs (libyaml composes ~100 Python
node objects per flow, then the checks walk them), and between two runs almost every file is
unchanged. So each flow directory keeps, per file text, the parse (the data, the YAML problems,
the written text of ids) and the diagnostics of the offline checks for the settings they ran
with: the next run parses and checks again only the files whose text changed. A hit gives
exactly what the work would give (``tests/test_resultcache.py`` compares both on every fixture
flow, cold and warm).

What makes an entry trustworthy:
- the key is the content itself (BLAKE2b of the text), and for the checks also the file's path,
  tenant, layout, flow directory and Kestra version: a changed input can never hit;
- the whole cache is dropped when the code may answer differently: any byte of kestra-sync's own
  files (an edited checkout counts), PyYAML, libyaml or Python;
- it is JSON (safe to load whatever is in it) in a private directory (0700, files 0600); a file
  that does not load, or has another format, is ignored and replaced;
- what is sent to the server is always the file as read, never anything from the cache; a run
  with ``--schema`` checks without it.

Where: ``$KESTRA_SYNC_CACHE_DIR``, else the user's cache directory (``$XDG_CACHE_HOME`` or
``~/.cache``; ``%LOCALAPPDATA%`` on Windows) under ``kestra-sync``; one file per flow directory.
``KESTRA_SYNC_CACHE=off`` turns it off. A failure to read or write it is silent: the cache only
ever saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .models import Diagnostic
from .yamlindex import ParsedYaml, YamlProblem, parse_yaml

FORMAT = 2
# A directory's cache keeps the files of its last full scan; partial scans (pre-commit passes
# only the changed files) add to it, up to this many entries.
MAX_ENTRIES = 100_000
# A directory's cache not used for this long is deleted (its directory may be long gone).
UNUSED_DAYS = 30
# Check results kept per file text (one per path/settings/version it was checked with).
MAX_CHECKS_PER_ENTRY = 8
OFF_VALUES = ("0", "off", "false", "no")
# Not kept: a document with aliases shares objects that JSON would copy (and an alias bomb's
# copies could be huge); such files are rare and simply parsed every time.
UNCACHED_PROBLEMS = frozenset(("yaml-alias", "alias-bomb"))


def cache_root() -> Path | None:
    """The directory caches live in, or None when caching is off."""
    if os.environ.get("KESTRA_SYNC_CACHE", "").strip().lower() in OFF_VALUES:
        return None
    explicit = os.environ.get("KESTRA_SYNC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "kestra-sync" / "Cache"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if base.startswith("~"):
        return None  # no home directory to put it in
    return Path(base) / "kestra-sync"


_FINGERPRINT: str | None = None


def code_fingerprint() -> str:
    """What a parse or a check depends on besides its inputs: every file of this package (about
    80 files, 1 ms to hash), PyYAML, libyaml and Python."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import yaml

        h = hashlib.blake2b(digest_size=16)
        for part in (sys.version, yaml.__version__, str(hasattr(yaml, "CSafeLoader"))):
            h.update(part.encode() + b"\0")
        package = Path(__file__).resolve().parent
        try:
            for path in sorted(package.rglob("*")):
                if path.suffix in (".py", ".json", ".yml", ".yaml") and path.is_file():
                    h.update(path.relative_to(package).as_posix().encode() + b"\0")
                    h.update(path.read_bytes())
        except OSError:
            h.update(os.urandom(16))  # cannot tell which code runs: never reuse anything
        _FINGERPRINT = h.hexdigest()
    return _FINGERPRINT


def content_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


class ResultCache:
    """The results of one flow directory. ``parse(text)`` is ``yamlindex.parse_yaml(text)``;
    ``checks``/``remember_checks`` hold the offline checks' diagnostics; ``save()`` writes
    what this run used."""

    def __init__(self, path: Path | None, entries: dict[str, list] | None = None):
        self.path = path
        self._old = entries or {}
        self._used: dict[str, list] = {}
        self.complete = False  # set when a scan read every file of the directory
        self._dirty = False
        self.hits = 0
        self.misses = 0

    def parse(self, text: str) -> ParsedYaml:
        key = content_key(text)
        entry = self._used.get(key) or self._old.get(key)
        if entry is not None:
            parsed = _from_entry(entry, text)
            if parsed is not None:
                self.hits += 1
                self._used[key] = entry
                return parsed
        self.misses += 1
        parsed = parse_yaml(text)
        if self.path is not None and not any(p.code in UNCACHED_PROBLEMS for p in parsed.problems):
            self._used[key] = _to_entry(parsed)
            self._dirty = True
        return parsed

    def checks(self, text: str, settings_key: str) -> list[Diagnostic] | None:
        entry = self._used.get(content_key(text))
        if entry is None:
            return None
        found = entry[5].get(settings_key)
        if found is None:
            return None
        try:
            return [Diagnostic(*fields) for fields in found]
        except TypeError:
            return None

    def remember_checks(self, text: str, settings_key: str, diags: list[Diagnostic]) -> None:
        entry = self._used.get(content_key(text))
        if entry is None:
            return  # not cached (aliases), or parsed elsewhere
        checks = entry[5]
        checks.pop(settings_key, None)
        checks[settings_key] = [
            [d.path, d.message, d.severity, d.line, d.column, d.code, d.versioned] for d in diags
        ]
        while len(checks) > MAX_CHECKS_PER_ENTRY:
            checks.pop(next(iter(checks)))
        self._dirty = True

    def save(self) -> None:
        """Write the cache when it changed. After a complete scan, entries it did not use
        belong to files that changed or went away and are dropped."""
        stale = self.complete and any(key not in self._used for key in self._old)
        if self.path is None or not (self._dirty or stale):
            return
        entries = dict(self._used)
        if not self.complete:
            for key, entry in self._old.items():
                if len(entries) >= MAX_ENTRIES:
                    break
                entries.setdefault(key, entry)
        body = {"format": FORMAT, "code": code_fingerprint(), "entries": entries}
        # A read-only home, a full disk, a value JSON cannot hold: no cache, no harm.
        with contextlib.suppress(OSError, ValueError, TypeError):
            _write_private(self.path, json.dumps(body, separators=(",", ":")).encode("utf-8"))
            _forget_unused(self.path.parent)
        self._old, self._dirty = entries, False


def for_directory(directory: Path | str) -> ResultCache:
    """The cache of a flow directory (an inert one when caching is off)."""
    root = cache_root()
    if root is None:
        return ResultCache(None)
    where = os.path.realpath(directory)
    digest = hashlib.blake2b(where.encode("utf-8", "surrogatepass"), digest_size=12)
    path = root / f"results-{digest.hexdigest()}.json"
    return ResultCache(path, _load_entries(path))


def _forget_unused(root: Path) -> None:
    """Delete the caches of directories no run has read for UNUSED_DAYS (each load touches its
    file's modification time: access times are often not recorded)."""
    limit = time.time() - UNUSED_DAYS * 86400
    for entry in os.scandir(root):
        if entry.name.startswith("results-") and entry.name.endswith(".json"):
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < limit:
                    os.unlink(entry.path)


def _load_entries(path: Path) -> dict[str, list]:
    try:
        with open(path, "rb") as handle:
            body = json.loads(handle.read())
    except (OSError, ValueError, RecursionError):
        return {}
    if (
        not isinstance(body, dict)
        or body.get("format") != FORMAT
        or body.get("code") != code_fingerprint()
        or not isinstance(body.get("entries"), dict)
    ):
        return {}
    with contextlib.suppress(OSError):
        os.utime(path)  # in use: not one to forget
    return body["entries"]


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp: 0600, only its owner reads it
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- one entry: [data, empty, problems, raw, has_text, checks] ---------------------------------
# ``raw`` (the written text of ids, by mapping) is keyed by the mapping's identity in memory, so
# it is stored by the mapping's path in the data and re-attached to the loaded mappings.


def _to_entry(parsed: ParsedYaml) -> list:
    problems = [[p.code, p.message, p.line, p.column, p.severity] for p in parsed.problems]
    raw = []
    if parsed.raw:
        paths = _mapping_paths(parsed.data)
        for (mapping_id, key), text in parsed.raw.items():
            path = paths.get(mapping_id)
            if path is not None:
                raw.append([path, key, text])
    return [parsed.data, parsed.empty, problems, raw, bool(parsed.text), {}]


def _from_entry(entry: Any, text: str) -> ParsedYaml | None:
    try:
        data, empty, problems, raw, has_text, checks = entry
        if not isinstance(checks, dict):
            return None
        out = ParsedYaml(
            data=data,
            empty=bool(empty),
            problems=[YamlProblem(c, m, line, col, sev) for c, m, line, col, sev in problems],
            text=text if has_text else "",
        )
        for path, key, written in raw:
            mapping = data
            for step in path:
                mapping = mapping[step]
            out.raw[(id(mapping), key)] = written
    except (TypeError, ValueError, KeyError, IndexError):
        return None  # not an entry this version wrote: parse instead
    return out


def _mapping_paths(data: Any) -> dict[int, list]:
    """id(mapping) -> its path (keys and indexes) from the root."""
    out: dict[int, list] = {}
    stack: list[tuple[Any, list]] = [(data, [])] if isinstance(data, (dict, list)) else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            out[id(node)] = path
            children = node.items()
        else:
            children = enumerate(node)
        for k, v in children:
            if isinstance(v, (dict, list)):
                stack.append((v, [*path, k]))
    return out
