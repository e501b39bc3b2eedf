"""How the Kestra server parses and validates a flow source, and the exact error texts it sends.

Everything here is pure (no I/O, no state). A failure is raised as ``Rejection``: the HTTP status,
the reason phrase and the JSON body the real server would send. Sources read (kestra-io/kestra
develop, via the fork erickirt/kestra at 8ecd8337): ``GenericFlow.fromYaml``, ``YamlParser``,
``PluginDefaultService.parseFlowWithVersionDefaults``, ``PluginDeserializer``, ``AbstractFlow``,
``Flow``, ``TaskInterface``, ``KestraConstraintViolationException``, ``FlowValidator``,
``ErrorController``; docs/kestra-api.md. The Jackson/SnakeYAML message texts were probed with
jackson-dataformat-yaml 2.17.2 + SnakeYAML 2.2 (Kestra ships a newer Jackson: the ``[Source: ...]``
part of the location may differ).

Version profiles: every rule that differs between Kestra versions comes from the tool's
``knowledge`` table and is detected by ``flowrules`` -- the one exception to "the emulator imports
nothing of the tool": both modules are standalone (standard library only), so the emulator and
the offline validator apply one table and cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..rules import flowrules
from ..rules import knowledge as K
from .errors import ConstraintViolations, Rejection, Violation, illegal_argument, not_found
from .yamlparse import FLOW_WITH_SOURCE_CLASS, GENERIC_FLOW_CLASS, as_text, load_yaml

__all__ = [  # re-exported: the routes reach the error types through ``rules``
    "ConstraintViolations",
    "FLOW_WITH_SOURCE_CLASS",
    "Rejection",
    "Violation",
    "illegal_argument",
    "load_yaml",
    "not_found",
]

ID_PATTERN = K.FLOW_ID_PATTERN  # AbstractFlow.id (kestra 8ecd8337)
NAMESPACE_PATTERN = K.NAMESPACE_PATTERN  # AbstractFlow.namespace
TASK_ID_PATTERN = K.TASK_ID_PATTERN  # TaskInterface.getId (no dots)
TRIGGER_ID_PATTERN = K.TASK_ID_PATTERN  # TriggerInterface.getId (no dots)
INPUT_ID_PATTERN = K.INPUT_ID_PATTERN  # Input.id
OUTPUT_ID_PATTERN = K.OUTPUT_ID_PATTERN  # Output.id
TENANT_PATTERN = K.TENANT_PATTERN  # AbstractFlow.tenantId

# Properties of io.kestra.core.models.flows.FlowWithSource (AbstractFlow + Flow + FlowWithSource)
# of the latest version; ``K.known_flow_keys(version)`` for a profile. The strict parse rejects
# any other top-level key (ErrorControllerTest.unknownProperties).
KNOWN_FLOW_PROPERTIES = K.known_flow_keys(K.LATEST, "oss")
TASK_LISTS = K.TASK_LISTS
# Keys under which flowable tasks hold child tasks (Flow.allTasksWithChilds walks them). Approximate:
# the real list comes from each plugin's FlowableTask.allChildTasks().
CHILD_TASK_KEYS = K.CHILD_TASK_KEYS
# FlowValidator's findings, in the order FlowValidator adds them (1.x copy; see knowledge.py).
FLOW_VALIDATOR_ORDER = (
    K.RESERVED_FLOW_ID.code,
    "duplicate-task-id",
    "duplicate-trigger-id",
    K.RECURSIVE_SUBFLOW.code,
    K.DUPLICATE_INPUT.code,
    K.DEPENDS_ON_UNKNOWN.code,
    K.DEPENDS_ON_CYCLE.code,
    K.DUPLICATE_OUTPUT.code,
    K.SYSTEM_LABEL.code,
    K.DASHED_INPUT_REFERENCE.code,
    K.DASHED_OUTPUT_REFERENCE.code,
    K.SCHEDULE_MISSING_INPUT.code,
)
INPUT_VALIDATOR_CODES = (K.OPTIONAL_WITH_DEFAULTS.code, K.DEFAULTS_WITH_PREFILL.code)
# Rules of the table that the server does not check when a flow is saved (they fail when the
# expression is rendered): never a 422 on create/update/validate.
NOT_CHECKED_AT_SAVE = ("removed-json-function", "renamed-state")


# --------------------------------------------------------------------------- the flow


@dataclass
class ParsedFlow:
    """What the server keeps from a source: identity, flags, and the fields it echoes."""

    source: str
    data: dict[str, Any]
    id: str | None
    namespace: str | None
    disabled: bool
    revision_in_source: int | None
    findings: list[Any] | None = None  # flowrules findings, computed once per parse

    def labels(self) -> list[dict[str, str]] | None:
        """Labels as a list of {key, value} (ListOrMapOfLabelDeserializer), values as strings."""
        raw = self.data.get("labels")
        if raw is None:
            return None
        if isinstance(raw, dict):
            return [{"key": str(k), "value": _label_value(v)} for k, v in raw.items()]
        if isinstance(raw, list):
            return [
                {"key": as_text(item.get("key")), "value": _label_value(item.get("value"))}
                for item in raw
                if isinstance(item, dict)
            ]
        return None


def _label_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_generic(source: str) -> ParsedFlow:
    """``GenericFlow.fromYaml``: syntax errors are ``Illegal genericflow source: ...``."""
    data = load_yaml(source, "genericflow", GENERIC_FLOW_CLASS)
    return _to_parsed(source, data)


def _to_parsed(source: str, data: dict[str, Any]) -> ParsedFlow:
    rev = data.get("revision")
    return ParsedFlow(
        source=source,
        data=data,
        id=as_text(data.get("id")),
        namespace=as_text(data.get("namespace")),
        disabled=data.get("disabled") is True or data.get("disabled") == "true",
        revision_in_source=rev if isinstance(rev, int) and not isinstance(rev, bool) else None,
    )


def strict_parse(flow: ParsedFlow, version: str = K.LATEST, edition: str = "oss") -> None:
    """``parseFlowWithVersionDefaults(..., strict=true)``: unknown properties and plugin types,
    as Kestra ``version`` binds them (``knowledge.known_flow_keys``, the 2.0 removals).

    The emulator has no plugin registry: any non-empty string ``type`` is accepted (KNOWN_GAPS),
    except the types the version removed. A task or trigger without a usable ``type`` fails like
    ``PluginDeserializer`` does for an unresolvable type: ``Invalid type: <null>`` with two
    violations (YamlParser.toConstraintViolationException).
    """
    known_keys = K.known_flow_keys(version, edition)
    for key in flow.data:
        if key not in known_keys:
            raise _unrecognized(
                key, FLOW_WITH_SOURCE_CLASS, f'{FLOW_WITH_SOURCE_CLASS}["{key}"]', known_keys
            )
    for list_key in (*TASK_LISTS, "triggers"):
        items = flow.data.get(list_key)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue  # PluginDeserializer returns null for a non-object node
            type_ = item.get("type")
            if not isinstance(type_, str) or type_ == "":
                _invalid_type(list_key, index)
            _check_children(
                item, f'{FLOW_WITH_SOURCE_CLASS}["{list_key}"]->java.util.ArrayList[{index}]'
            )
    for finding in version_findings(flow, version):
        code = finding.rule.code
        if code == "removed-type":
            type_ = flowrules.value_at(flow.data, finding.path)
            _raise_invalid_type(_chain(finding.path), str(type_))
        if code == "removed-input-type":
            # Jackson's message for an unknown @JsonTypeInfo id (approximate, KNOWN_GAPS).
            type_ = flowrules.value_at(flow.data, finding.path)
            path = _chain(finding.path)
            message = (
                f"Could not resolve type id '{type_}' as a subtype of "
                f"`io.kestra.core.models.flows.Input<java.lang.Object>`\n at [Source: UNKNOWN; "
                f"byte offset: #UNKNOWN] (through reference chain: {path})"
            )
            raise ConstraintViolations([Violation(path, message)], message=message)
        if finding.key and (code.startswith("removed-") or code == K.INPUT_NAME.code):
            key = finding.path[-1]
            raise _unrecognized(
                str(key), _owner_class(flow.data, finding.path), _chain(finding.path)
            )


def version_findings(flow: ParsedFlow, version: str) -> list[flowrules.Finding]:
    """The table's findings that Kestra ``version`` refuses when a flow is saved."""
    if flow.findings is None:
        flow.findings = flowrules.findings(flow.data, flow.source)
    return [
        f
        for f in flow.findings
        if version in f.rule.refused and f.rule.code not in NOT_CHECKED_AT_SAVE
    ]


