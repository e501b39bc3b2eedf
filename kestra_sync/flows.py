"""Find local flow files and read each one exactly as it is on disk.

- ``scan(directory_or_settings)`` walks a directory for ``*.yml``/``*.yaml`` (sorted, so output is
  stable), skipping what the ignore file (``.kestraignore``, gitignore syntax) excludes.
- ``load_flow(path)`` reads bytes, decodes UTF-8 strictly and keeps the text byte for byte (no
  newline translation): Kestra stores the source as sent (api-facts.md §7), so what kestra-sync
  sends and compares must be exactly the file.

Nothing here raises for a bad file: every problem becomes a ``Diagnostic``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .models import DEFAULT_TENANT, ERROR, WARNING, Diagnostic, LocalFlow
from .yamlindex import ParsedYaml, parse_yaml

FLOW_SUFFIXES = (".yml", ".yaml")
IGNORE_FILE = ".kestraignore"
# Kestra's YAML reader (SnakeYAML LoaderOptions, used by Jackson's YAMLFactory with
# `new LoaderOptions()` in kestra JacksonMapper.ofYaml) refuses documents longer than
# codePointLimit = 3 * 1024 * 1024 code points: "The incoming YAML document exceeds the limit".
MAX_CODE_POINTS = 3 * 1024 * 1024
# Do not even read files bigger than this (bytes): no flow can be valid at that size.
MAX_READ_BYTES = 4 * MAX_CODE_POINTS + 1


@dataclass
class ScanResult:
    flows: list[LocalFlow] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Parse results by path (line index for later checks); not part of the stable API.
    parsed: dict[str, ParsedYaml] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


# ---------------------------------------------------------------------------------------------
# ignore file (gitignore syntax, the subset people use)


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
            return cls.parse(path.read_text(encoding="utf-8"), shown_path(path))
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


# ---------------------------------------------------------------------------------------------
# reading one file


def _display(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _scalar_text(parsed: ParsedYaml, key: str) -> str | None:
    """The value of a top-level scalar key as Kestra would bind it to a String field.

    Jackson coerces a YAML scalar to the text written (``id: 123`` is the id "123"), so the raw
    scalar text is used rather than PyYAML's int/bool; null (``~``, empty) is missing.
    """
    return parsed.text_of(parsed.data, key)


def decode_source(raw: bytes, path: str) -> tuple[str | None, list[Diagnostic]]:
    """Decode UTF-8 strictly. A BOM is kept in the text (it is part of the source) with a warning."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        return None, [
            Diagnostic(
                path,
                f"the file is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                "Kestra reads flows as UTF-8: re-save the file as UTF-8",
                ERROR,
                line,
                column,
                "not-utf8",
            )
        ]
    diags = []
    if text.startswith("\ufeff"):
        diags.append(
            Diagnostic(
                path,
                "the file starts with a UTF-8 byte order mark, which would be stored as part of "
                "the flow source on the server; save the file as UTF-8 without BOM",
                WARNING,
                1,
                1,
                "bom",
            )
        )
    return text, diags


def load_flow(
    path: Path | str, tenant: str = DEFAULT_TENANT, *, display: str | None = None
) -> tuple[LocalFlow | None, list[Diagnostic]]:
    """Read and parse one flow file. Returns (flow or None, diagnostics).

    The flow is returned whenever the file could be read and decoded, even when it does not
    parse (``data`` is then None), so callers still have its exact source.
    """
    flow, diags, _ = _load(Path(path), tenant, display)
    return flow, diags


