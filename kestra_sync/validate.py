"""Offline validation of local flows: the flow rules, whole-directory checks, and the project
entry point. Returns diagnostics; never raises for a bad flow. JSON schemas are checked by
``schemacheck``, the server's validate endpoint by ``servercheck`` (names re-exported here).

Patterns, reserved words and every rule that differs between Kestra versions are data in
``knowledge`` (checked by ``flowrules``, judged for the target version in ``check_versioned``);
this module holds none of its own.

What every supported version accepts (kestra develop 8ecd8337, 2026-07-01; api-facts.md §5, §6):
- id ``^[a-zA-Z0-9][a-zA-Z0-9._-]*`` 1..100 chars; namespace ``^[a-z0-9][a-z0-9._-]*`` 1..150
  chars (AbstractFlow bean validation; ``@Pattern`` matches the whole string); ``tasks`` not empty.
- Duplicate YAML keys are an ERROR: create/update parse the body with
  ``YamlParser.parse`` -> ``STRICT_MAPPER.readValue`` whose mapper enables
  ``JsonParser.Feature.STRICT_DUPLICATE_DETECTION`` (core/.../serializers/YamlParser.java), and
  kestra's own test ``YamlParserTest.duplicateKey`` expects "Duplicate field 'message'". (The
  server's ``/validate`` endpoint reads the source through PluginDefaultService's mapper without
  that feature, so it may call such a flow valid; create/update still reject it.)
  python-anchors.md §D.1 ("SnakeYAML allowDuplicateKeys, last wins") describes YamlParser at
  kestra commit 01618264, which is the unmerged PR kestra-io/kestra#17343 (SnakeYAML load
  before Jackson, for anchors); it is not in develop as of 2026-07-01.
- Aliases are not expanded: Jackson's YAMLParser turns ``*x`` into the string "x"
  (kestra-io/kestra#16315, open): a warning on each alias.
- Size: SnakeYAML ``LoaderOptions.codePointLimit`` (3 MiB) applies (flows.MAX_CODE_POINTS).
- FlowValidator: duplicate task ids across all tasks with children ("Duplicate task id with name
  [...]"), duplicate trigger ids, duplicate input ids, and ``system.`` labels other than
  ``system.readOnly`` are violations.
- Unknown top-level keys fail (STRICT_MAPPER has FAIL_ON_UNKNOWN_PROPERTIES).
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import flowrules, resultcache
from . import knowledge as K
from .guidance import collapse_non_flows
from .models import Diagnostic, FlowParsedOnUse, LocalFlow
from .models import diag_at as _diag
from .resultcache import ResultCache
from .schemacheck import (  # noqa: F401 - re-exported: the validate API of earlier releases
    BUNDLED_SCHEMA,
    check_schema,
    load_schema,
    resolve_schema,
    schema_cache_dir,
)
from .servercheck import validate_server  # noqa: F401 - re-exported
from .yamlindex import ParsedYaml, format_path, parse_yaml

# Patterns and limits are Kestra facts: they live in knowledge.py, shared with the emulator.
ID_RE = re.compile(K.FLOW_ID_PATTERN[1:])
NAMESPACE_RE = re.compile(K.NAMESPACE_PATTERN[1:])
TASK_ID_RE = re.compile(K.TASK_ID_PATTERN[1:])
INPUT_ID_RE = re.compile(K.INPUT_ID_PATTERN[1:])
OUTPUT_ID_RE = re.compile(K.OUTPUT_ID_PATTERN[1:])
ID_MAX = K.FLOW_ID_MAX
NAMESPACE_MAX = K.NAMESPACE_MAX
TASK_LISTS = K.TASK_LISTS
LAYOUTS = ("none", "nested", "dotted")

# ---------------------------------------------------------------------------------------------
# per-flow checks


def check_flow(flow: LocalFlow, parsed: ParsedYaml | None = None) -> list[Diagnostic]:
    """The checks that need only this one flow (parse problems are reported by load_flow)."""
    data = flow.data
    if data is None:
        return []
    if parsed is None:
        parsed = parse_yaml(flow.source)
        flow = dataclasses.replace(flow, data=parsed.data)
        data = flow.data
    out: list[Diagnostic] = []
    if not isinstance(data, dict):
        kind = type(data).__name__
        kind = {
            "list": "a list",
            "str": "a string",
            "int": "a number",
            "float": "a number",
            "bool": "a boolean",
        }.get(kind, kind)
        return [
            _diag(
                flow,
                parsed,
                (),
                "not-mapping",
                f"the document is {kind}, not a mapping: a flow is a mapping with id, "
                "namespace and tasks at the top level",
            )
        ]

    for key, regex, maxlen, what in (
        ("id", ID_RE, ID_MAX, "letters, digits, '.', '_' or '-', starting with a letter or digit"),
        (
            "namespace",
            NAMESPACE_RE,
            NAMESPACE_MAX,
            "lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        ),
    ):
        value = flow.id if key == "id" else flow.namespace
        if key not in data or (data[key] is None and value is None):
            out.append(
                _diag(
                    flow,
                    parsed,
                    (),
                    f"missing-{key}",
                    f"required key '{key}' is missing: add '{key}: ...' at the top level",
                )
            )
            continue
        if value is None:
            out.append(
                _diag(
                    flow,
                    parsed,
                    (key,),
                    f"invalid-{key}",
                    f"'{key}' must be a plain value, not a {type(data[key]).__name__}",
                )
            )
            continue
        if not value.strip():
            out.append(_diag(flow, parsed, (key,), f"invalid-{key}", f"'{key}' must not be blank"))
            continue
        if not regex.fullmatch(value):
            out.append(
                _diag(
                    flow,
                    parsed,
                    (key,),
                    f"invalid-{key}",
                    f"{key} {value!r} is not allowed: use only {what} "
                    f'(Kestra requires "^{regex.pattern}")',
                )
            )
        if len(value) > maxlen:
            out.append(
                _diag(
                    flow,
                    parsed,
                    (key,),
                    f"{key}-too-long",
                    f"{key} is {len(value)} characters long; Kestra allows at most "
                    f"{maxlen}: shorten it",
                )
            )

    tasks = data.get("tasks")
    if "tasks" not in data or tasks is None:
        out.append(
            _diag(
                flow,
                parsed,
                ("tasks",) if "tasks" in data else (),
                "missing-tasks",
                "required key 'tasks' is missing: add a 'tasks:' list with at least one task",
            )
        )
    elif isinstance(tasks, list) and not tasks:
        out.append(
            _diag(
                flow,
                parsed,
                ("tasks",),
                "empty-tasks",
                "'tasks' is empty: a flow needs at least one task",
            )
        )

    out.extend(_check_tasks(flow, parsed, data))
    out.extend(_check_ids(flow, parsed, data, "triggers", "trigger"))
    out.extend(
        _check_ids(
            flow,
            parsed,
            data,
            "inputs",
            "input",
            need_type=False,
            pattern=INPUT_ID_RE,
            id_keys=("id", "name"),
        )
    )
    out.extend(
        _check_ids(flow, parsed, data, "outputs", "output", need_type=False, pattern=OUTPUT_ID_RE)
    )
    out.extend(_check_labels(flow, parsed, data))
    return out


def _scalar_text(parsed: ParsedYaml, mapping: Any, key: str) -> Any:
    """The text Kestra binds for a scalar (Jackson coerces scalars to their written text, so
    ``id: 0755`` is "0755", not YAML 1.1's octal 493)."""
    text = parsed.text_of(mapping, key)
    return text if text is not None else mapping.get(key)


def _iter_tasks(data: dict) -> Iterable[tuple[tuple, dict]]:
    """Every task mapping of the flow with its path, children included (allTasksWithChilds)."""
    return flowrules.iter_tasks(data)


def _check_tasks(flow: LocalFlow, parsed: ParsedYaml, data: dict) -> list[Diagnostic]:
    out = []
    for key in TASK_LISTS:
        items = data.get(key)
        if isinstance(items, list):
            for i, task in enumerate(items):
                if not isinstance(task, dict):
                    out.append(
                        _diag(
                            flow,
                            parsed,
                            (key, i),
                            "invalid-task",
                            f"{format_path((key, i))} must be a mapping with id and type",
                        )
                    )
    first: dict[str, tuple] = {}
    for path, task in _iter_tasks(data):
        where = format_path(path)
        if task.get("type") in (None, ""):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path,
                    "missing-type",
                    f"task {where} has no 'type': add the plugin type, e.g. "
                    "'type: io.kestra.plugin.core.log.Log'",
                )
            )
        tid = _scalar_text(parsed, task, "id")
        if tid in (None, ""):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path,
                    "missing-task-id",
                    f"task {where} has no 'id': give every task a unique id",
                )
            )
            continue
        tid = str(tid)
        if not TASK_ID_RE.fullmatch(tid):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path + ("id",),
                    "invalid-task-id",
                    f"task id {tid!r} is not allowed: use only letters, digits, '_' or '-', "
                    f'no dot (Kestra requires "{K.TASK_ID_PATTERN}")',
                )
            )
        if tid in first:
            line, _ = parsed.position(first[tid] + ("id",))
            out.append(
                _diag(
                    flow,
                    parsed,
                    path + ("id",),
                    "duplicate-task-id",
                    f"task id '{tid}' is already used at line {line}: task ids must be "
                    "unique within the flow (tasks, errors and finally included); "
                    "rename one",
                )
            )
        else:
            first[tid] = path
    return out


