"""The ignore file, ``.kestraignore`` in a flow directory: gitignore syntax, the subset people
use. A pattern that cannot be used is an InputError naming the file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

IGNORE_FILE = ".kestraignore"


@dataclass
class IgnoreRules:
    """gitignore-style rules: ``#`` comments, ``!`` negation, ``/`` anchors, ``dir/``, ``*``,
    ``?``, ``**``. Paths are relative to the directory holding the ignore file, with ``/``."""

    rules: list[tuple[re.Pattern[str], bool, bool]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str, source: str = IGNORE_FILE) -> IgnoreRules:
        """Raises InputError naming ``source`` and the line for a pattern that cannot be used."""
        rules = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.rstrip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:]
            if line.startswith("\\"):
                line = line[1:]
            dir_only = line.endswith("/")
            line = line.strip("/") if dir_only else line
            anchored = "/" in line.lstrip("/") or line.startswith("/")
            line = line.lstrip("/")
            regex = _glob_to_regex(line)
            if not anchored:
                regex = "(?:.*/)?" + regex
            try:
                compiled = re.compile(regex + "$")
            except re.error as err:  # e.g. a reversed range `[z-a]`
                raise InputError(
                    f"{source}:{number}: bad pattern {raw.strip()!r}: {err.msg}",
                    hint="fix the pattern (gitignore syntax) or remove the line",
                ) from None
            rules.append((compiled, negate, dir_only))
        return cls(rules)

    @classmethod
    def load(cls, path: Path) -> IgnoreRules:
        try:
            return cls.parse(path.read_text(encoding="utf-8"), str(path))
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: cannot read ignore file: {e}") from None

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        result = False
        for regex, negate, dir_only in self.rules:
            if dir_only and not is_dir:
                continue
            if regex.match(rel):
                result = not negate
        return result

    def ignored_path(self, rel: str) -> bool:
        """A file is ignored when it or any parent directory is ignored."""
        parts = rel.split("/")
        for i in range(1, len(parts)):
            if self.ignored("/".join(parts[:i]), is_dir=True):
                return True
        return self.ignored(rel)


def _glob_to_regex(glob: str) -> str:
    out = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = glob[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@dataclass
class LayeredRules:
    """Several ignore files, each matched from its own directory: ignored if any says so."""

    layers: list[tuple[str, IgnoreRules]]

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        return any(rules.ignored(prefix + rel, is_dir) for prefix, rules in self.layers)
