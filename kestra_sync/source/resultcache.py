"""Remember what parsing and checking a flow file gave, by the file's content, between runs.

Parsing and the offline checks are most of the CPU a scan costs (libyaml composes ~100 Python
node objects per flow, then the checks walk them), and between two runs almost every file is
unchanged. So each flow directory keeps, per file text, what the parse told (the flow's
namespace and id as written, the YAML problems, whether it parsed, its labels for the ownership
check) and the diagnostics of the
offline checks for the settings they ran with: the next run parses and checks again only the
files whose text changed. A file found in the cache becomes a ``models.FlowParsedOnUse``: its
data is parsed only if something asks for it (a plan of unchanged flows never does), so a warm
run holds no parsed trees either. A hit gives exactly what the work would give
(``tests/test_resultcache.py`` compares both on every fixture flow, cold and warm).

What makes an entry trustworthy:
- the key is the content itself (BLAKE2b of the text), and for the checks also the file's path,
  tenant, layout, flow directory and Kestra version: a changed input can never hit;
- the whole cache is dropped when the code may answer differently: any byte of kestra-sync's own
  files (an edited checkout counts), PyYAML, libyaml, jsonschema or Python;
- it is JSON (safe to load whatever is in it) in a private directory (0700, files 0600); a file
  that does not load, has another format, or that another user owns or could write, is ignored
  and replaced;
- what is sent to the server is always the file as read, never anything from the cache; a run
  with ``--schema`` checks without it.

Where: ``cachedir.user_cache_dir()`` (``$KESTRA_SYNC_CACHE_DIR``, else the user's cache
directory), one file per flow directory.
``KESTRA_SYNC_CACHE=off`` turns it off. A failure to read or write it is silent: the cache only
ever saves time.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_atomic
from ..models import Diagnostic
from ..planning.ownership import label_pairs
from ..settings.cachedir import read_own_file, user_cache_dir
from .yamlindex import ParsedYaml, YamlProblem

FORMAT = 4
# A directory's cache keeps the files of its last full scan; partial scans (pre-commit passes
# only the changed files) add to it, up to this many entries.
MAX_ENTRIES = 100_000
# A directory's cache not used for this long is deleted (its directory may be long gone).
UNUSED_DAYS = 30
# Check results kept per file text (one per path/settings/version it was checked with).
MAX_CHECKS_PER_ENTRY = 8
OFF_VALUES = ("0", "off", "false", "no")


def cache_root() -> Path | None:
    """The directory caches live in, or None when caching is off."""
    if os.environ.get("KESTRA_SYNC_CACHE", "").strip().lower() in OFF_VALUES:
        return None
    return user_cache_dir()


_FINGERPRINT: str | None = None


def code_fingerprint() -> str:
    """What a parse or a check depends on besides its inputs: every file of this package (about
    80 files, 1 ms to hash), PyYAML, libyaml, jsonschema and Python."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import yaml

        h = hashlib.blake2b(digest_size=16)
        libyaml = getattr(getattr(yaml, "_yaml", None), "get_version_string", lambda: "none")
        for part in (sys.version, yaml.__version__, libyaml()):
            h.update(part.encode() + b"\0")
        package = Path(__file__).resolve().parent.parent  # all of kestra_sync
        try:
            for path in sorted(package.rglob("*")):
                if path.suffix in (".py", ".json", ".yml", ".yaml") and path.is_file():
                    h.update(path.relative_to(package).as_posix().encode() + b"\0")
                    h.update(path.read_bytes())
            # The schema check reports jsonschema's own messages: its code too, found without
            # importing it (~60 ms) or importlib.metadata (~30 ms).
            spec = importlib.util.find_spec("jsonschema")
            if spec is not None and spec.origin:
                for path in sorted(Path(spec.origin).parent.glob("*.py")):
                    h.update(path.read_bytes())
        except (OSError, ImportError, ValueError):  # ValueError: find_spec of an odd module
            h.update(os.urandom(16))  # cannot tell which code runs: never reuse anything
        _FINGERPRINT = h.hexdigest()
    return _FINGERPRINT


def content_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