def _unrecognized(
    key: str, cls: str, path: str, known: tuple[str, ...] | None = None
) -> ConstraintViolations:
    original = f'Unrecognized field "{key}" (class {cls}), not marked as ignorable'
    if known is None:  # a nested object: the known properties of plugins are not modelled
        message = original
    else:
        listed = ", ".join(f'"{p}"' for p in known)
        # The "(N known properties: ...)" suffix is Jackson's; its exact list is approximate.
        message = f"{original} ({len(known)} known properties: {listed}])"
    return ConstraintViolations([Violation(path, message)], message=message)


def _chain(path: tuple) -> str:
    """Jackson's reference chain for a path: Class["key"]->java.util.ArrayList[0]->..."""
    out = FLOW_WITH_SOURCE_CLASS
    for part in path:
        out += f"->java.util.ArrayList[{part}]" if isinstance(part, int) else f'["{part}"]'
    return out


def _owner_class(data: Any, path: tuple) -> str:
    """The class Jackson names for the object holding the last key of ``path`` (approximate)."""
    parent = flowrules.value_at(data, path[:-1])
    if path and path[0] == "inputs" and len(path) == 3:
        return "io.kestra.core.models.flows.Input"
    if isinstance(parent, dict) and isinstance(parent.get("type"), str):
        return parent["type"]
    return FLOW_WITH_SOURCE_CLASS


