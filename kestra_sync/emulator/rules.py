"""How the Kestra server parses and validates a flow source, and the exact error texts it sends.

Everything here is pure (no I/O, no state). A failure is raised as ``Rejection``: the HTTP status,
the reason phrase and the JSON body the real server would send. Sources read (kestra-io/kestra
develop, via the fork erickirt/kestra at 8ecd8337): ``GenericFlow.fromYaml``, ``YamlParser``,
``PluginDefaultService.parseFlowWithVersionDefaults``, ``PluginDeserializer``, ``AbstractFlow``,
``Flow``, ``TaskInterface``, ``KestraConstraintViolationException``, ``FlowValidator``,
``ErrorController``, ``FlowService.create``/``update``; docs/kestra-api.md. The Jackson/SnakeYAML
message texts were probed with jackson-dataformat-yaml 2.17.2 + SnakeYAML 2.2 (Kestra ships a
newer Jackson: the ``[Source: ...]`` part of the location may differ).

Version profiles: which version refuses what, and the server's texts, come from the tool's
``knowledge`` table (standard library only: the one part of the tool the emulator imports). The
constructs are found by ``flowvalidator``, the emulator's own copy of Kestra's steps, never by
the offline validator's code: the emulator is an oracle for the validator, not a mirror of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..rules import knowledge as K
from . import flowvalidator
from .errors import (
    ConstraintViolations,
    Rejection,
    Violation,
    illegal_argument,
    not_found,
)
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

    def labels(self) -> list[dict[str, str | None]] | None:
        """Labels as a list of {key, value} (ListOrMapOfLabelDeserializer), values as strings;
        the key is None where a label in a list has none."""
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


def strict_parse(
    flow: ParsedFlow, version: str = K.LATEST, edition: str = "oss", lenient: bool = False
) -> None:
    """``parseFlowWithVersionDefaults(..., strict=true)``: unknown properties and plugin types,
    as Kestra ``version`` binds them (``knowledge.known_flow_keys``, the 2.0 removals).

    ``lenient``: the parse of an update before 2.0 (``knowledge.LENIENT_UPDATE``): unknown
    properties are ignored, types are still resolved.

    The emulator has no plugin registry: any non-empty string ``type`` is accepted (KNOWN_GAPS),
    except the types the version removed. A task or trigger without a usable ``type`` fails like
    ``PluginDeserializer`` does for an unresolvable type: ``Invalid type: <null>`` with two
    violations (YamlParser.toConstraintViolationException).
    """
    known_keys = K.known_flow_keys(version, edition)
    for key in flow.data:
        if key not in known_keys and not lenient:
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
    for refusal in flowvalidator.parse_refusals(flow.data, version):
        _raise_refusal(flow, refusal, lenient)


def _raise_refusal(flow: ParsedFlow, refusal: flowvalidator.ParseRefusal, lenient: bool) -> None:
    path = _chain(refusal.path)
    if refusal.kind == "type":
        _raise_invalid_type(path, refusal.value)
    if refusal.kind == "input-type":
        # Jackson's message for an unknown @JsonTypeInfo id (approximate, KNOWN_GAPS).
        message = (
            f"Could not resolve type id '{refusal.value}' as a subtype of "
            f"`io.kestra.core.models.flows.Input<java.lang.Object>`\n at [Source: UNKNOWN; "
            f"byte offset: #UNKNOWN] (through reference chain: {path})"
        )
        raise ConstraintViolations([Violation(path, message)], message=message)
    if not lenient:
        key = str(refusal.path[-1])
        raise _unrecognized(key, _owner_class(flow.data, refusal.path), path)


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
    parent = _value_at(data, path[:-1])
    if path and path[0] == "inputs" and len(path) == 3:
        return "io.kestra.core.models.flows.Input"
    if isinstance(parent, dict) and isinstance(parent.get("type"), str):
        return parent["type"]
    return FLOW_WITH_SOURCE_CLASS


def _value_at(data: Any, path: tuple) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


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
    with the FlowValidator and InputValidator rules of Kestra ``version`` (``flowvalidator``).

    Order of violations: the real validator returns a Set; the emulator reports them property by
    property (id, namespace, revision, tasks, triggers, inputs, outputs), constraint by constraint,
    then InputValidator's, then FlowValidator's findings in its own order, which is stable.
    """
    v: list[Violation] = []
    _flow_constraints(v, flow)
    _id_constraints(v, flow.data)
    for index, text in flowvalidator.input_violations(flow.data, version):
        v.append(Violation(f"inputs[{index}]", text))
    # FlowValidator: a class-level constraint (empty property path), its findings joined by ", "
    problems = flowvalidator.flow_violations(flow.data, version, _labels(flow))
    if problems:
        v.append(Violation("", "Invalid Flow: " + ", ".join(problems)))
    if v:
        raise ConstraintViolations(v, kestra=True)


def _flow_constraints(v: list[Violation], flow: ParsedFlow) -> None:
    """AbstractFlow's id, namespace, revision and tasks, then each task's id."""
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


def _id_constraints(v: list[Violation], data: dict[str, Any]) -> None:
    """The @Pattern of trigger, input and output ids."""
    for list_key, pattern in (
        ("triggers", TRIGGER_ID_PATTERN),
        ("inputs", INPUT_ID_PATTERN),
        ("outputs", OUTPUT_ID_PATTERN),
    ):
        items = data.get(list_key)
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            ident = as_text(item.get("id"))
            if ident is None and list_key == "inputs":
                ident = as_text(item.get("name"))  # Input.setName (up to 1.3)
            if ident is not None and not re.fullmatch(pattern, ident):
                v.append(Violation(f"{list_key}[{index}].id", f'must match "{pattern}"'))


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


def parse_for_write(
    source: str, version: str = K.LATEST, edition: str = "oss", update: bool = False
) -> ParsedFlow:
    """Create/update check order (FlowController.createFlow -> FlowService.create, kestra 8ecd8337):
    1. ``GenericFlow.fromYaml`` (syntax, non-mapping, duplicate keys), 2. blank source (unreachable
    over HTTP: step 1 already rejects a blank body), 3. strict parse, 4. bean validation.
    The existence check (create) and the id/namespace check (update) come after, in state.py.
    ``update``: a PUT, parsed leniently before 2.0 (``knowledge.LENIENT_UPDATE``)."""
    flow = parse_generic(source)
    if source.strip() == "":  # pragma: no cover - kept to mirror FlowService.create
        raise illegal_argument("Cannot create flow with null or blank source")
    strict_parse(flow, version, edition, lenient=update and version in K.LENIENT_UPDATE.versions)
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
