"""What a Kestra server refuses in a flow, per version profile, found the way Kestra finds it.

The offline validator (``kestra_sync.rules.flowrules``) and this module read one table, the
tool's ``knowledge`` (which versions refuse what, the server's texts, the Kestra code each row
copies), but each finds the constructs with its own code: this one follows the server's steps,
so a mistake in the validator's walk is not repeated here and a test can catch it.

- ``parse_refusals``: what the strict parse of a version refuses (``YamlParser`` /
  ``PluginDeserializer``: a type no plugin registers, an unknown property), in document order.
- ``input_violations``: ``InputValidator`` (6361a02de, 1.1), one constraint per input.
- ``flow_violations``: ``FlowValidator.isValid``, its findings in the order it adds them
  (core/src/main/java/io/kestra/core/validations/validator/FlowValidator.java: the 1.3 cut
  cd8039309^ and 2.0 at 8ecd83370).

Pure: no I/O, no state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..rules import knowledge as K
from .yamlparse import as_text


@dataclass(frozen=True)
class ParseRefusal:
    """``kind``: "type" (no plugin for it), "input-type" (an Input subtype the version lacks),
    "property" (an unknown property: Jackson's "Unrecognized field")."""

    kind: str
    path: tuple
    value: str


# ------------------------------------------------------------------------------ the strict parse


def _removed_class(type_: str) -> bool:
    for removal in K.REMOVED_TYPES_2_0:
        if removal.refused and (
            type_ == removal.old or (removal.old.endswith(".") and type_.startswith(removal.old))
        ):
            return True
    return False


def _unknown_type(type_: Any, version: str, aliases: dict[str, str]) -> bool:
    """A type the version's plugin registry does not hold: on 2.0, the classes it removed and
    the legacy aliases (db4416f48 for tasks, f3cf6f7b6 for triggers)."""
    if not isinstance(type_, str) or version not in K.V2:
        return False
    return _removed_class(type_) or type_ in aliases


def tasks_with_paths(data: dict[str, Any]) -> Iterator[tuple[tuple, dict[str, Any]]]:
    """``Flow.allTasksWithChilds``: every task, children after their parent."""

    def walk(path: tuple, items: Any) -> Iterator[tuple[tuple, dict[str, Any]]]:
        if not isinstance(items, list):
            return
        for index, task in enumerate(items):
            if not isinstance(task, dict):
                continue
            yield path + (index,), task
            for key in K.CHILD_TASK_KEYS:
                yield from walk(path + (index, key), task.get(key))

    for key in K.TASK_LISTS:
        yield from walk((key,), data.get(key))


def parse_refusals(data: dict[str, Any], version: str) -> list[ParseRefusal]:
    """What the strict parse of Kestra ``version`` refuses below the top level (the top-level
    keys are ``knowledge.known_flow_keys``), inputs first, then tasks, then triggers."""
    out: list[ParseRefusal] = []
    _input_refusals(data, version, out)
    for path, task in tasks_with_paths(data):
        if _unknown_type(task.get("type"), version, K.LEGACY_TASK_ALIASES):
            out.append(ParseRefusal("type", path + ("type",), task["type"]))
        if version in K.V2 and K.TASK_WORKER_GROUP.old in task:
            out.append(ParseRefusal("property", path + (K.TASK_WORKER_GROUP.old,), ""))
    triggers = data.get("triggers")
    for index, trigger in enumerate(triggers if isinstance(triggers, list) else []):
        if isinstance(trigger, dict):
            _trigger_refusals(("triggers", index), trigger, version, out)
    return out


def _input_refusals(data: dict[str, Any], version: str, out: list[ParseRefusal]) -> None:
    inputs = data.get("inputs")
    if version not in K.V2 or not isinstance(inputs, list):
        return
    removed_types = {r.old for r in K.REMOVED_INPUT_TYPES_2_0}
    for index, item in enumerate(inputs):
        if not isinstance(item, dict):
            continue
        path = ("inputs", index)
        if item.get("type") in removed_types:  # Input's @JsonSubTypes (b57d56df5, 5c6b19bea)
            out.append(ParseRefusal("input-type", path + ("type",), str(item["type"])))
        elif "name" in item:  # Input.setName (f2a41d09b)
            out.append(ParseRefusal("property", path + ("name",), ""))
        elif item.get("type") == "FILE" and K.FILE_INPUT_EXTENSION.old in item:
            out.append(ParseRefusal("property", path + (K.FILE_INPUT_EXTENSION.old,), ""))


def _trigger_refusals(
    path: tuple, trigger: dict[str, Any], version: str, out: list[ParseRefusal]
) -> None:
    if _unknown_type(trigger.get("type"), version, K.LEGACY_TRIGGER_ALIASES):
        out.append(ParseRefusal("type", path + ("type",), trigger["type"]))
    if version not in K.V2:
        return
    removed = (
        K.TRIGGER_CONDITIONS,
        *K.FLOW_TRIGGER_KEYS,
        K.SCHEDULE_CONDITIONS,
        K.TASK_WORKER_GROUP,
    )
    for removal in removed:
        if removal.old in trigger:
            out.append(ParseRefusal("property", path + (removal.old,), ""))


# ------------------------------------------------------------------------------ InputValidator


def input_violations(data: dict[str, Any], version: str) -> list[tuple[int, str]]:
    """(input index, text): ``InputValidator`` (6361a02de, 1.1)."""
    inputs = data.get("inputs")
    out: list[tuple[int, str]] = []
    for index, item in enumerate(inputs if isinstance(inputs, list) else []):
        if not isinstance(item, dict) or item.get("defaults") is None:
            continue
        rule = K.OPTIONAL_WITH_DEFAULTS
        if item.get("required") is False and version in rule.refused:
            out.append((index, rule.server_text))
        rule = K.DEFAULTS_WITH_PREFILL
        if item.get("prefill") is not None and version in rule.refused:
            out.append((index, rule.server_text))
    return out


# ------------------------------------------------------------------------------ FlowValidator


def flow_violations(data: dict[str, Any], version: str, labels: list[dict[str, Any]]) -> list[str]:
    """``FlowValidator.isValid``'s findings for Kestra ``version``, in its order."""
    flow_id, namespace = as_text(data.get("id")), as_text(data.get("namespace"))
    tasks = list(tasks_with_paths(data))
    out: list[str] = []
    if version in K.RESERVED_FLOW_ID.refused and flow_id in K.RESERVED_FLOW_IDS:
        all_ids = ", ".join(K.RESERVED_FLOW_IDS)
        out.append(K.RESERVED_FLOW_ID.server_text.format(id=flow_id, all=all_ids))
    dup = duplicates([as_text(t.get("id")) for _, t in tasks])
    if dup:
        out.append("Duplicate task id with name [" + ", ".join(dup) + "]")
    dup = duplicates(ids(data.get("triggers")))
    if dup:
        out.append("Duplicate trigger id with name [" + ", ".join(dup) + "]")
    for _, task in tasks:
        if _calls_itself(task, flow_id, namespace):
            out.append(K.RECURSIVE_SUBFLOW.server_text.format(namespace=namespace, id=flow_id))
    dup = duplicates(ids(data.get("inputs"), fallback="name"))
    if dup:
        out.append(K.DUPLICATE_INPUT.server_text.format(ids=", ".join(dup)))
    out += _dependency_violations(data.get("inputs"))
    dup = duplicates(ids(data.get("outputs")))
    if dup:
        out.append(K.DUPLICATE_OUTPUT.server_text.format(ids=", ".join(dup)))
    if version in K.SCHEDULE_MISSING_INPUT.refused:
        out += _schedule_violations(data)
    for label in labels:
        key = label.get("key") or ""
        if key.startswith(K.SYSTEM_LABEL_PREFIX) and key not in K.SYSTEM_LABEL_ALLOWED:
            out.append(K.SYSTEM_LABEL.server_text.format(key=key, value=label.get("value")))
    if version in K.DASHED_INPUT_REFERENCE.refused:
        out += _dashed_violations(data, tasks)
    return out


def ids(items: Any, fallback: str | None = None) -> list[str]:
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            value = item.get("id")
            if value is None and fallback:
                value = item.get(fallback)
            if value is not None:
                out.append(str(as_text(value)))
    return out


def duplicates(values: list[Any]) -> list[str]:
    """``getDuplicates``: each value seen more than once, in first-seen order."""
    seen: set[Any] = set()
    dups: list[str] = []
    for value in values:
        if value is None:
            continue
        if value in seen and value not in dups:
            dups.append(value)
        seen.add(value)
    return dups


def _calls_itself(task: dict[str, Any], flow_id: str | None, namespace: str | None) -> bool:
    """ExecutableTask.subflowId() equal to the flow's own namespace and id."""
    return (
        task.get("type") in K.SUBFLOW_TYPES
        and flow_id is not None
        and as_text(task.get("flowId")) == flow_id
        and as_text(task.get("namespace")) == namespace
    )


def _dependency_violations(inputs: Any) -> list[str]:
    """``checkFlowInputsDependencyGraph``: per input, its unknown dependencies, then the cycle
    ``CycleDependency.findCycle`` finds from it (Java's List.toString: "[a, b]")."""
    graph: dict[str, list[str]] = {}
    for item in inputs if isinstance(inputs, list) else []:
        if not isinstance(item, dict):
            continue
        iid = as_text(item.get("id")) or as_text(item.get("name"))
        if iid is None:
            continue
        deps = graph.setdefault(iid, [])
        depends = item.get("dependsOn")
        listed = depends.get("inputs") if isinstance(depends, dict) else None
        if isinstance(listed, list):
            deps.extend(str(d) for d in listed if d is not None)
    out = []
    for key, deps in graph.items():
        for dep in deps:
            if dep not in graph:
                out.append(K.DEPENDS_ON_UNKNOWN.server_text.format(id=key, other=dep))
        cycle = _find_cycle(key, graph, set(), set(), [])
        if cycle is not None:
            out.append(K.DEPENDS_ON_CYCLE.server_text.format(id=key, path=", ".join(cycle)))
    return out


def _find_cycle(
    node: str, graph: dict[str, list[str]], visiting: set[str], visited: set[str], path: list[str]
) -> list[str] | None:
    if node in visiting:
        return path[path.index(node) :]
    if node in visited:
        return None
    visiting.add(node)
    path.append(node)
    for dep in graph.get(node) or ():
        cycle = _find_cycle(dep, graph, visiting, visited, path)
        if cycle is not None:
            return cycle
    visiting.discard(node)
    visited.add(node)
    path.pop()
    return None


def _schedule_violations(data: dict[str, Any]) -> list[str]:
    """``findMissingInputsForScheduleTriggers`` (e074d223d, 2.0): every input whose defaults
    is null, ``required`` whatever it is, must be a key of each Schedule's ``inputs``."""
    inputs = data.get("inputs")
    triggers = data.get("triggers")
    if not isinstance(inputs, list) or not inputs or not isinstance(triggers, list):
        return []
    without_defaults = [
        str(as_text(i.get("id")))
        for i in inputs
        if isinstance(i, dict) and i.get("id") is not None and i.get("defaults") is None
    ]
    out = []
    for trigger in triggers:
        if not isinstance(trigger, dict) or trigger.get("type") not in K.SCHEDULE_TYPES:
            continue
        given = trigger.get("inputs")
        given = given if isinstance(given, dict) else {}
        missing = [i for i in without_defaults if i not in given]
        if missing:
            out.append(
                K.SCHEDULE_MISSING_INPUT.server_text.format(
                    trigger=as_text(trigger.get("id")), inputs=" | ".join(missing)
                )
            )
    return out


def _dashed_violations(
    data: dict[str, Any], tasks: list[tuple[tuple, dict[str, Any]]]
) -> list[str]:
    """The input and output references with a dash in a dotted form (1fb6958e9, 0.23): the
    tasks whose values match ``{{ inputs.<id> }}`` / ``{{ outputs.<id>.… }}``, by task id."""
    inputs = data.get("inputs")
    dashed_inputs = [i for i in ids(inputs) if "-" in i]
    dashed_tasks = [str(as_text(t.get("id"))) for _, t in tasks if "-" in str(t.get("id") or "")]
    out = []
    for rule, patterns in (
        (
            K.DASHED_INPUT_REFERENCE,
            [re.compile(r"\{\{\s*inputs." + i + r"\s*\}\}") for i in dashed_inputs],
        ),
        (
            K.DASHED_OUTPUT_REFERENCE,
            [re.compile(r"\{\{\s*outputs\." + t + r"\.[^}]+\s*\}\}") for t in dashed_tasks],
        ),
    ):
        if not patterns:
            continue
        offending = [
            str(as_text(task.get("id")))
            for _, task in tasks
            if any(p.search(text) for text in _strings(_own_values(task)) for p in patterns)
        ]
        if offending:
            out.append(rule.server_text.format(tasks=", ".join(offending)))
    return out


def _own_values(task: dict[str, Any]) -> dict[str, Any]:
    """The task's properties but its child tasks (each child is checked as a task itself)."""
    return {k: v for k, v in task.items() if k not in K.CHILD_TASK_KEYS}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
