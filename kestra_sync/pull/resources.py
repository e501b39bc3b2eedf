"""`pull` for namespace files, KV pairs and flow test suites: write a namespace's files under
its `_files` directory (or the directory `namespace_files:` maps it to), byte for byte, its KV
pairs into its `kv.yml`, and its test suites (Enterprise) under its `_tests`, so a `plan` right after shows none of them as changed. As for flows, a local file whose bytes differ is kept unless ``overwrite``,
and nothing is ever written outside the target directory (a server path such as
``/../../x`` is refused).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..kinds.nsfiles import git_owned
from ..rules.validate import expected_layout_path
from ..source.walk import FILES_DIR, TESTS_DIR
from .flows import DIFFERS, SAME, inside, local_state, write_exact_or_stop


@dataclass
class FilesPullResult:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # server paths that leave the directory
    # server paths holding control characters: validate would refuse the file pull wrote
    unnamable: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # `.git*` names: the scan never reads them


def files_root(directory: Path, namespace: str, layout: str, mapping: dict[str, Path]) -> Path:
    """Where a namespace's files live locally: the configured mapping, else `_files` in the
    namespace's folder (the folder the layout rule gives its flows)."""
    if namespace in mapping:
        return Path(mapping[namespace])
    folder = Path(expected_layout_path(namespace, "x", layout)).parent
    return directory / folder / FILES_DIR


def tests_root(directory: Path, namespace: str, layout: str) -> Path:
    """Where a namespace's flow test suites live locally: `_tests` in its folder."""
    folder = Path(expected_layout_path(namespace, "x", layout)).parent
    return directory / folder / TESTS_DIR


def suites_as_files(suites: list[dict]) -> dict[str, bytes]:
    """A namespace's suites as the files pull writes under `_tests`: `/<id>.yml`, the source
    byte for byte (the scan compares that text)."""
    return {f"/{s['id']}.yml": s["source"].encode("utf-8") for s in suites}


def refused_files(files: dict[str, bytes], root: Path, confine: Path | None = None) -> list[str]:
    """The server paths pull may not write under ``root``. ``confine``: the directory nothing
    may be written outside of, links resolved (the flow directory; by default ``root``).
    Checked twice: the path as written must stay in ``root`` (no ``..``), and with every link
    resolved it must stay in ``confine`` (no link out of the flow directory)."""
    home = os.path.normpath(root)
    base = (confine or root).resolve()
    refused = []
    for remote_path in sorted(files):
        if git_owned(remote_path):
            continue  # not written at all
        target = root / remote_path.lstrip("/")
        lexical = os.path.normpath(target)
        if not lexical.startswith(home + os.sep) or base not in target.resolve().parents:
            refused.append(remote_path)
    return refused


def write_namespace_files(
    files: dict[str, bytes], root: Path, *, overwrite: bool = False, confine: Path | None = None
) -> FilesPullResult:
    """Write ``files`` under ``root`` (see ``refused_files`` for ``confine``; the command
    checks every namespace with it before writing anything)."""
    result = FilesPullResult()
    refused = set(refused_files(files, root, confine))
    from ..report.escape import control_characters

    for remote_path, content in sorted(files.items()):
        if control_characters(remote_path):
            result.unnamable.append(remote_path)
            continue
        if git_owned(remote_path):
            # Never deployed from git, so not written there either: a pulled `.gitignore`
            # would change what git keeps. The plan keeps the server's copy.
            result.skipped.append(remote_path)
            continue
        target = root / remote_path.lstrip("/")
        if remote_path in refused:
            result.refused.append(remote_path)
            continue
        state = local_state(target, content.__eq__)
        if state == SAME:
            result.unchanged.append(target)
            continue
        if state == DIFFERS and not overwrite:
            result.conflicts.append(target)
            continue
        write_exact_or_stop(target, content, result.written)
    return result


def split_secrets(values: dict) -> tuple[dict, list[str]]:
    """The server's KV pairs as pull writes them: (values to write, keys whose value looks
    like a secret). Those are never written: kv.yml lists them under `sensitive:`, which
    leaves the server's value as it is and keeps it out of every report."""
    from ..kinds.kv import looks_secret

    held = sorted(k for k, v in values.items() if looks_secret(k, v))
    return {k: v for k, v in values.items() if k not in held}, held


