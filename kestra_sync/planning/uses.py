"""Which namespace files and KV pairs a flow uses, so that a plan never deletes one that a flow
which stays still needs (issue 20 item 3), as a still-called subflow is kept (references.py).

What a flow can name, read in Kestra's source (kestra-io/kestra, core/src/main/java/io/kestra/
core/runners/pebble/functions/ at 02cae841f9288ba047119fb430da67e66e0b6f08):
- ``{{ read('etl/load.py') }}`` (ReadFileFunction: arguments path, namespace, version; the
  namespace defaults to the flow's; a ``nsfile://`` path is a namespace file too);
- ``{{ kv('region') }}`` (KvFunction: arguments key, namespace, errorOnMissing); without a
  namespace it looks in the flow's namespace, then in each parent namespace in turn, so a key
  of ``company`` is used by a flow of ``company.team`` that reads it;
- a task's ``namespaceFiles`` with ``include`` globs: the files they match are given to it;
- a script task's ``commands``, ``script`` or ``inputFiles`` naming a file by its path
  (``python etl/load.py`` with namespace files given to the task).

A reference that an expression computes (``read(vars.path)``) cannot be seen in the source and
is not found; the README says so. The rule errs on keeping: a path or key spelled anywhere in
the flow's strings where these forms can hold it counts as used.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..models import FlowRef
from ..source.yamlindex import parse_yaml

FILE = "file"
KV = "kv"

_STRING = r"""(?:'([^'\\]*)'|"([^"\\]*)")"""
_NAMESPACE_ARG = rf"(?:\s*,\s*(?:namespace\s*=\s*)?{_STRING})?"
_READ = re.compile(rf"(?<![\w.])read\(\s*(?:path\s*=\s*)?{_STRING}{_NAMESPACE_ARG}")
_KV = re.compile(rf"(?<![\w.])kv\(\s*(?:key\s*=\s*)?{_STRING}{_NAMESPACE_ARG}")
_NSFILE = "nsfile://"


@dataclass
class Uses:
    """What one flow names: files by (namespace, path), KV keys by (namespace, key) (a key read
    with inheritance is recorded under the flow's namespace and found in its parents too),
    ``include`` globs by namespace, and every string that could name a file by its path."""

    namespace: str
    files: set[tuple[str, str]] = field(default_factory=set)
    keys: set[tuple[str, str]] = field(default_factory=set)
    inherited_keys: set[str] = field(default_factory=set)
    globs: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)

    def names(self, ref: FlowRef) -> str | None:
        """How this flow names ``ref`` (a file or KV pair of the same tenant), or None."""
        if ref.kind == KV:
            if (ref.namespace, ref.id) in self.keys:
                return f"kv('{ref.id}')"
            inherits = self.namespace == ref.namespace or self.namespace.startswith(
                ref.namespace + "."
            )
            if inherits and ref.id in self.inherited_keys:
                return f"kv('{ref.id}')"
            return None
        if ref.kind != FILE:
            return None
        if (ref.namespace, ref.id) in self.files:
            return f"read('{ref.id.lstrip('/')}')"
        if ref.namespace != self.namespace:
            return None
        relative = ref.id.lstrip("/")
        for glob in self.globs:
            if fnmatch.fnmatchcase(relative, glob.lstrip("/")):
                return f"namespaceFiles include {glob!r}"
        pattern = re.compile(rf"(?<![\w./-]){re.escape(relative)}(?![\w/-])")
        if any(pattern.search(word) for word in self.words):
            return f"names {relative}"
        return None


def may_use(source: str, ref: FlowRef) -> bool:
    """Cheap: whether the text of a flow can name ``ref`` at all (most flows name nothing)."""
    if ref.kind == KV:
        return "kv" in source
    return "read" in source or "namespaceFiles" in source or ref.id.lstrip("/") in source


def uses_of(source: str, namespace: str, data: Any = None) -> Uses:
    """What a flow's source names (``data``: its parse, when the scan has it)."""
    if data is None:
        data = parse_yaml(source).data
    uses = Uses(namespace)
    for key, text in _strings(data):
        for match in _READ.finditer(text):
            path, other = match.group(1) or match.group(2), match.group(3) or match.group(4)
            if path.startswith(_NSFILE):
                path = path[len(_NSFILE) :]
            uses.files.add((other or namespace, "/" + path.lstrip("/")))
        for match in _KV.finditer(text):
            name, other = match.group(1) or match.group(2), match.group(3) or match.group(4)
            if other:
                uses.keys.add((other, name))
            else:
                uses.inherited_keys.add(name)
        if key in ("commands", "script", "inputFiles", "beforeCommands"):
            uses.words.append(text)
    for node in _mappings(data):
        files = node.get("namespaceFiles")
        if isinstance(files, dict) and files.get("enabled", True) not in (False, "false"):
            include = files.get("include")
            uses.globs += (
                [g for g in include if isinstance(g, str)] if isinstance(include, list) else []
            )
    return uses


def _strings(data: Any) -> Iterator[tuple[str | None, str]]:
    """Every string in ``data``, with the key of the nearest mapping above it (so that a
    ``commands:`` list's items are known as commands)."""
    stack: list[tuple[str | None, Any]] = [(None, data)]
    while stack:
        key, node = stack.pop()
        if isinstance(node, str):
            yield key, node
        elif isinstance(node, dict):
            inherited = key if key in ("commands", "inputFiles") else None
            stack.extend(
                (k if isinstance(k, str) and inherited is None else inherited, v)
                for k, v in node.items()
            )
        elif isinstance(node, list):
            stack.extend((key, item) for item in node)


def _mappings(data: Any) -> Iterable[dict]:
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
