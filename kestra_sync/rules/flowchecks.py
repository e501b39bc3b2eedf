"""The rules one flow must follow, whatever else is in the directory (``check_flow``):
ids, required keys, task and trigger structure, labels. Whole-directory checks and the project
entry point are in ``validate``.

Patterns, reserved words and every rule that differs between Kestra versions are data in
``knowledge`` (checked by ``flowrules``, judged for the target version in ``check_versioned``);
this module holds none of its own.

What every supported version accepts (kestra develop 8ecd83370, 2026-07-01):
- id ``^[a-zA-Z0-9][a-zA-Z0-9._-]*`` 1..100 chars; namespace ``^[a-z0-9][a-z0-9._-]*`` 1..150
  chars (AbstractFlow bean validation; ``@Pattern`` matches the whole string); ``tasks`` not empty.
- Duplicate YAML keys are an ERROR: create/update parse the body with
  ``YamlParser.parse`` -> ``STRICT_MAPPER.readValue`` whose mapper enables
  ``JsonParser.Feature.STRICT_DUPLICATE_DETECTION`` (core/.../serializers/YamlParser.java), and
  kestra's own test ``YamlParserTest.duplicateKey`` expects "Duplicate field 'message'". (The
  server's ``/validate`` endpoint reads the source through PluginDefaultService's mapper without
  that feature, so it may call such a flow valid; create/update still reject it.)
  A YamlParser that loads with SnakeYAML's allowDuplicateKeys first (last key wins) exists
  only in the unmerged PR kestra-io/kestra#17343 (commit 01618264), not in develop.
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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..models import Diagnostic, LocalFlow
from ..models import diag_at as _diag
from ..source.yamlindex import ParsedYaml, format_path, parse_yaml
from . import flowrules
from . import knowledge as K

# Patterns and limits are Kestra facts: they live in knowledge.py, shared with the emulator.
ID_RE = re.compile(K.FLOW_ID_PATTERN[1:])
NAMESPACE_RE = re.compile(K.NAMESPACE_PATTERN[1:])
TASK_ID_RE = re.compile(K.TASK_ID_PATTERN[1:])
INPUT_ID_RE = re.compile(K.INPUT_ID_PATTERN[1:])
OUTPUT_ID_RE = re.compile(K.OUTPUT_ID_PATTERN[1:])
ID_MAX = K.FLOW_ID_MAX
NAMESPACE_MAX = K.NAMESPACE_MAX
TASK_LISTS = K.TASK_LISTS


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
    if not isinstance(data, dict):
        return [_not_a_mapping(flow, parsed, data)]
    out = _check_identity(flow, parsed, data)
    out += _check_task_list(flow, parsed, data)
    out += _check_tasks(flow, parsed, data)
    out += _check_ids(flow, parsed, data, IdList("triggers", "trigger"))
    out += _check_ids(
        flow,
        parsed,
        data,
        IdList("inputs", "input", need_type=False, pattern=INPUT_ID_RE, id_keys=("id", "name")),
    )
    out += _check_ids(
        flow, parsed, data, IdList("outputs", "output", need_type=False, pattern=OUTPUT_ID_RE)
    )
    out += _check_labels(flow, parsed, data)
    return out


_KINDS = {
    "list": "a list",
    "str": "a string",
    "int": "a number",
    "float": "a number",
    "bool": "a boolean",
}


def _not_a_mapping(flow: LocalFlow, parsed: ParsedYaml, data: Any) -> Diagnostic:
    kind = type(data).__name__
    return _diag(
        flow,
        parsed,
        (),
        "not-mapping",
        f"the document is {_KINDS.get(kind, kind)}, not a mapping: a flow is a mapping with id, "
        "namespace and tasks at the top level",
    )


_IDENTITY = (
    ("id", ID_RE, ID_MAX, "letters, digits, '.', '_' or '-', starting with a letter or digit"),
    (
        "namespace",
        NAMESPACE_RE,
        NAMESPACE_MAX,
        "lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
)


def _check_identity(flow: LocalFlow, parsed: ParsedYaml, data: dict) -> list[Diagnostic]:
    """id and namespace: present, plain, not blank, AbstractFlow's pattern and length."""
    out: list[Diagnostic] = []
    for key, regex, maxlen, what in _IDENTITY:
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
        elif value is None:
            out.append(
                _diag(
                    flow,
                    parsed,
                    (key,),
                    f"invalid-{key}",
                    f"'{key}' must be a plain value, not a {type(data[key]).__name__}",
                )
            )
        elif not value.strip():
            out.append(_diag(flow, parsed, (key,), f"invalid-{key}", f"'{key}' must not be blank"))
        else:
            out += _identity_text(flow, parsed, key, value, regex, maxlen, what)
    return out


def _identity_text(
    flow: LocalFlow,
    parsed: ParsedYaml,
    key: str,
    value: str,
    regex: re.Pattern,
    maxlen: int,
    what: str,
) -> list[Diagnostic]:
    out = []
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
    return out