def _check_ids(
    flow: LocalFlow,
    parsed: ParsedYaml,
    data: dict,
    key: str,
    what: str,
    need_type: bool = True,
    pattern: re.Pattern = TASK_ID_RE,
    id_keys: tuple[str, ...] = ("id",),
) -> list[Diagnostic]:
    items = data.get(key)
    if not isinstance(items, list):
        return []
    out = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        path = (key, i)
        if not isinstance(item, dict):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path,
                    f"invalid-{what}",
                    f"{format_path(path)} must be a mapping with id and type",
                )
            )
            continue
        if need_type and item.get("type") in (None, ""):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path,
                    "missing-type",
                    f"{what} {format_path(path)} has no 'type': add the plugin type, "
                    "e.g. 'type: io.kestra.plugin.core.trigger.Schedule'",
                )
            )
        # An input may be written `name:` up to Kestra 1.3 (Input.setName copies it into id);
        # flowrules reports that per version.
        id_key = next((k for k in id_keys if item.get(k) not in (None, "")), "id")
        ident = _scalar_text(parsed, item, id_key)
        if ident in (None, ""):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path,
                    f"missing-{what}-id",
                    f"{what} {format_path(path)} has no 'id': add one",
                )
            )
            continue
        ident = str(ident)
        if not pattern.fullmatch(ident):
            allowed = (
                "letters, digits, '.', '_' or '-'"
                if "." in pattern.pattern
                else ("letters, digits, '_' or '-', no dot")
            )
            out.append(
                _diag(
                    flow,
                    parsed,
                    path + (id_key,),
                    f"invalid-{what}-id",
                    f"{what} id {ident!r} is not allowed: use only {allowed}, starting with a "
                    f'letter or digit (Kestra requires "^{pattern.pattern}")',
                )
            )
        if ident in first:
            line, _ = parsed.position((key, first[ident], id_key))
            out.append(
                _diag(
                    flow,
                    parsed,
                    path + (id_key,),
                    f"duplicate-{what}-id",
                    f"{what} id '{ident}' is already used at line {line}: "
                    f"{what} ids must be unique within the flow; rename one",
                )
            )
        else:
            first[ident] = i
    return out