def _local_sensitive(path: Path, values: dict, held: list[str]) -> tuple[dict, list[str], list]:
    """Keys the kv.yml already at ``path`` lists under `sensitive:` stay out of what pull
    writes, unless it declares the very value the server holds. Returns (values to write,
    keys held on the server, keys to list under `sensitive:`)."""
    import yaml

    from ..kinds.kv import canonical

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


def _kv_text(namespace: str, values: dict, listed: list[str]) -> str:
    import yaml

    text = f"# KV pairs of namespace {namespace}, pulled from the server by kestra-sync.\n"
    if listed:
        text += (
            "# The keys under `sensitive:` hold values that look like secrets: they were not\n"
            "# pulled, and plans leave them on the server as they are, never shown. To manage\n"
            "# one from git, add it under `values:` (better: a Kestra secret, read with\n"
            "# {{ secret('NAME') }}).\n"
        )
        text += yaml.safe_dump({"sensitive": listed}, sort_keys=False, allow_unicode=False)
    return text + kv_yaml(values)


def kv_file_path(directory: Path, namespace: str, layout: str) -> Path:
    """The namespace's kv.yml (or the kv.yaml already there)."""
    from ..source.walk import KV_FILE_NAMES

    folder = directory / Path(expected_layout_path(namespace, "x", layout)).parent
    path = next((folder / n for n in KV_FILE_NAMES if os.path.lexists(folder / n)), None)
    return path or folder / "kv.yml"


def refused_kv(values: dict, directory: Path, namespace: str, layout: str) -> list[str]:
    """Why pull may not write these values into the namespace's kv.yml (one line each)."""
    from ..kinds.kv import unwritable

    path = kv_file_path(directory, namespace, layout)
    out = [
        f"KV key {key!r} of {namespace}: {why}"
        for key in sorted(values)
        if (why := unwritable(values[key]))
    ]
    if values and not inside(path, directory):
        out.append(f"{path}: a symbolic link on the way leads outside {directory}")
    return out


def write_kv_file(
    values: dict,
    directory: Path,
    namespace: str,
    layout: str,
    *,
    overwrite: bool,
    held: list[str] | None = None,
):
    """Write ``values`` (key -> value) as the namespace's kv.yml (or the kv.yaml already
    there), each in the form the scan reads back as that value, with ``held`` (keys whose
    value stays on the server) under `sensitive:`. Returns (path, status) with status
    "written", "unchanged", "conflict" (anything else stands there: other values, a FIFO; kept
    unless ``overwrite``) or "refused" (a link on the way leads out of ``directory``). TTLs are
    not pulled: the server only tells when a key expires."""
    import yaml

    from ..kinds.kv import as_read, canonical

    held = [] if held is None else held  # extended in place: the caller reports each key held
    values = dict(sorted(values.items()))
    path = kv_file_path(directory, namespace, layout)
    if not inside(path, directory):
        return path, "refused"
    values, held[:], listed = _local_sensitive(path, values, held)

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

    state = local_state(path, same)
    if state == SAME:
        return path, "unchanged"
    if state == DIFFERS and not overwrite:
        return path, "conflict"
    write_exact_or_stop(path, _kv_text(namespace, values, listed).encode("utf-8"), [])
    return path, "written"


def kv_yaml(values: dict) -> str:
    """``values:`` as YAML the scan reads back as the same values: readable UTF-8 where that
    holds, escapes where a character would not survive it (U+0085 is a line break to YAML)."""
    import yaml

    from ..kinds.kv import as_read, as_written, canonical

    data = {"values": {k: as_written(v) for k, v in values.items()}}
    text = yaml.safe_dump(data, sort_keys=True, allow_unicode=True)
    back = (yaml.safe_load(text) or {}).get("values") or {}
    if canonical({k: as_read(v) for k, v in back.items()}) != canonical(values):
        text = yaml.safe_dump(data, sort_keys=True, allow_unicode=False)
    return text