def _check_children(task: dict[str, Any], chain: str) -> None:
    for key in CHILD_TASK_KEYS:
        children = task.get(key)
        if not isinstance(children, list):
            continue
        for index, child in enumerate(children):
            if isinstance(child, dict) and ("type" in child or "id" in child):
                type_ = child.get("type")
                sub = f'{chain}->["{key}"]->java.util.ArrayList[{index}]'
                if not isinstance(type_, str) or type_ == "":
                    _raise_invalid_type(sub)
                _check_children(child, sub)


def _invalid_type(list_key: str, index: int) -> None:
    _raise_invalid_type(f'{FLOW_WITH_SOURCE_CLASS}["{list_key}"]->java.util.ArrayList[{index}]')


def _raise_invalid_type(path: str, type_id: str = "<null>") -> None:
    first = f"Invalid type: {type_id}"
    # Jackson's InvalidTypeIdException text (DeserializationContext.invalidTypeIdException); the
    # location part is approximate for a convertValue() on a map.
    second = (
        f"Could not resolve type id '{type_id}' as a subtype of `io.kestra.core.models.Plugin`: "
        f"No plugin registered for the defined type: '{type_id}'\n at [Source: UNKNOWN; byte offset: #UNKNOWN]"
        f" (through reference chain: {path})"
    )
    raise ConstraintViolations([Violation(path, first), Violation(path, second)], message=first)