def _load(
    path: Path, tenant: str, display: str | None
) -> tuple[LocalFlow | None, list[Diagnostic], ParsedYaml | None]:
    shown = display or shown_path(path)
    if _undecodable(str(path)):
        return None, [_bad_name(path)], None
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return None, [_not_regular(shown, st.st_mode)], None
        if st.st_size > MAX_READ_BYTES:
            return None, [_too_large(shown, f"{st.st_size:,} bytes")], None
        raw = _read_regular(path)
        if raw is None:  # replaced by a FIFO or the like since the stat
            return None, [_not_regular(shown, 0)], None
    except OSError as e:
        return (
            None,
            [Diagnostic(shown, f"cannot read the file: {e.strerror}", code="read-error")],
            None,
        )
    text, diags = decode_source(raw, shown)
    if text is None:
        return None, diags, None
    flow = LocalFlow(path=Path(shown), source=text, tenant=tenant)
    if not text.strip():
        diags.append(
            Diagnostic(
                shown,
                "the file is empty; a flow needs at least id, namespace and tasks "
                "(delete the file or write the flow)",
                ERROR,
                1,
                1,
                "empty",
            )
        )
        return flow, diags, None
    if len(text) > MAX_CODE_POINTS:
        diags.append(_too_large(shown, f"{len(text):,} characters"))
        return flow, diags, None
    parsed = parse_yaml(text)
    for p in parsed.problems:
        diags.append(Diagnostic(shown, p.message, p.severity, p.line, p.column, p.code))
    if parsed.empty:
        diags.append(
            Diagnostic(
                shown,
                "the file holds no YAML document (only comments or blank lines); "
                "a flow needs at least id, namespace and tasks",
                ERROR,
                1,
                1,
                "empty",
            )
        )
    flow.data = parsed.data
    if isinstance(parsed.data, dict):
        flow.id = _scalar_text(parsed, "id")
        flow.namespace = _scalar_text(parsed, "namespace")
    return flow, diags, parsed