def _check_task_list(flow: LocalFlow, parsed: ParsedYaml, data: dict) -> list[Diagnostic]:
    """``tasks``: present and not empty (AbstractFlow @NotEmpty)."""
    tasks = data.get("tasks")
    if "tasks" not in data or tasks is None:
        return [
            _diag(
                flow,
                parsed,
                ("tasks",) if "tasks" in data else (),
                "missing-tasks",
                "required key 'tasks' is missing: add a 'tasks:' list with at least one task",
            )
        ]
    if isinstance(tasks, list) and not tasks:
        return [
            _diag(
                flow,
                parsed,
                ("tasks",),
                "empty-tasks",
                "'tasks' is empty: a flow needs at least one task",
            )
        ]
    return []


def _scalar_text(parsed: ParsedYaml, mapping: Any, key: str) -> Any:
    """The text Kestra binds for a scalar (Jackson coerces scalars to their written text, so
    ``id: 0755`` is "0755", not YAML 1.1's octal 493)."""
    text = parsed.text_of(mapping, key)
    return text if text is not None else mapping.get(key)


def _iter_tasks(data: dict) -> Iterable[tuple[tuple, dict]]:
    """Every task mapping of the flow with its path, children included (allTasksWithChilds)."""
    return flowrules.iter_tasks(data)


def _check_tasks(flow: LocalFlow, parsed: ParsedYaml, data: dict) -> list[Diagnostic]:
    """Each item of the task lists a mapping; each task (children included) with a type and
    an id of TaskInterface's pattern, each id once in the flow."""
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
        out += _check_task(flow, parsed, path, task, first)
    return out


def _check_task(
    flow: LocalFlow, parsed: ParsedYaml, path: tuple, task: dict, first: dict[str, tuple]
) -> list[Diagnostic]:
    out = []
    if task.get("type") in (None, ""):
        out.append(
            _diag(
                flow,
                parsed,
                path,
                "missing-type",
                f"task {format_path(path)} has no 'type': add the plugin type, e.g. "
                "'type: io.kestra.plugin.core.log.Log'",
            )
        )
    tid = _scalar_text(parsed, task, "id")
    if tid in (None, ""):
        return out + [
            _diag(
                flow,
                parsed,
                path,
                "missing-task-id",
                f"task {format_path(path)} has no 'id': give every task a unique id",
            )
        ]
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
                "unique within the flow (tasks, errors and finally included); rename one",
            )
        )
    else:
        first[tid] = path
    return out


@dataclass(frozen=True)
class IdList:
    """A list of the flow whose items carry an id: triggers, inputs, outputs."""

    key: str
    what: str
    need_type: bool = True
    pattern: re.Pattern = TASK_ID_RE
    id_keys: tuple[str, ...] = ("id",)


def _check_ids(flow: LocalFlow, parsed: ParsedYaml, data: dict, spec: IdList) -> list[Diagnostic]:
    """Each item a mapping with a type (when needed) and an id of the right pattern, each id
    once."""
    items = data.get(spec.key)
    if not isinstance(items, list):
        return []
    out = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        path = (spec.key, i)
        if not isinstance(item, dict):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path,
                    f"invalid-{spec.what}",
                    f"{format_path(path)} must be a mapping with id and type",
                )
            )
            continue
        if spec.need_type and item.get("type") in (None, ""):
            out.append(
                _diag(
                    flow,
                    parsed,
                    path,
                    "missing-type",
                    f"{spec.what} {format_path(path)} has no 'type': add the plugin type, "
                    "e.g. 'type: io.kestra.plugin.core.trigger.Schedule'",
                )
            )
        out += _check_item_id(flow, parsed, spec, i, item, first)
    return out


def _check_item_id(
    flow: LocalFlow, parsed: ParsedYaml, spec: IdList, i: int, item: dict, first: dict[str, int]
) -> list[Diagnostic]:
    path = (spec.key, i)
    what = spec.what
    # An input may be written `name:` up to Kestra 1.3 (Input.setName copies it into id);
    # flowrules reports that per version.
    id_key = next((k for k in spec.id_keys if item.get(k) not in (None, "")), "id")
    ident = _scalar_text(parsed, item, id_key)
    if ident in (None, ""):
        return [
            _diag(
                flow,
                parsed,
                path,
                f"missing-{what}-id",
                f"{what} {format_path(path)} has no 'id': add one",
            )
        ]
    ident = str(ident)
    out = []
    if not spec.pattern.fullmatch(ident):
        allowed = (
            "letters, digits, '.', '_' or '-'"
            if "." in spec.pattern.pattern
            else ("letters, digits, '_' or '-', no dot")
        )
        out.append(
            _diag(
                flow,
                parsed,
                path + (id_key,),
                f"invalid-{what}-id",
                f"{what} id {ident!r} is not allowed: use only {allowed}, starting with a "
                f'letter or digit (Kestra requires "^{spec.pattern.pattern}")',
            )
        )
    if ident in first:
        line, _ = parsed.position((spec.key, first[ident], id_key))
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