def bean_validate(flow: ParsedFlow, version: str = K.LATEST) -> None:
    """``modelValidator.validate(flow)``: bean constraints, KestraConstraintViolationException format,
    with the FlowValidator and InputValidator rules of Kestra ``version`` (knowledge.py).

    Order of violations: the real validator returns a Set; the emulator reports them property by
    property (id, namespace, revision, tasks, triggers, inputs, outputs), constraint by constraint,
    then FlowValidator's findings in its own order, which is stable.
    """
    v: list[Violation] = []
    _string_constraints(v, "id", flow.id, ID_PATTERN, K.FLOW_ID_MAX, not_blank=True)
    _string_constraints(
        v, "namespace", flow.namespace, NAMESPACE_PATTERN, K.NAMESPACE_MAX, not_blank=False
    )
    if flow.revision_in_source is not None and flow.revision_in_source < 1:
        v.append(Violation("revision", "must be greater than or equal to 1"))
    tasks = flow.data.get("tasks")
    if not isinstance(tasks, list) or len(tasks) == 0:
        v.append(Violation("tasks", "must not be empty"))
    for list_key in TASK_LISTS:
        items = flow.data.get(list_key)
        if isinstance(items, list):
            for index, task in enumerate(items):
                if isinstance(task, dict):
                    _task_constraints(v, f"{list_key}[{index}]", task)
    for list_key, pattern in (
        ("triggers", TRIGGER_ID_PATTERN),
        ("inputs", INPUT_ID_PATTERN),
        ("outputs", OUTPUT_ID_PATTERN),
    ):
        items = flow.data.get(list_key)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            ident = as_text(item.get("id"))
            if ident is None and list_key == "inputs":
                ident = as_text(item.get("name"))  # Input.setName (up to 1.3)
            if ident is not None and not re.fullmatch(pattern, ident):
                v.append(Violation(f"{list_key}[{index}].id", f'must match "{pattern}"'))
    found = version_findings(flow, version)
    for finding in found:  # InputValidator: a constraint on each input
        if finding.rule.code in INPUT_VALIDATOR_CODES:
            v.append(Violation(f"inputs[{finding.path[1]}]", finding.rule.server_text))
    # FlowValidator: a class-level constraint (empty property path), its findings joined by ", "
    problems: list[tuple[str, str]] = []
    dup = _duplicates(_task_ids(flow.data))
    if dup:
        problems.append(
            ("duplicate-task-id", "Duplicate task id with name [" + ", ".join(dup) + "]")
        )
    dup = _duplicates(_ids(flow.data.get("triggers")))
    if dup:
        problems.append(
            ("duplicate-trigger-id", "Duplicate trigger id with name [" + ", ".join(dup) + "]")
        )
    dup = _duplicates(_ids(flow.data.get("inputs"), fallback="name"))
    if dup:
        problems.append(
            (K.DUPLICATE_INPUT.code, K.DUPLICATE_INPUT.server_text.format(ids=", ".join(dup)))
        )
    dup = _duplicates(_ids(flow.data.get("outputs")))
    if dup:
        problems.append(
            (K.DUPLICATE_OUTPUT.code, K.DUPLICATE_OUTPUT.server_text.format(ids=", ".join(dup)))
        )
    for label in _labels(flow):
        key = label.get("key") or ""
        if key.startswith(K.SYSTEM_LABEL_PREFIX) and key not in K.SYSTEM_LABEL_ALLOWED:
            problems.append(
                (
                    K.SYSTEM_LABEL.code,
                    K.SYSTEM_LABEL.server_text.format(key=key, value=label.get("value")),
                )
            )
    dashed: dict[str, list[str]] = {}
    for finding in found:
        rule = finding.rule
        if rule.code in (K.DASHED_INPUT_REFERENCE.code, K.DASHED_OUTPUT_REFERENCE.code):
            owner = (finding.args or {}).get("tasks")
            names = dashed.setdefault(rule.code, [])
            if owner and owner not in names:
                names.append(owner)
        elif rule.code in FLOW_VALIDATOR_ORDER and rule.server_text:
            problems.append((rule.code, rule.server_text.format(**(finding.args or {}))))
    for code, names in dashed.items():
        rule = (
            K.DASHED_INPUT_REFERENCE
            if code == K.DASHED_INPUT_REFERENCE.code
            else K.DASHED_OUTPUT_REFERENCE
        )
        problems.append((code, rule.server_text.format(tasks=", ".join(names))))
    problems.sort(key=lambda p: FLOW_VALIDATOR_ORDER.index(p[0]))
    if problems:
        v.append(Violation("", "Invalid Flow: " + ", ".join(text for _, text in problems)))
    if v:
        raise ConstraintViolations(v, kestra=True)


def _ids(items: Any, fallback: str | None = None) -> list[str]:
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            value = item.get("id")
            if value is None and fallback:
                value = item.get(fallback)
            if value is not None:
                out.append(str(as_text(value)))
    return out


def _labels(flow: ParsedFlow) -> list[dict[str, Any]]:
    try:
        return flow.labels() or []
    except AttributeError:
        return []


def _string_constraints(
    v: list[Violation], path: str, value: str | None, pattern: str, max_len: int, not_blank: bool
) -> None:
    if value is None:
        v.append(Violation(path, "must not be null"))
        if not_blank:
            v.append(Violation(path, "must not be blank"))
        return
    if not_blank and value.strip() == "":
        v.append(Violation(path, "must not be blank"))
    if not re.fullmatch(pattern, value):
        v.append(Violation(path, f'must match "{pattern}"'))
    if not 1 <= len(value) <= max_len:
        v.append(Violation(path, f"size must be between 1 and {max_len}"))