def _check_labels(flow: LocalFlow, parsed: ParsedYaml, data: dict) -> list[Diagnostic]:
    labels = data.get("labels")
    keys: list[tuple[tuple, Any]] = []
    if isinstance(labels, dict):
        keys = [(("labels", k), k) for k in labels]
    elif isinstance(labels, list):
        keys = [
            (("labels", i), lab.get("key")) for i, lab in enumerate(labels) if isinstance(lab, dict)
        ]
    out = []
    for path, key in keys:
        if (
            isinstance(key, str)
            and key.startswith(K.SYSTEM_LABEL_PREFIX)
            and key not in K.SYSTEM_LABEL_ALLOWED
        ):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path,
                    "system-label",
                    f"label '{key}': labels starting with 'system.' are set by Kestra "
                    "itself (only system.readOnly may be set in a flow); rename it",
                    key=isinstance(labels, dict),
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# whole-directory checks


def check_duplicates(
    flows: Sequence[LocalFlow], parsed: dict[str, ParsedYaml] | None = None
) -> list[Diagnostic]:
    """The same tenant/namespace/id in two files: the second would overwrite the first."""
    by_ref: dict[Any, list[LocalFlow]] = defaultdict(list)
    for flow in flows:
        if flow.ref is not None:  # set only from a mapping's id and namespace
            by_ref[flow.ref].append(flow)
    out = []
    for ref, group in by_ref.items():
        if len(group) < 2:
            continue
        for flow in group:
            others = ", ".join(str(f.path) for f in group if f is not flow)
            p = (parsed or {}).get(str(flow.path)) or parse_yaml(flow.source)  # for the line
            out.append(
                _diag(
                    flow,
                    p,
                    ("id",),
                    "duplicate-flow",
                    f"flow {ref.namespace}/{ref.id} is also defined in {others}: each "
                    "flow must live in exactly one file; remove or rename one",
                )
            )
    return out


