"""Find local flow files and read each one exactly as it is on disk.

- ``scan(directory_or_settings)`` reads every ``*.yml``/``*.yaml`` of a directory (sorted, so
  output is stable), skipping what the ignore file (``.kestraignore``, gitignore syntax)
  excludes; finding the files, symbolic links and what makes a scan incomplete is ``walk.py``.
- ``load_flow(path)`` reads bytes, decodes UTF-8 strictly and keeps the text byte for byte (no
  newline translation): Kestra stores the source as sent (docs/kestra-api.md), so what kestra-sync
  sends and compares must be exactly the file.

Nothing here raises for a bad file: every problem becomes a ``Diagnostic``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..models import (
    DEFAULT_TENANT,
    ERROR,
    PARSE_ON_USE,
    WARNING,
    Diagnostic,
    FlowParsedOnUse,
    LocalFlow,
)
from . import resultcache
from .ignorefile import IGNORE_FILE, IgnoreRules, LayeredRules
from .walk import (
    DASHBOARDS_DIR,
    KV_FILE_NAMES,
    TESTS_DIR,
    bad_name,
    is_files_dir,
    kv_overlay_env,
    not_regular,
    shown_path,
    shown_paths,
    undecodable,
    walk_flow_files,
)
from .yamlindex import ParsedYaml, parse_yaml


def is_flow_candidate(path: Path) -> bool:
    """A YAML file that is not a namespace file (under `_files`), a test suite (under `_tests`)
    nor a namespace's kv.yml (kestra_sync.kinds), nor an environment's overlay of either:
    pre-commit passes those too."""
    return (
        path.name not in KV_FILE_NAMES
        and kv_overlay_env(path.name) is None
        and not any(_not_flows(part) for part in path.parts[:-1])
    )


def _not_flows(folder: str) -> bool:
    """A folder whose YAML is never a flow: `_files` (and `_files.<env>`), `_tests`."""
    return is_files_dir(folder) or folder == TESTS_DIR


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
# reading one file


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
    path: Path, tenant: str, display: str | None, cache: resultcache.ResultCache | None = None
) -> tuple[LocalFlow | None, list[Diagnostic], ParsedYaml | None]:
    """Read, decode and parse one file; the ParsedYaml is None when ``cache`` knew the text
    (the flow is then a ``FlowParsedOnUse``) or it did not parse."""
    shown = display or shown_path(path)
    if undecodable(str(path)):
        return None, [bad_name(path)], None
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return None, [not_regular(shown, st.st_mode)], None
        if st.st_size > MAX_READ_BYTES:
            return None, [_too_large(shown, f"{st.st_size:,} bytes")], None
        raw = _read_regular(path)
        if raw is None:  # replaced by a FIFO or the like since the stat
            return None, [not_regular(shown, 0)], None
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
    parsed = None
    found = cache.known(text) if cache is not None else None
    if found is None:
        parsed = parse_yaml(text)
        found = resultcache.Parse.of(parsed)
        if cache is not None:
            cache.remember(text, found)
    for p in found.problems:
        diags.append(Diagnostic(shown, p.message, p.severity, p.line, p.column, p.code))
    if found.empty:
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
    if parsed is not None:
        flow.data = parsed.data
    elif found.has_data:  # parsed by an earlier run: parse again only if asked
        flow = FlowParsedOnUse(flow.path, text, PARSE_ON_USE, tenant=tenant)
        flow.labels = found.labels
    flow.id, flow.namespace = found.id, found.namespace
    return flow, diags, parsed


def _read_regular(path: Path) -> bytes | None:
    """The file's bytes, or None when it is not a regular file once open. O_NONBLOCK: opening
    a FIFO for reading would otherwise wait for a writer for ever."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        # Ask for the size the file has (plus one byte, to see it grew): a read of the
        # MAX_READ_BYTES limit would allocate that much for every file (5 times the read itself).
        chunks = []
        left = MAX_READ_BYTES + 1
        want = min(st.st_size + 1, left)
        while left > 0:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            want = min(1 << 20, left)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


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


