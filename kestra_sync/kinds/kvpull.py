"""`pull` for KV pairs: a namespace's pairs become its `kv.yml`, each value in the form the
scan reads back as that value, so a `plan` right after shows none of them as changed.

A value that looks like a secret is never written: kv.yml lists its key under `sensitive:`,
which leaves the server's value as it is and keeps it out of every report; a key the local
kv.yml already lists there stays out too, unless it declares the very value the server
holds. TTLs are not pulled: the server only tells when a key expires.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ..source.confine import inside
from ..source.walk import KV_FILE_NAMES
from .kvvalues import as_read, as_written, canonical, looks_secret, unwritable
from .pulling import PullFile, PullTarget


def split_secrets(values: dict, credentials: set[str]) -> tuple[dict, list[str]]:
    """The server's KV pairs as pull writes them: (values to write, keys whose value looks
    like a secret, or is the credential kestra-sync connects with: ``credentials``)."""
    held = sorted(k for k, v in values.items() if k in credentials or looks_secret(k, v))
    return {k: v for k, v in values.items() if k not in held}, held


def kv_file_path(target: PullTarget, namespace: str, declared: Path | None = None) -> Path:
    """The namespace's kv.yml: the file git declares its pairs in (``declared``: one
    elsewhere with `namespace:`, which a second file would contradict), else the kv.yml (or
    kv.yaml) in its folder."""
    if declared is not None:
        return declared
    folder = target.folder(namespace)
    path = next((folder / n for n in KV_FILE_NAMES if os.path.lexists(folder / n)), None)
    return path or folder / "kv.yml"


def refused_kv(
    values: dict, target: PullTarget, namespace: str, declared: Path | None = None
) -> list[str]:
    """Why pull may not write these values into the namespace's kv.yml (one line each)."""
    path = kv_file_path(target, namespace, declared)
    out = [
        f"KV key {key!r} of {namespace}: {why}"
        for key in sorted(values)
        if (why := unwritable(values[key]))
    ]
    if values and not inside(path, target.directory):
        out.append(f"{path}: a symbolic link on the way leads outside {target.directory}")
    return out


def kv_file(
    values: dict,
    target: PullTarget,
    namespace: str,
    credentials: set[str] | None = None,
    declared: Path | None = None,
) -> PullFile:
    """The namespace's kv.yml holding ``values`` (key -> value), the keys held on the server
    (``credentials`` among them) named under `sensitive:`; its notes say each key held."""
    values, held = split_secrets(dict(sorted(values.items())), credentials or set())
    count = len(values)
    path = kv_file_path(target, namespace, declared)
    listed = held
    if inside(path, target.directory):  # never read through a link leading out
        values, held, listed = _local_sensitive(path, values, held)
    # A file outside the namespace's folder says which namespace it holds, or it holds none.
    named = declared is not None and declared.parent != target.folder(namespace)
    text = _kv_text(namespace, values, listed, named).encode("utf-8")
    notes = [
        f"not pulled {namespace} KV {key}: its value looks like a secret (or {path.name} marks "
        f"it sensitive), so {path.name} lists the key under `sensitive:` without it (plans "
        "leave the server's value as it is, never shown)"
        for key in held
    ]
    same = _reads_as(values, listed)
    return PullFile(path, text, f"{namespace} KV", same, detail=f", {count} key(s)", notes=notes)


def _reads_as(values: dict, listed: list[str]):
    """Whether a kv.yml's bytes declare ``values`` with ``listed`` under `sensitive:`."""

    def same(raw: bytes) -> bool:
        try:
            data = yaml.safe_load(raw.decode("utf-8")) or {}
            current, sensitive = data.get("values") or {}, data.get("sensitive") or []
            shown = sorted(sensitive) if isinstance(sensitive, list) else sensitive
            return canonical({k: as_read(v) for k, v in current.items()}) == canonical(
                values
            ) and canonical(shown) == canonical(listed)
        except (yaml.YAMLError, AttributeError, UnicodeDecodeError, TypeError, ValueError):
            return False

    return same


def _local_sensitive(path: Path, values: dict, held: list[str]) -> tuple[dict, list[str], list]:
    """Keys the kv.yml already at ``path`` lists under `sensitive:` stay out of what pull
    writes, unless it declares the very value the server holds. Returns (values to write,
    keys held on the server, keys to list under `sensitive:`)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        data = None
    listed = data.get("sensitive") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        return values, held, held
    assert isinstance(data, dict)  # listed is a list: data is the mapping holding it
    found = data.get("values")
    local: dict = found if isinstance(found, dict) else {}
    declared = {
        k
        for k in listed
        if k in values and k in local and canonical(local[k]) == canonical(values[k])
    }
    more = {k for k in listed if isinstance(k, str) and k in values} - declared
    held = sorted(set(held) | more)
    return {k: v for k, v in values.items() if k not in more}, held, sorted(set(held) | declared)


def _kv_text(namespace: str, values: dict, listed: list[str], named: bool = False) -> str:
    text = f"# KV pairs of namespace {namespace}, pulled from the server by kestra-sync.\n"
    if named:
        text += yaml.safe_dump({"namespace": namespace})
    if listed:
        text += (
            "# The keys under `sensitive:` hold values that look like secrets: they were not\n"
            "# pulled, and plans leave them on the server as they are, never shown. To manage\n"
            "# one from git, add it under `values:` (better: a Kestra secret, read with\n"
            "# {{ secret('NAME') }}).\n"
        )
        text += yaml.safe_dump({"sensitive": listed}, sort_keys=False, allow_unicode=False)
    return text + kv_yaml(values)


def kv_yaml(values: dict) -> str:
    """``values:`` as YAML the scan reads back as the same values: readable UTF-8 where that
    holds, escapes where a character would not survive it (U+0085 is a line break to YAML)."""
    data = {"values": {k: as_written(v) for k, v in values.items()}}
    text = yaml.safe_dump(data, sort_keys=True, allow_unicode=True)
    back = (yaml.safe_load(text) or {}).get("values") or {}
    if canonical({k: as_read(v) for k, v in back.items()}) != canonical(values):
        text = yaml.safe_dump(data, sort_keys=True, allow_unicode=False)
    return text