def expected_layout_path(namespace: str, flow_id: str, layout: str) -> str:
    if layout == "nested":
        return "/".join(namespace.split(".")) + f"/{flow_id}"
    if layout == "dotted":
        return f"{namespace}/{flow_id}"
    raise ValueError(layout)


def check_layout(
    flow: LocalFlow, parsed: ParsedYaml | None, layout: str, root: Path
) -> list[Diagnostic]:
    if layout == "none" or flow.namespace is None or flow.id is None:
        return []
    import os

    rel_text = os.path.relpath(os.path.abspath(flow.path), os.path.abspath(root))
    if rel_text.startswith(".."):
        return []  # outside the flow directory: no rule to apply
    rel = Path(rel_text)
    stem = rel.with_suffix("").as_posix()
    want = expected_layout_path(flow.namespace, flow.id, layout)
    if stem == want:
        return []
    return [
        _diag(
            flow,
            parsed,
            ("namespace",) if rel.parent.as_posix() != want.rsplit("/", 1)[0] else ("id",),
            "layout",
            f"with layout '{layout}' this flow belongs at {Path(root).as_posix()}/{want}"
            f"{rel.suffix}: move the file there or change its namespace/id",
        )
    ]


def validate_offline(
    flows: Sequence[LocalFlow],
    *,
    layout: str = "none",
    root: Path | str | None = None,
    schema: dict | Path | str | None = None,
    parsed: dict[str, ParsedYaml] | None = None,
    check_duplicate_flows: bool = True,
    version: str | None = None,
    cache: ResultCache | None = None,
) -> list[Diagnostic]:
    """All offline checks on flows already loaded (see ``flows.scan``/``flows.load_flow``).

    ``cache``: the flow directory's ``resultcache``; a file whose text was checked before with
    the same path and settings is not checked again.

    ``version``: the Kestra version (a ``knowledge.VERSIONS`` entry) whose rules to follow;
    None = every supported version (an error only for what all of them refuse).

    ``schema``: None for the bundled structural schema, or a schema dict/file (e.g. Kestra's
    full flow schema) checked in addition. ``parsed`` carries the line index from the scan; a
    flow without one is parsed again (about 0.2 ms).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    parsed = dict(parsed or {})
    bundled = load_schema()
    extra = None
    if schema is not None:
        extra = schema if isinstance(schema, dict) else load_schema(schema)
    out: list[Diagnostic] = []
    if extra is not None:
        cache = None  # another schema: its answers are not keyed in the cache
    for flow in flows:
        key = f"checks|{flow.tenant}|{flow.path}|{layout}|{root}|{version}"
        found = cache.checks(flow.source, key) if cache is not None else None
        if found is not None:
            out.extend(found)  # before touching flow.data: a FlowParsedOnUse stays unparsed
            continue
        flow, p = _with_parse(flow, parsed)
        if flow.data is None:
            continue
        found = check_flow(flow, p)
        if isinstance(flow.data, dict):
            found += check_versioned(flow, p, version)
            found += check_schema(flow, p, bundled)
            if extra is not None:
                found += check_schema(flow, p, extra, bundled=False)
        if root is not None:
            found += check_layout(flow, p, layout, Path(root))
        if cache is not None:
            cache.remember_checks(flow.source, key, found)
        out.extend(found)
    if check_duplicate_flows:
        out.extend(check_duplicates(flows, parsed))
    return out


def _with_parse(
    flow: LocalFlow, parsed: dict[str, ParsedYaml]
) -> tuple[LocalFlow, ParsedYaml | None]:
    """The flow and its parse (the line index, the written text of ids). A flow with no parse
    from the scan (a FlowParsedOnUse, or loaded elsewhere) is parsed again and checked on that
    parse's data: the written text of ids is tracked per parsed object."""
    p = parsed.get(str(flow.path))
    if p is None and (isinstance(flow, FlowParsedOnUse) or flow.data is not None):
        p = parsed[str(flow.path)] = parse_yaml(flow.source)
        if isinstance(flow, FlowParsedOnUse):
            flow.data = p.data
        else:
            flow = dataclasses.replace(flow, data=p.data)
    return flow, p


