"""Offline and server-side validation of local flows. Returns diagnostics; never raises for a bad flow.

What the server accepts (kestra develop 8ecd8337, 2026-07-01; api-facts.md §5, §6):
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
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .guidance import collapse_non_flows, did_you_mean
from .models import (
    ERROR,
    ID_MAX,
    ID_RE,
    NAMESPACE_MAX,
    NAMESPACE_RE,
    WARNING,
    Diagnostic,
    LocalFlow,
)
from .yamlindex import ParsedYaml, format_path, parse_yaml

TASK_LISTS = ("tasks", "errors", "finally", "afterExecution")
# Keys of a flowable task that hold child tasks (lists) or named branches (maps of lists).
CHILD_TASK_KEYS = ("tasks", "errors", "finally", "then", "else", "afterExecution")
CHILD_BRANCH_KEYS = ("cases",)
SYSTEM_LABEL_PREFIX = "system."
SYSTEM_LABEL_ALLOWED = ("system.readOnly",)  # kestra Label.READ_ONLY
LAYOUTS = ("none", "nested", "dotted")

BUNDLED_SCHEMA = Path(__file__).parent / "schema" / "flow.schema.json"


def _diag(
    flow: LocalFlow,
    parsed: ParsedYaml | None,
    path: tuple,
    code: str,
    message: str,
    severity: str = ERROR,
    key: bool = False,
) -> Diagnostic:
    line = column = None
    if parsed is not None:
        line, column = parsed.key_position(path) if key else parsed.position(path)
    return Diagnostic(str(flow.path), message, severity, line, column, code)


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
    out.extend(_check_ids(flow, parsed, data, "inputs", "input", need_type=False))
    out.extend(_check_labels(flow, parsed, data))
    return out


def _scalar_text(parsed: ParsedYaml, mapping: Any, key: str) -> Any:
    """The text Kestra binds for a scalar (Jackson coerces scalars to their written text, so
    ``id: 0755`` is "0755", not YAML 1.1's octal 493)."""
    text = parsed.text_of(mapping, key)
    return text if text is not None else mapping.get(key)


def _iter_tasks(data: dict) -> Iterable[tuple[tuple, dict]]:
    """Every task mapping of the flow with its path, children included (allTasksWithChilds)."""
    stack: list[tuple[tuple, Any]] = []
    for key in reversed(TASK_LISTS):
        if isinstance(data.get(key), list):
            stack.append(((key,), data[key]))
    seen: set[int] = set()
    while stack:
        path, items = stack.pop()
        if id(items) in seen:  # aliases: the same list twice
            continue
        seen.add(id(items))
        children: list[tuple[tuple, Any]] = []
        for i, task in enumerate(items):
            if not isinstance(task, dict):
                continue
            yield path + (i,), task
            for key in CHILD_TASK_KEYS:
                sub = task.get(key)
                if isinstance(sub, list) and any(
                    isinstance(t, dict) and ("type" in t or "id" in t) for t in sub
                ):
                    children.append((path + (i, key), sub))
            for key in CHILD_BRANCH_KEYS:
                sub = task.get(key)
                if isinstance(sub, dict):
                    for name, branch in sub.items():
                        if isinstance(branch, list):
                            children.append((path + (i, key, name), branch))
        stack.extend(reversed(children))


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
        if not ID_RE.fullmatch(tid):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path + ("id",),
                    "invalid-task-id",
                    f"task id {tid!r} is not allowed: use only letters, digits, '.', "
                    f"'_' or '-' (Kestra requires \"^{ID_RE.pattern}\")",
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
    flow: LocalFlow, parsed: ParsedYaml, data: dict, key: str, what: str, need_type: bool = True
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
        ident = _scalar_text(parsed, item, "id")
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
        if ident in first:
            line, _ = parsed.position((key, first[ident], "id"))
            out.append(
                _diag(
                    flow,
                    parsed,
                    path + ("id",),
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
            and key.startswith(SYSTEM_LABEL_PREFIX)
            and key not in SYSTEM_LABEL_ALLOWED
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
# schema


@lru_cache(maxsize=8)
def _load_schema_text(text: str) -> dict:
    return json.loads(text)


def load_schema(path: Path | str | None = None) -> dict:
    """The bundled structural schema, or a schema file (e.g. the server's full flow schema)."""
    target = Path(path) if path else BUNDLED_SCHEMA
    return _load_schema_text(target.read_text(encoding="utf-8"))


_JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("number", "integer"):
        if isinstance(value, bool):
            return False
        return isinstance(value, int) if name == "integer" else isinstance(value, (int, float))
    return isinstance(value, _JSON_TYPES.get(name, object))


def _fast_schema_ok(data: Any, schema: dict) -> bool:
    """True when ``data`` surely satisfies the bundled schema (type/required/additional keys
    only). False means: ask jsonschema for the exact errors. Keeps jsonschema's import (~60 ms)
    out of runs where every flow is fine."""
    if not isinstance(data, dict):
        return False
    props = schema.get("properties", {})
    if schema.get("additionalProperties") is False and any(k not in props for k in data):
        return False
    if any(k not in data for k in schema.get("required", ())):
        return False
    for key, value in data.items():
        sub = props.get(key, {})
        if set(sub) - {"type", "description", "items", "title"}:
            return False
        types = sub.get("type")
        if types is not None:
            types = [types] if isinstance(types, str) else types
            if not any(_is_type(value, t) for t in types):
                return False
        items = sub.get("items")
        if items is not None and isinstance(value, list):
            if set(items) - {"type"}:
                return False
            if not all(_is_type(v, items["type"]) for v in value):
                return False
    return True


def check_schema(
    flow: LocalFlow, parsed: ParsedYaml, schema: dict, *, bundled: bool = True
) -> list[Diagnostic]:
    """jsonschema errors, each pointed at the line of the offending node."""
    if bundled and _fast_schema_ok(flow.data, schema):
        return []
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema)
    out = []
    errors = sorted(validator.iter_errors(flow.data), key=lambda e: list(map(str, e.path)))
    for err in errors:
        path = tuple(err.path)
        if bundled and err.validator == "required":
            continue  # reported by check_flow with a better message
        if bundled and not path and err.validator == "type":
            continue  # not-mapping, reported by check_flow
        if err.validator == "additionalProperties" and isinstance(flow.data, dict):
            known = schema.get("properties", {})
            for key in flow.data:
                if key not in known and _mapping_at(flow.data, path) is flow.data:
                    out.append(
                        _diag(
                            flow,
                            parsed,
                            path + (key,),
                            "unknown-key",
                            f"unknown top-level key '{key}': Kestra rejects unknown "
                            'properties ("Unrecognized field"); remove it or fix its '
                            "spelling" + did_you_mean(str(key), known),
                            key=True,
                        )
                    )
            if path:
                out.append(
                    _diag(flow, parsed, path, "schema", f"{format_path(path)}: {err.message}")
                )
            continue
        if bundled and path and path[0] in ("id", "namespace"):
            continue  # type, pattern and length reported by check_flow
        where = format_path(path) or "the flow"
        if err.context:  # oneOf/anyOf: the most relevant sub-error is more useful
            best = jsonschema.exceptions.best_match(err.context)
            path = tuple(best.path) or path
            where = format_path(path) or where
            message = best.message
        elif err.validator == "type":
            want = err.validator_value
            want = " or ".join(want) if isinstance(want, list) else want
            want = want.replace("array", "a list").replace("object", "a mapping")
            message = f"must be {want}, not {_json_kind(err.instance)}"
        else:
            message = err.message
        out.append(
            _diag(
                flow,
                parsed,
                path,
                "schema",
                f"{where}: {message} (checked against "
                f"{'the bundled flow schema' if bundled else 'the given flow schema'})",
            )
        )
    return out


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else "a string"


def _mapping_at(data: Any, path: tuple) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


# ---------------------------------------------------------------------------------------------
# whole-directory checks


def check_duplicates(
    flows: Sequence[LocalFlow], parsed: dict[str, ParsedYaml] | None = None
) -> list[Diagnostic]:
    """The same tenant/namespace/id in two files: the second would overwrite the first."""
    by_ref: dict[Any, list[LocalFlow]] = defaultdict(list)
    for flow in flows:
        if flow.ref is not None and isinstance(flow.data, dict):
            by_ref[flow.ref].append(flow)
    out = []
    for ref, group in by_ref.items():
        if len(group) < 2:
            continue
        for flow in group:
            others = ", ".join(str(f.path) for f in group if f is not flow)
            p = (parsed or {}).get(str(flow.path))
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
) -> list[Diagnostic]:
    """All offline checks on flows already loaded (see ``flows.scan``/``flows.load_flow``).

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
    for flow in flows:
        if flow.data is None:
            continue
        p = parsed.get(str(flow.path))
        if p is None:
            # No line index from the scan: parse again, and check that parse's data (the
            # written text of ids is tracked per parsed object).
            p = parsed[str(flow.path)] = parse_yaml(flow.source)
            flow = dataclasses.replace(flow, data=p.data)
        out.extend(check_flow(flow, p))
        if isinstance(flow.data, dict):
            out.extend(check_schema(flow, p, bundled))
            if extra is not None:
                out.extend(check_schema(flow, p, extra, bundled=False))
        if root is not None:
            out.extend(check_layout(flow, p, layout, Path(root)))
    if check_duplicate_flows:
        out.extend(check_duplicates(flows, parsed))
    return out


@dataclass
class ProjectCheck:
    """Everything offline validation found for a project (one directory per tenant)."""

    flows: list[LocalFlow] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # given files outside every flow directory
    parsed: dict[str, ParsedYaml] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def check_project(
    settings: Any,
    paths: Sequence[Path | str] | None = None,
    *,
    ignore_file: Path | str | None = None,
    schema: dict | Path | str | None = None,
) -> ProjectCheck:
    """Scan the configured flow directories (or only ``paths``) and run every offline check.

    With ``paths`` (as pre-commit passes them) only those files are reported, but the
    configured directories are still read to find the same namespace/id in another file:
    pre-commit passes only changed files, and a copy in an untouched file must still be found.
    """
    from .flows import scan_settings

    given = list(paths) if paths else None
    result, skipped = scan_settings(settings, given, ignore_file=ignore_file)
    check = ProjectCheck(result.flows, list(result.diagnostics), skipped, result.parsed)
    roots = {tenant: Path(d) for tenant, d in settings.directories().items()}
    for tenant, root in roots.items():
        check.diagnostics += validate_offline(
            [f for f in result.flows if f.tenant == tenant],
            layout=settings.layout,
            root=root,
            schema=schema,
            parsed=result.parsed,
            check_duplicate_flows=False,
        )
    others = [f for f in result.flows if f.tenant not in roots]
    if others:
        check.diagnostics += validate_offline(
            others, schema=schema, parsed=result.parsed, check_duplicate_flows=False
        )
    check.diagnostics = collapse_non_flows(check.diagnostics, result.flows)  # guidance.py
    if given is None:
        check.diagnostics += check_duplicates(result.flows, result.parsed)
        return check
    shown = {str(f.path) for f in result.flows}
    everything = list(result.flows)
    if all(d.is_dir() for d in roots.values()):
        known = {Path(f.path).resolve() for f in result.flows}
        whole, _ = scan_settings(settings, ignore_file=ignore_file)
        everything += [f for f in whole.flows if Path(f.path).resolve() not in known]
    check.diagnostics += [d for d in check_duplicates(everything, result.parsed) if d.path in shown]
    return check


# ---------------------------------------------------------------------------------------------
# server-side


_PATH_LINE = re.compile(r"^\s*([A-Za-z_][\w.\[\]-]*):\s+(.+)$")


def _server_path(text: str, data: Any) -> tuple:
    """``tasks[0].type`` or ``tasks[extract].type`` (Kestra swaps indexes for ids) -> path tuple."""
    out: list[Any] = []
    node = data
    for name, index in re.findall(r"([^.\[\]]+)|\[([^\]]*)\]", text):
        if name:
            if (
                name in ("flow", "flowWithSource")
                and not out
                and isinstance(node, dict)
                and name not in node
            ):
                continue
            out.append(name)
            node = node.get(name) if isinstance(node, dict) else None
        else:
            if index.isdigit():
                i = int(index)
            elif isinstance(node, list):
                i = next(
                    (
                        k
                        for k, t in enumerate(node)
                        if isinstance(t, dict) and str(t.get("id")) == index
                    ),
                    None,
                )
                if i is None:
                    break
            else:
                break
            out.append(i)
            node = node[i] if isinstance(node, list) and 0 <= i < len(node) else None
    return tuple(out)


def _server_messages(constraints: str, data: Any) -> list[tuple[tuple, str]]:
    text = constraints
    for prefix in ("Validation error: ",):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    out = []
    for line in text.splitlines():
        line = line.strip().rstrip(",")
        if not line:
            continue
        m = _PATH_LINE.match(line)
        if m and " " not in m.group(1):
            out.append((_server_path(m.group(1), data), line))
        else:
            out.append(((), line))
    return out or [((), constraints.strip())]


def validate_server(
    flows: Sequence[LocalFlow], client: Any, parsed: dict[str, ParsedYaml] | None = None
) -> list[Diagnostic]:
    """Send the flows to ``POST /flows/validate`` (``client.validate_flows``, batched by the
    client) and map each result back to its file (results come back in input order, with
    ``index``; api-facts.md §4.7)."""
    flows = [f for f in flows if f.data is not None]
    if not flows:
        return []
    parsed = dict(parsed or {})
    results = client.validate_flows([f.source for f in flows])
    out: list[Diagnostic] = []
    for pos, result in enumerate(results):
        index = getattr(result, "index", pos)
        flow = flows[index] if isinstance(index, int) and 0 <= index < len(flows) else flows[pos]
        p = parsed.get(str(flow.path)) or parse_yaml(flow.source)
        if getattr(result, "constraints", None):
            for path, message in _server_messages(result.constraints, flow.data):
                line_hint = re.search(r"\(at line (\d+)\)", message)
                d = _diag(flow, p, path, "server", f"server: {message}; fix it and validate again")
                if line_hint and not path:
                    d = Diagnostic(
                        d.path, d.message, d.severity, int(line_hint.group(1)), 1, d.code
                    )
                out.append(d)
        for message in getattr(result, "warnings", None) or []:
            out.append(_diag(flow, p, (), "server-warning", f"server warning: {message}", WARNING))
        for message in getattr(result, "infos", None) or []:
            out.append(
                _diag(
                    flow,
                    p,
                    (),
                    "server-info",
                    f"server: {message}; update the flow to the new name",
                    WARNING,
                )
            )
        for dpath in getattr(result, "deprecation_paths", None) or []:
            path = _server_path(dpath, flow.data)
            out.append(
                _diag(
                    flow,
                    p,
                    path,
                    "deprecated",
                    f"{dpath} is deprecated on this server; replace it (see the "
                    "plugin documentation)",
                    WARNING,
                )
            )
        if getattr(result, "outdated", False):
            out.append(
                _diag(
                    flow,
                    p,
                    ("revision",),
                    "outdated",
                    "the 'revision:' in this file is not the server's next revision: "
                    "the flow changed on the server since; remove the 'revision:' "
                    "line (the server numbers revisions itself)",
                    WARNING,
                    key=True,
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# --schema PATH_OR_URL: a user-given full flow schema, cached on disk


class _BearerAuth:
    """requests auth callable for an API token (only used when --schema is a URL)."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def schema_auth(settings: Any) -> Any:
    """Credentials to fetch a schema from the Kestra server: a token wins (as in the client),
    else basic auth, else none."""
    if settings.token:
        return _BearerAuth(settings.token)
    if settings.username and settings.password:
        return (settings.username, settings.password)
    return None


def schema_cache_dir(env: dict | None = None) -> Path:
    import os
    import sys

    env = os.environ if env is None else env
    if env.get("XDG_CACHE_HOME"):
        base = Path(env["XDG_CACHE_HOME"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif sys.platform == "win32" and env.get("LOCALAPPDATA"):
        base = Path(env["LOCALAPPDATA"])
    else:
        base = Path.home() / ".cache"
    return base / "kestra-sync" / "schemas"


def resolve_schema(
    spec: str,
    *,
    refresh: bool = False,
    auth: Any = None,
    timeout: float = 30.0,
    verify: Any = True,
    env: dict | None = None,
) -> dict:
    """A schema from a file, or from a URL (Kestra serves its full flow schema at
    ``GET /api/v1/plugins/schemas/flow``, kestra-openapi.yml ``getSchemasFromType``).

    A URL is downloaded once and kept in the user cache dir (``$XDG_CACHE_HOME/kestra-sync``),
    written atomically (temp file + rename) so parallel hook runs never see half a file. A cached
    copy is used without any network access unless ``refresh``.
    """
    import hashlib
    import os
    import tempfile

    from .errors import InputError

    if not spec.startswith(("http://", "https://")):
        try:
            return load_schema(spec)
        except OSError as e:
            raise InputError(f"{spec}: cannot read schema file: {e.strerror}") from None
        except ValueError as e:
            raise InputError(f"{spec}: not a JSON schema: {e}") from None
    cache = schema_cache_dir(env) / (hashlib.sha256(spec.encode()).hexdigest() + ".json")
    if cache.is_file() and not refresh:
        try:
            return load_schema(cache)
        except ValueError:
            pass  # a corrupt cache entry: download again
    import requests

    try:
        resp = requests.get(
            spec, auth=auth, timeout=timeout, verify=verify, headers={"Accept": "application/json"}
        )
    except requests.RequestException as e:
        raise InputError(
            f"cannot download the schema from {spec}: {type(e).__name__}",
            hint="check the URL, or pass a schema file with --schema",
        ) from None
    if resp.status_code != 200:
        raise InputError(
            f"cannot download the schema from {spec}: HTTP {resp.status_code}",
            hint="check the URL and credentials (KESTRA_USERNAME/PASSWORD/API_TOKEN)",
        )
    try:
        schema = resp.json()
    except ValueError:
        raise InputError(f"{spec} did not return JSON") from None
    if not isinstance(schema, dict):
        raise InputError(f"{spec} did not return a JSON schema object")
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(schema, fh)
        os.replace(tmp, cache)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
    return schema