def _task_constraints(v: list[Violation], prefix: str, task: dict[str, Any]) -> None:
    task_id = as_text(task.get("id"))
    path = f"{prefix}.id"
    # KestraConstraintViolationException.replaceId: "tasks[0]" -> the task id in the message line
    # (only for the "tasks" prefix; a null id makes the replacement fail and keeps the path).
    line_path = None
    if task_id is not None and prefix.startswith("tasks["):
        line_path = re.sub(r"tasks\[\d+\]", lambda _m: task_id, path)
    if task_id is None:
        v.append(Violation(path, "must not be null"))
        v.append(Violation(path, "must not be blank"))
        return
    if task_id.strip() == "":
        v.append(Violation(path, "must not be blank", line_path))
    if not re.fullmatch(TASK_ID_PATTERN, task_id):
        v.append(Violation(path, f'must match "{TASK_ID_PATTERN}"', line_path))
    if len(task_id) > 256:
        v.append(Violation(path, "Task id must be at most 256 characters", line_path))


def _all_task_ids(tasks: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(tasks, list):
        return out
    for task in tasks:
        if not isinstance(task, dict):
            continue
        tid = as_text(task.get("id"))
        if tid is not None:
            out.append(tid)
        for key in CHILD_TASK_KEYS:
            out.extend(_all_task_ids(task.get(key)))
    return out


def _task_ids(data: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for key in TASK_LISTS:
        ids.extend(_all_task_ids(data.get(key)))
    return ids


def _duplicates(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    dups: list[str] = []
    for tid in ids:
        if tid in seen and tid not in dups:
            dups.append(tid)
        seen.add(tid)
    return dups


def parse_for_write(source: str, version: str = K.LATEST, edition: str = "oss") -> ParsedFlow:
    """Create/update check order (FlowController.createFlow -> FlowService.create, kestra 8ecd8337):
    1. ``GenericFlow.fromYaml`` (syntax, non-mapping, duplicate keys), 2. blank source (unreachable
    over HTTP: step 1 already rejects a blank body), 3. strict parse, 4. bean validation.
    The existence check (create) and the id/namespace check (update) come after, in state.py."""
    flow = parse_generic(source)
    if source.strip() == "":  # pragma: no cover - kept to mirror FlowService.create
        raise illegal_argument("Cannot create flow with null or blank source")
    strict_parse(flow, version, edition)
    bean_validate(flow, version)
    return flow


def update_mismatch(flow: ParsedFlow, namespace: str, flow_id: str) -> ConstraintViolations | None:
    """``Flow.validateUpdate``: id and namespace may not change (plain jakarta message format)."""
    v = []
    if flow.id != flow_id:
        v.append(Violation("flow.id", "Illegal flow id update"))
    if flow.namespace != namespace:
        v.append(Violation("flow.namespace", "Illegal namespace update"))
    return ConstraintViolations(v) if v else None


def already_exists() -> ConstraintViolations:
    """``AbstractJdbcFlowRepository.create``: ManualConstraintViolation at ``flow.id``."""
    return ConstraintViolations([Violation("flow.id", "Flow id already exists")])


# --------------------------------------------------------------------------- validate endpoint


def split_validate_body(body: str) -> list[str]:
    """``FlowController.validateFlows`` YAML branch: ``body.trim().split("\\n+---\\n*?")``.

    Java's String.split drops trailing empty strings; a leading empty string is kept."""
    parts = re.split(r"\n+---\n*?", body.strip())
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return parts


def validate_one(
    source: str,
    index: int,
    last_revision: int | None,
    version: str = K.LATEST,
    edition: str = "oss",
) -> dict[str, Any]:
    """``FlowService.validate`` for one source: a ``ValidateConstraintViolation`` (non-null JSON)."""
    item: dict[str, Any] = {"index": index}
    constraints: str | None = None
    flow_id = namespace = None
    outdated = False
    extras: dict[str, Any] = {}
    try:
        data = load_yaml(source, "flow", FLOW_WITH_SOURCE_CLASS)
        flow = _to_parsed(source, data)
        strict_parse(flow, version, edition)
        if flow.revision_in_source is not None:
            outdated = flow.revision_in_source != (last_revision or 0) + 1
        extras = {"deprecationPaths": [], "warnings": [], "infos": []}
        flow_id, namespace = flow.id, flow.namespace
        bean_validate(flow, version)
    except ConstraintViolations as cve:
        constraints = _format_validation_error(cve.text)
    if flow_id is not None:
        item["flow"] = flow_id
    if namespace is not None:
        item["namespace"] = namespace
    if constraints is not None:
        item["constraints"] = constraints
    item["outdated"] = outdated
    item.update(extras)
    return item


def _format_validation_error(message: str) -> str:
    """``FlowService.formatValidationError``."""
    if message.startswith("Illegal flow source:"):
        return message
    if message.startswith(":"):
        message = message[1:]
    return "Validation error: " + message