def scan(
    source: Path | str | object = "flows",
    *,
    ignore_file: Path | str | None = None,
    tenant: str | None = None,
    paths: Iterable[Path | str] | None = None,
    cache: resultcache.ResultCache | None = None,
    dashboards_dir: str = DASHBOARDS_DIR,
) -> ScanResult:
    """Scan a flow directory (or a ``Settings``, using its directory and tenant).

    ``ignore_file`` defaults to ``<directory>/.kestraignore``. ``paths`` restricts the scan to
    these files (as pre-commit passes them); files under the directory still honour the ignore
    file, files outside it are taken as given. Parses come from ``resultcache`` when the text
    was parsed before; a ``cache`` given is left for the caller to save (``check_project``
    saves it once, after the checks).
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
    # The dashboards' folder at the top of the flow directory holds no flow (kinds/dashboards).
    ignore.rules += IgnoreRules.parse(f"/{dashboards_dir}/").rules
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
            if _in_files_dir(p, directory):
                continue  # namespace files (kinds/nsfiles.py), whatever the argument names
            if p.is_dir():
                part, walk_diags = _walk_given_directory(p, ignore, ignore_root)
                files.extend(part)
                result.diagnostics.extend(walk_diags)
                continue
            rel = _relative(p, ignore_root)
            if rel is not None and ignore.ignored_path(rel):
                continue
            if not is_flow_candidate(p):
                continue
            files.append(p)
    with collector_paused():
        own_cache = cache is None
        if cache is None:
            cache = resultcache.for_directory(directory)
        for path, shown in zip(files, shown_paths(files), strict=True):
            flow, diags, parsed = _load(path, tenant, shown, cache)
            result.diagnostics.extend(diags)
            if flow is not None:
                result.flows.append(flow)
                if parsed is not None:
                    result.parsed[str(flow.path)] = parsed
        cache.complete = cache.complete or paths is None
        if own_cache:
            cache.save()
    return result


def _in_files_dir(path: Path, directory: Path) -> bool:
    """Whether ``path`` is, or lies under, a ``_files`` (or ``_tests``) directory of the flow
    directory. Only the part below the flow directory counts (a checkout may itself sit under a
    folder named ``_files``); a path outside it is judged by the parts it was given with."""
    rel = _relative(path, directory)
    parts = rel.split("/") if rel is not None else list(path.parts)
    return any(_not_flows(part) for part in parts)


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
    return walk_flow_files(
        directory, LayeredRules([(rel + "/", ignore), ("", IgnoreRules.load(own))])
    )


@contextlib.contextmanager
def collector_paused():
    """Parsed flows are trees, without reference cycles: the cyclic garbage collector finds
    nothing in them, yet with thousands alive each of its full passes walks them all (2 of the
    5 s of scanning 10,000 flows). Reference counting still frees everything meanwhile; the
    collector resumes after the scan."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    caches: dict[str, resultcache.ResultCache] | None = None,
) -> tuple[ScanResult, list[Path]]:
    """Scan every flow directory of ``settings`` (one per tenant), or only ``paths``.

    Explicit paths are matched to the flow directory that holds them (which gives their tenant
    and ignore file). A file outside every flow directory is skipped and returned in the second
    element: pre-commit passes every staged ``*.yml`` (CI workflows, this tool's own config),
    and those are not flows. A directory given explicitly is always scanned.
    """
    dirs = settings.directories()  # type: ignore[attr-defined]
    dashboards = getattr(settings, "dashboards_dir", DASHBOARDS_DIR)
    caches = caches or {}
    result = ScanResult()
    skipped: list[Path] = []

    def merge(part: ScanResult) -> None:
        result.flows.extend(part.flows)
        result.diagnostics.extend(part.diagnostics)
        result.parsed.update(part.parsed)

    if paths is None:
        for tenant, directory in dirs.items():
            ignore = ignore_file or Path(directory) / IGNORE_FILE
            merge(
                scan(
                    directory,
                    ignore_file=ignore,
                    tenant=tenant,
                    cache=caches.get(tenant),
                    dashboards_dir=dashboards,
                )
            )
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
        merge(
            scan(
                directory,
                ignore_file=ignore,
                tenant=tenant,
                paths=files,
                cache=caches.get(tenant),
                dashboards_dir=dashboards,
            )
        )
    return result, skipped