def check_versioned(
    flow: LocalFlow, parsed: ParsedYaml | None, version: str | None
) -> list[Diagnostic]:
    """The rules of the version table (``knowledge``), judged for ``version``."""
    out = []
    for finding in flowrules.findings(flow.data, flow.source):
        verdict = flowrules.judge(finding, version)
        if verdict is not None:
            severity, message = verdict
            d = _diag(flow, parsed, finding.path, finding.rule.code, message, severity, finding.key)
            out.append(dataclasses.replace(d, versioned=True))
    return out


def rejudge(check: ProjectCheck, version: str | None) -> ProjectCheck:
    """The same check with the version table judged for ``version`` (e.g. once the server said
    which version it runs): no file is read or parsed again."""
    kept = [d for d in check.diagnostics if not d.versioned]
    for flow in check.flows:
        cache = check.caches.get(flow.tenant)
        key = f"versioned|{flow.path}|{version}"
        found = cache.checks(flow.source, key) if cache is not None else None
        if found is None:
            flow, p = _with_parse(flow, check.parsed)
            if isinstance(flow.data, dict):
                found = check_versioned(flow, p, version)
                if cache is not None:
                    cache.remember_checks(flow.source, key, found)
        kept += found or []
    check.save_caches()
    return dataclasses.replace(check, diagnostics=kept)


@dataclass
class ProjectCheck:
    """Everything offline validation found for a project (one directory per tenant)."""

    flows: list[LocalFlow] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # given files outside every flow directory
    parsed: dict[str, ParsedYaml] = field(default_factory=dict, repr=False)
    # The result caches of the flow directories, by tenant (see resultcache.py).
    caches: dict[str, ResultCache] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def save_caches(self) -> None:
        for cache in self.caches.values():
            cache.save()


def check_project(
    settings: Any,
    paths: Sequence[Path | str] | None = None,
    *,
    ignore_file: Path | str | None = None,
    schema: dict | Path | str | None = None,
    version: str | None = None,
) -> ProjectCheck:
    """Scan the configured flow directories (or only ``paths``) and run every offline check.

    With ``paths`` (as pre-commit passes them) only those files are reported, but the
    configured directories are still read to find the same namespace/id in another file:
    pre-commit passes only changed files, and a copy in an untouched file must still be found.
    """
    from .flows import scan_settings

    given = list(paths) if paths else None
    roots = {tenant: Path(d) for tenant, d in settings.directories().items()}
    caches = {tenant: resultcache.for_directory(root) for tenant, root in roots.items()}
    result, skipped = scan_settings(settings, given, ignore_file=ignore_file, caches=caches)
    check = ProjectCheck(result.flows, list(result.diagnostics), skipped, result.parsed, caches)
    for tenant, root in roots.items():
        check.diagnostics += validate_offline(
            [f for f in result.flows if f.tenant == tenant],
            layout=settings.layout,
            root=root,
            schema=schema,
            parsed=result.parsed,
            check_duplicate_flows=False,
            version=version,
            cache=check.caches[tenant],
        )
    others = [f for f in result.flows if f.tenant not in roots]
    if others:
        check.diagnostics += validate_offline(
            others,
            schema=schema,
            parsed=result.parsed,
            check_duplicate_flows=False,
            version=version,
        )
    check.diagnostics += _resource_problems(settings, given)
    check.diagnostics = collapse_non_flows(check.diagnostics, result.flows)  # guidance.py
    if given is None:
        check.diagnostics += check_duplicates(result.flows, result.parsed)
        check.save_caches()
        return check
    shown = {str(f.path) for f in result.flows}
    everything = list(result.flows)
    if all(d.is_dir() for d in roots.values()):
        known = {Path(f.path).resolve() for f in result.flows}
        whole, _ = scan_settings(settings, ignore_file=ignore_file, caches=caches)
        everything += [f for f in whole.flows if Path(f.path).resolve() not in known]
    check.diagnostics += [d for d in check_duplicates(everything, result.parsed) if d.path in shown]
    check.save_caches()
    return check


def _resource_problems(settings: Any, given: list | None) -> list[Diagnostic]:
    """Namespace files (`_files`, `namespace_files:`) and kv.yml: paths Kestra refuses, files
    over the size limit or mapped to two namespaces, bad keys, values that look like secrets.
    With PATHS, only problems in files under them."""
    from .kinds import scan_all

    found = [d for scan in scan_all(settings).values() for d in scan.diagnostics]
    if given is None:
        return found
    roots = [Path(p).resolve() for p in given]
    return [
        d
        for d in found
        if any(Path(d.path).resolve() == r or r in Path(d.path).resolve().parents for r in roots)
    ]