def _read_regular(path: Path) -> bytes | None:
    """The file's bytes, or None when it is not a regular file once open. O_NONBLOCK: opening
    a FIFO for reading would otherwise wait for a writer for ever."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(MAX_READ_BYTES + 1)


def _too_large(path: str, size: str) -> Diagnostic:
    return Diagnostic(
        path,
        f"the file is too large ({size}); Kestra's YAML parser refuses documents over "
        f"{MAX_CODE_POINTS:,} characters: split the flow (e.g. into subflows) or move data "
        "to namespace files",
        ERROR,
        1,
        1,
        "too-large",
    )


# ---------------------------------------------------------------------------------------------
# scanning


def walk_flow_files(
    directory: Path, ignore: IgnoreRules | _Layered | None = None
) -> tuple[list[Path], list[Diagnostic]]:
    """All ``*.yml``/``*.yaml`` under ``directory`` (sorted), and what kept the scan from being
    complete.

    A scan feeds ``apply --delete``: a flow the scan did not see is a flow that gets deleted. So
    everything that could hide a flow is an ERROR naming it (plan and apply refuse to run):
    a directory or link that cannot be read, a broken link, a link that leaves the flow
    directory, a name that is not UTF-8. Links inside the flow directory are followed; a
    directory reached twice (a loop, or two links to one place) is read once, with a warning.
    Non-regular files named ``*.yml`` (a FIFO, a socket, a device) are never opened: reading
    a FIFO blocks for ever, and none of them can be a file in git. Hidden directories
    (``.git``) and what the ignore rules exclude (paths relative to ``directory``) are skipped.
    """
    ignore = ignore or IgnoreRules()
    root_real = os.path.realpath(directory)
    found: list[Path] = []
    diags: list[Diagnostic] = []
    seen: dict[object, Path] = {}
    stack: list[tuple[Path, str]] = [(Path(directory), "")]
    while stack:
        dir_path, rel = stack.pop()
        try:
            st = os.stat(dir_path)
            key: object = (st.st_dev, st.st_ino) if st.st_ino else os.path.realpath(dir_path)
            if key in seen:
                diags.append(_already_scanned(dir_path, seen[key]))
                continue
            seen[key] = dir_path
            with os.scandir(dir_path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            diags.append(_unreadable(dir_path, "directory", err))
            continue
        subdirs = []
        for entry in entries:
            path = dir_path / entry.name
            rel_name = rel + entry.name
            is_flow_name = entry.name.endswith(FLOW_SUFFIXES)
            if ignore.ignored(rel_name, is_dir=True) and ignore.ignored(rel_name):
                continue  # a pattern that matches both forms (`*.tmp`, `drafts`)
            try:
                is_link = entry.is_symlink()
                mode = os.stat(path).st_mode  # follows links; ELOOP/ENOENT for broken ones
            except OSError as err:
                if entry.name.startswith(".") and not is_flow_name:
                    continue  # a hidden name: skipped whatever it is
                if ignore.ignored(rel_name, is_dir=True) or ignore.ignored(rel_name):
                    continue
                diags.append(_broken_link(path, err) if is_link else _unreadable(path, "file", err))
                continue
            is_dir = stat.S_ISDIR(mode)
            if is_dir and (entry.name.startswith(".") or ignore.ignored(rel_name, is_dir=True)):
                continue
            if not is_dir and (not is_flow_name or ignore.ignored(rel_name)):
                continue
            if _undecodable(entry.name):
                diags.append(_bad_name(path))
                continue
            if is_link and not _within(os.path.realpath(path), root_real):
                diags.append(_outside_link(path, directory))
                continue
            if is_dir:
                subdirs.append((path, rel + entry.name + "/"))
            elif stat.S_ISREG(mode):
                found.append(path)
            else:
                diags.append(_not_regular(_display(path), mode))
        stack.extend(reversed(subdirs))
    return sorted(found), diags


def iter_flow_files(directory: Path, ignore: IgnoreRules | None = None) -> list[Path]:
    """The flow files of ``directory``; raises InputError when the scan was not complete."""
    files, diags = walk_flow_files(directory, ignore)
    errors = [d for d in diags if d.is_error]
    if errors:
        raise InputError(f"{errors[0].path}: {errors[0].message}")
    return files


def _within(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # another drive on Windows
        return False


def _undecodable(name: str) -> bool:
    """A name that is not valid UTF-8 on disk (Python keeps its bytes as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def shown_path(path: Path | str) -> str:
    """A path safe to print and to put in JSON: bytes that are not UTF-8 become ``\\xNN``."""
    text = _display(Path(path))
    return os.fsencode(text).decode("utf-8", "backslashreplace") if _undecodable(text) else text


def _bad_name(path: Path) -> Diagnostic:
    return Diagnostic(
        shown_path(path),
        "the name is not valid UTF-8, so its flows cannot be read or sent (Kestra and git "
        "tooling expect UTF-8 names): rename it",
        ERROR,
        code="bad-file-name",
    )


def _unreadable(path: Path, what: str, err: OSError) -> Diagnostic:
    return Diagnostic(
        shown_path(path),
        f"cannot read this {what} ({err.strerror}), so the flows in it are unknown and nothing "
        "can be planned or deleted safely: fix its permissions, or add it to .kestraignore",
        ERROR,
        code="unreadable",
    )


def _broken_link(path: Path, err: OSError) -> Diagnostic:
    target = os.readlink(path) if os.path.islink(path) else "?"
    return Diagnostic(
        shown_path(path),
        f"broken symbolic link to {target} ({err.strerror}): it may have held flows, so the "
        "scan is incomplete; fix or remove the link, or add it to .kestraignore",
        ERROR,
        code="broken-link",
    )


def _outside_link(path: Path, directory: Path) -> Diagnostic:
    return Diagnostic(
        shown_path(path),
        f"symbolic link to {shown_path(os.path.realpath(path))}, outside the flow directory "
        f"{shown_path(directory)}: kestra-sync only deploys what the flow directory holds; "
        "move the files inside it, or add the link to .kestraignore",
        ERROR,
        code="link-outside",
    )


def _already_scanned(path: Path, first: Path) -> Diagnostic:
    return Diagnostic(
        shown_path(path),
        f"this directory was already read as {shown_path(first)} (a symbolic link loop or a "
        "second link to it): its flows are read once",
        WARNING,
        code="already-scanned",
    )


def _not_regular(shown: str, mode: int) -> Diagnostic:
    kind = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a special file"
    )
    return Diagnostic(
        shown,
        f"skipped: this is {kind}, not a regular file (it was not opened; a flow is a file)",
        WARNING,
        code="not-a-file",
    )