class ResultCache:
    """The results of one flow directory: ``known``/``remember`` what a parse told,
    ``checks``/``remember_checks`` the offline checks' diagnostics; ``save()`` writes what this
    run used."""

    def __init__(self, path: Path | None, entries: dict[str, list] | None = None):
        self.path = path
        self._old = entries or {}
        self._used: dict[str, list] = {}
        self.complete = False  # set when a scan read every file of the directory
        self._dirty = False
        self.hits = 0
        self.misses = 0
        # Each file's text is looked up several times a run (its parse, the checks, the checks
        # for the server's version): hashed once. The texts are the flows' own strings, so a
        # lookup here is an identity hit.
        self._keys: dict[str, str] = {}

    def _key(self, text: str) -> str:
        key = self._keys.get(text)
        if key is None:
            key = self._keys[text] = content_key(text)
        return key

    def known(self, text: str) -> Parse | None:
        """What parsing ``text`` told, when a run parsed it before."""
        key = self._key(text)
        entry = self._used.get(key) or self._old.get(key)
        if entry is not None:
            found = _from_entry(entry)
            if found is not None:
                self.hits += 1
                self._used[key] = entry
                return found
        self.misses += 1
        return None

    def remember(self, text: str, found: Parse) -> None:
        if self.path is not None:
            self._used[self._key(text)] = _to_entry(found)
            self._dirty = True

    def checks(self, text: str, settings_key: str) -> list[Diagnostic] | None:
        entry = self._used.get(self._key(text))
        if entry is None:
            return None
        found = entry[-1].get(settings_key)
        if not isinstance(found, list) or not all(map(_is_diagnostic, found)):
            return None  # not what this version writes (an edited file): check instead
        return [Diagnostic(*fields) for fields in found]

    def remember_checks(self, text: str, settings_key: str, diags: list[Diagnostic]) -> None:
        entry = self._used.get(self._key(text))
        if entry is None:
            return  # not cached (aliases), or parsed elsewhere
        checks = entry[-1]
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
    raw = read_own_file(path)  # None for a FIFO, or a file another user could have written
    if raw is None:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
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
    write_atomic(path, data, private=True)


@dataclass
class Parse:
    """What parsing a flow file told, besides the data itself."""

    problems: list[YamlProblem]
    empty: bool
    has_data: bool  # it parsed into something (not an error, not an empty document)
    # The top-level `namespace` and `id` as written: Jackson coerces a YAML scalar to the text
    # written (`id: 123` is the id "123"), so the raw scalar text is used rather than PyYAML's
    # int/bool; null (`~`, empty) is missing.
    namespace: str | None
    id: str | None
    # The top-level labels as (key, value as text) pairs (ownership.label_pairs): what
    # `--ownership-label` checks, answered without parsing the file again.
    labels: list[tuple[str, str]]

    @classmethod
    def of(cls, parsed: ParsedYaml) -> Parse:
        data = parsed.data
        return cls(
            parsed.problems,
            parsed.empty,
            data is not None,
            parsed.text_of(data, "namespace"),
            parsed.text_of(data, "id"),
            label_pairs(data.get("labels")) if isinstance(data, dict) else [],
        )


# -- one entry: [namespace, id, has_data, empty, problems, labels, checks] -------------------
# (the checks last: ResultCache reads them as entry[-1])


def _to_entry(found: Parse) -> list:
    problems = [[p.code, p.message, p.line, p.column, p.severity] for p in found.problems]
    labels = [list(pair) for pair in found.labels]
    return [found.namespace, found.id, found.has_data, found.empty, problems, labels, {}]


def _from_entry(entry: Any) -> Parse | None:
    try:
        namespace, flow_id, has_data, empty, problems, labels, checks = entry
        if (
            not isinstance(checks, dict)
            or not all(x is None or isinstance(x, str) for x in (namespace, flow_id))
            or not all(isinstance(x, bool) for x in (has_data, empty))
            or not isinstance(problems, list)
            or not all(map(_is_problem, problems))
            or not isinstance(labels, list)
            or not all(map(_is_label, labels))
        ):
            return None
        return Parse(
            [YamlProblem(c, m, line, col, sev) for c, m, line, col, sev in problems],
            empty,
            has_data,
            namespace,
            flow_id,
            [(k, v) for k, v in labels],
        )
    except (TypeError, ValueError):
        return None  # not an entry this version wrote: parse instead


# An entry is checked field by field before use: JSON of the right format may still hold values
# of another type (a hand edit), and a line number that is text would break sorting later.


def _is_line(x: Any) -> bool:
    return x is None or (isinstance(x, int) and not isinstance(x, bool))


def _is_problem(x: Any) -> bool:  # [code, message, line, column, severity]
    return (
        isinstance(x, list)
        and len(x) == 5
        and all(isinstance(x[i], str) for i in (0, 1, 4))
        and _is_line(x[2])
        and _is_line(x[3])
    )


def _is_label(x: Any) -> bool:  # [key, value as text]
    return isinstance(x, list) and len(x) == 2 and all(isinstance(part, str) for part in x)


def _is_diagnostic(x: Any) -> bool:  # [path, message, severity, line, column, code, versioned]
    return (
        isinstance(x, list)
        and len(x) == 7
        and all(isinstance(x[i], str) for i in (0, 1, 2, 5))
        and _is_line(x[3])
        and _is_line(x[4])
        and isinstance(x[6], bool)
    )