def scan(
    source: Path | str | object = "flows",
    *,
    ignore_file: Path | str | None = None,
    tenant: str | None = None,
    paths: Iterable[Path | str] | None = None,
) -> ScanResult:
    """Scan a flow directory (or a ``Settings``, using its directory and tenant).

    ``ignore_file`` defaults to ``<directory>/.kestraignore``. ``paths`` restricts the scan to
    these files (as pre-commit passes them); files under the directory still honour the ignore
    file, files outside it are taken as given.
    """
    settings = None
    if hasattr(source, "directories"):
        settings = source
        directory = Path(settings.directory)  # type: ignore[attr-defined]
        tenant = tenant or settings.tenant  # type: ignore[attr-defined]
    else:
        directory = Path(source)  # type: ignore[arg-type]
    tenant = tenant or DEFAULT_TENANT
    ignore_path = Path(ignore_file) if ignore_file else directory / IGNORE_FILE
    ignore = IgnoreRules.load(ignore_path)
    ignore_root = ignore_path.parent

    result = ScanResult()
    if paths is None:
        if not directory.is_dir():
            raise InputError(
                f"{directory}: flow directory not found",
                hint="create it, or set 'directory' in kestra-sync.yml, or name the directory "
                "on the command line",
            )
        files, walk_diags = walk_flow_files(directory, ignore)
        result.diagnostics.extend(walk_diags)
    else:
        files = []
        for p in paths:
            p = Path(p)
            if p.is_dir():
                part, walk_diags = _walk_given_directory(p, ignore, ignore_root)
                files.extend(part)
                result.diagnostics.extend(walk_diags)
                continue
            rel = _relative(p, ignore_root)
            if rel is not None and ignore.ignored_path(rel):
                continue
            files.append(p)
    for path in files:
        flow, diags, parsed = _load(path, tenant, None)
        result.diagnostics.extend(diags)
        if flow is not None:
            result.flows.append(flow)
            if parsed is not None:
                result.parsed[str(flow.path)] = parsed
    return result


def _walk_given_directory(
    directory: Path, ignore: IgnoreRules, ignore_root: Path
) -> tuple[list[Path], list[Diagnostic]]:
    """A directory named on the command line is read by the rule `plan DIR` uses for its
    flow directory: its own ``.kestraignore`` applies. When it lies inside the flow directory,
    the flow directory's ignore file applies too, matched from there (as gitignore does)."""
    own = directory / IGNORE_FILE
    rel = _relative(directory, ignore_root)
    if rel is None or rel == ".":
        rules = ignore if rel == "." else IgnoreRules.load(own)
        return walk_flow_files(directory, rules)
    parts = rel.split("/")
    if any(ignore.ignored("/".join(parts[:i]), is_dir=True) for i in range(1, len(parts) + 1)):
        return [], []  # the directory itself, or one above it, is ignored
    return walk_flow_files(directory, _Layered([(rel + "/", ignore), ("", IgnoreRules.load(own))]))


@dataclass
class _Layered:
    """Several ignore files, each matched from its own directory: ignored if any says so."""

    layers: list[tuple[str, IgnoreRules]]

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        return any(rules.ignored(prefix + rel, is_dir) for prefix, rules in self.layers)


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _inside(path: Path, root: Path) -> bool:
    return _relative(path, root) is not None


def scan_settings(
    settings: object,
    paths: Iterable[Path | str] | None = None,
    *,
    ignore_file: Path | str | None = None,
) -> tuple[ScanResult, list[Path]]:
    """Scan every flow directory of ``settings`` (one per tenant), or only ``paths``.

    Explicit paths are matched to the flow directory that holds them (which gives their tenant
    and ignore file). A file outside every flow directory is skipped and returned in the second
    element: pre-commit passes every staged ``*.yml`` (CI workflows, this tool's own config),
    and those are not flows. A directory given explicitly is always scanned.
    """
    dirs = settings.directories()  # type: ignore[attr-defined]
    result = ScanResult()
    skipped: list[Path] = []

    def merge(part: ScanResult) -> None:
        result.flows.extend(part.flows)
        result.diagnostics.extend(part.diagnostics)
        result.parsed.update(part.parsed)

    if paths is None:
        for tenant, directory in dirs.items():
            ignore = ignore_file or Path(directory) / IGNORE_FILE
            merge(scan(directory, ignore_file=ignore, tenant=tenant))
        return result, skipped
    by_tenant: dict[str, list[Path]] = {}
    default_tenant = settings.tenant  # type: ignore[attr-defined]
    for p in map(Path, paths):
        if not p.exists():
            # A mistyped path must not pass as "0 files checked, no problems".
            result.diagnostics.append(
                Diagnostic(str(p), "file not found: check the path", code="not-found")
            )
            continue
        owner = next((t for t, d in dirs.items() if _inside(p, Path(d))), None)
        if owner is None and not p.is_dir():
            skipped.append(p)
            continue
        by_tenant.setdefault(owner or default_tenant, []).append(p)
    for tenant, files in by_tenant.items():
        directory = Path(dirs.get(tenant, "."))
        ignore = ignore_file or directory / IGNORE_FILE
        merge(scan(directory, ignore_file=ignore, tenant=tenant, paths=files))
    return result, skipped
