"""The offline checks whose verdict depends on the Kestra version (rules and facts: ``knowledge``).

Each check yields a ``Finding``: where, which rule of the table, and what was found. ``judge``
turns it into a diagnostic for a target version:

- a version is known (``--kestra-version``, ``KESTRA_VERSION``, ``kestra_version:``, or the
  server's): an error when that version refuses it, a warning when it only accepts an old name;
- no version is known: an error only when every supported version refuses it; otherwise a
  warning naming the versions that refuse it, so a flow some version accepts is never rejected.

The same table drives the upgrade lint: ``validate --kestra-version 2.0`` on a 1.3 tree names
every construct 2.0 removes, with its replacement and the migration-guide page.

Like ``knowledge``, this module imports only the standard library and ``knowledge``: the emulator
applies the very same checks when it answers create, update and validate for a version profile.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from . import knowledge as K

ERROR = "error"  # the severities of models.Diagnostic
WARNING = "warning"

TYPE_KEY = "type"


@dataclass(frozen=True)
class Finding:
    path: tuple
    rule: K.Rule
    detail: str  # what was found, e.g. "input 'name' is written 'name:'"
    key: bool = False  # point at the key rather than its value
    fix: str | None = None  # the exact replacement for this occurrence, when the rule's is generic
    args: dict | None = None  # values for the rule's server_text (the emulator's 422 texts)


def judge(finding: Finding, target: str | None) -> tuple[str, str] | None:
    """(severity, message) for ``finding`` under ``target`` (None: every supported version)."""
    rule = finding.rule
    if target is not None:
        if target in rule.refused:
            verdict = f"Kestra {target} refuses it"
            severity = ERROR
        elif target in rule.renamed:
            verdict = f"deprecated on Kestra {target}"
            severity = WARNING
        else:
            return None
    else:
        if not rule.refused and not rule.renamed:
            return None
        if set(K.VERSIONS) <= set(rule.refused):
            verdict = "Kestra refuses it"
            severity = ERROR
        else:
            parts = []
            if rule.refused:
                verb = "refuses" if len(rule.refused) == 1 else "refuse"
                parts.append(f"Kestra {K.describe_versions(rule.refused)} {verb} it")
            if rule.renamed:
                parts.append(f"deprecated on {K.describe_versions(rule.renamed)}")
            verdict = "; ".join(parts) + " (no Kestra version set: see --kestra-version)"
            severity = WARNING
    replacement = finding.fix or rule.fix
    fix = f"replace it with '{replacement}'" if rule.mechanical else replacement
    message = f"{finding.detail}: {verdict}; {fix}"
    if rule.guide and (target is None or target in rule.refused or target in rule.renamed):
        message += f" (see {rule.guide})"
    return severity, message


# ------------------------------------------------------------------------------ the checks


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_CHILD_KEYS = frozenset(K.CHILD_TASK_KEYS + K.CHILD_BRANCH_KEYS)


def iter_tasks(data: dict, lists: Iterable[str] = K.TASK_LISTS) -> Iterator[tuple[tuple, dict]]:
    """Every task mapping with its path, children included (Flow.allTasksWithChilds)."""
    stack: list[tuple[tuple, Any]] = []
    for key in reversed(tuple(lists)):
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
            if _CHILD_KEYS.isdisjoint(task):
                continue  # most tasks hold no children
            for key in K.CHILD_TASK_KEYS:
                sub = task.get(key)
                if isinstance(sub, list) and any(
                    isinstance(t, dict) and ("type" in t or "id" in t) for t in sub
                ):
                    children.append((path + (i, key), sub))
            for key in K.CHILD_BRANCH_KEYS:
                sub = task.get(key)
                if isinstance(sub, dict):
                    for name, branch in sub.items():
                        if isinstance(branch, list):
                            children.append((path + (i, key, name), branch))
        stack.extend(reversed(children))


def _strings(node: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, path + (i,))


def _removal_rule(code: str, what: str, removal: K.Removal, alias: bool = False) -> K.Rule:
    fix = (
        removal.new
        if removal.mechanical
        else (f"use {removal.new}" if removal.new else "remove it")
    )
    return K.Rule(
        code=code,
        what=what,
        refused=() if alias else K.V2,
        renamed=K.V2 if alias else (),
        fix=fix,
        mechanical=removal.mechanical,
        source=removal.source,
        guide=K.MIGRATION_GUIDE_2_0,
    )


_REMOVED_EXACT = {r.old: r for r in K.REMOVED_TYPES_2_0 if not r.old.endswith(".")}
_REMOVED_PREFIXES = tuple(r.old for r in K.REMOVED_TYPES_2_0 if r.old.endswith("."))


def removed_type(type_: str) -> K.Removal | None:
    found = _REMOVED_EXACT.get(type_)
    if found is None and type_.startswith(_REMOVED_PREFIXES):
        found = next(r for r in K.REMOVED_TYPES_2_0 if type_.startswith(r.old))
    return found


def findings(data: dict, source: str = "") -> list[Finding]:
    """Every version-dependent finding in one flow (``data`` is a mapping)."""
    out: list[Finding] = []
    flow_id = _text(data.get("id"))
    namespace = _text(data.get("namespace"))

    for key in data:
        rule = K.FLOW_KEY_RULES.get(key)
        if rule is not None:
            out.append(Finding((key,), rule, rule.what, key=True))

    if flow_id in K.RESERVED_FLOW_IDS:
        out.append(
            Finding(
                ("id",),
                K.RESERVED_FLOW_ID,
                f"flow id '{flow_id}' is a reserved keyword",
                args={"id": flow_id, "all": ", ".join(K.RESERVED_FLOW_IDS)},
            )
        )

    input_ids = _check_inputs(data, out)
    tasks = list(iter_tasks(data))
    for path, task in tasks:
        _check_task(path, task, flow_id, namespace, out)
    _check_triggers(data, input_ids, out)
    _check_checks(data, out)
    _check_expressions(data, source, input_ids, tasks, out)
    return out


def _check_inputs(data: dict, out: list[Finding]) -> dict[str, dict]:
    inputs = data.get("inputs")
    if not isinstance(inputs, list):
        return {}
    ids: dict[str, dict] = {}
    graph: dict[str, list[str]] = {}
    where: dict[str, int] = {}
    for i, item in enumerate(inputs):
        if not isinstance(item, dict):
            continue
        iid = _text(item.get("id"))
        if "name" in item:
            name = _text(item.get("name"))
            out.append(
                Finding(
                    ("inputs", i, "name"),
                    K.INPUT_NAME,
                    f"input '{name}' is written 'name:'",
                    key=True,
                )
            )
            iid = iid or name
        if iid is None:
            continue
        ids.setdefault(iid, item)
        where.setdefault(iid, i)
        if item.get("defaults") is not None and item.get("required") is False:
            out.append(
                Finding(
                    ("inputs", i, "required"),
                    K.OPTIONAL_WITH_DEFAULTS,
                    f"input '{iid}' has 'required: false' and 'defaults'",
                )
            )
        if item.get("defaults") is not None and item.get("prefill") is not None:
            out.append(
                Finding(
                    ("inputs", i, "prefill"),
                    K.DEFAULTS_WITH_PREFILL,
                    f"input '{iid}' has both 'defaults' and 'prefill'",
                    key=True,
                )
            )
        itype = _text(item.get("type"))
        for removal in K.REMOVED_INPUT_TYPES_2_0:
            if itype == removal.old:
                out.append(
                    Finding(
                        ("inputs", i, "type"),
                        _removal_rule("removed-input-type", "input type", removal),
                        f"input type {itype} (input '{iid}') was removed in Kestra 2.0",
                    )
                )
        if itype == "FILE" and "extension" in item:
            out.append(
                Finding(
                    ("inputs", i, "extension"),
                    _removal_rule(
                        "removed-input-extension", "FILE input extension", K.FILE_INPUT_EXTENSION
                    ),
                    f"FILE input '{iid}' sets 'extension', removed in Kestra 2.0",
                    key=True,
                )
            )
        depends = item.get("dependsOn")
        deps = depends.get("inputs") if isinstance(depends, dict) else None
        graph.setdefault(iid, [])
        if isinstance(deps, list):
            graph[iid].extend(str(d) for d in deps if d is not None)
    for iid, deps in graph.items():
        for dep in deps:
            if dep not in graph:
                out.append(
                    Finding(
                        ("inputs", where[iid], "dependsOn"),
                        K.DEPENDS_ON_UNKNOWN,
                        f"input '{iid}' depends on '{dep}', which is not an input of this flow",
                        args={"id": iid, "other": dep},
                    )
                )
    for iid in graph:
        cycle = _cycle(iid, graph)
        if cycle:
            out.append(
                Finding(
                    ("inputs", where[iid], "dependsOn"),
                    K.DEPENDS_ON_CYCLE,
                    f"input '{iid}' is in a dependsOn cycle: {' -> '.join(cycle + [cycle[0]])}",
                    args={"id": iid, "path": ", ".join(cycle)},
                )
            )
    return ids


def _cycle(start: str, graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle reachable from ``start`` that goes through it (FlowValidator.CycleDependency
    reports the first cycle found from each input; here only those containing the input)."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for dep in graph.get(node, ()):
            if dep == start:
                return path
            if dep not in seen and dep in graph:
                seen.add(dep)
                stack.append((dep, path + [dep]))
    return None


def _check_task(
    path: tuple, task: dict, flow_id: str | None, namespace: str | None, out: list[Finding]
) -> None:
    type_ = _text(task.get(TYPE_KEY))
    tid = _text(task.get("id"))
    if (
        type_ in K.SUBFLOW_TYPES
        and flow_id is not None
        and _text(task.get("flowId")) == flow_id
        and _text(task.get("namespace")) == namespace
    ):
        out.append(
            Finding(
                path + ("flowId",),
                K.RECURSIVE_SUBFLOW,
                f"task '{tid}' calls its own flow {namespace}/{flow_id}",
                args={"namespace": namespace, "id": flow_id},
            )
        )
    if type_:
        _check_type(path, type_, f"task '{tid}'", out)
    if "runner" in task and "taskRunner" not in task:
        out.append(
            Finding(
                path + ("runner",),
                _removal_rule("removed-runner", "runner", K.RUNNER_KEY),
                f"task '{tid}' sets 'runner:', removed in Kestra 2.0",
                key=True,
            )
        )
    group = task.get("workerGroup")
    if isinstance(group, dict) and "key" in group:
        out.append(
            Finding(
                path + ("workerGroup", "key"),
                _removal_rule(
                    "removed-workerGroup-key", "workerGroup.key", K.TASK_WORKER_GROUP_KEY
                ),
                f"task '{tid}' sets workerGroup.key, removed in Kestra 2.0",
                key=True,
            )
        )
    for removal in K.RENAMED_KEYS_2_0:
        if removal.old in task:
            out.append(
                Finding(
                    path + (removal.old,),
                    _removal_rule("renamed-" + removal.old, removal.old, removal, alias=True),
                    f"task '{tid}' uses '{removal.old}', renamed '{removal.new}' in Kestra 2.0",
                    key=True,
                )
            )


def _check_type(path: tuple, type_: str, who: str, out: list[Finding]) -> None:
    removal = removed_type(type_)
    if removal is not None:
        out.append(
            Finding(
                path + (TYPE_KEY,),
                _removal_rule("removed-type", "type", removal),
                f"{who} has type {type_}, removed in Kestra 2.0",
            )
        )


def _check_triggers(data: dict, input_ids: dict[str, dict], out: list[Finding]) -> None:
    triggers = data.get("triggers")
    if not isinstance(triggers, list):
        return
    needed = [
        iid
        for iid, item in input_ids.items()
        if item.get("defaults") is None and item.get("required") is not False
    ]
    for i, trig in enumerate(triggers):
        if not isinstance(trig, dict):
            continue
        path = ("triggers", i)
        tid = _text(trig.get("id"))
        type_ = _text(trig.get(TYPE_KEY)) or ""
        _check_type(path, type_, f"trigger '{tid}'", out)
        if "conditions" in trig:
            out.append(
                Finding(
                    path + ("conditions",),
                    _removal_rule("removed-trigger-conditions", "conditions", K.TRIGGER_CONDITIONS),
                    f"trigger '{tid}' uses 'conditions', removed in Kestra 2.0",
                    key=True,
                )
            )
            conditions = trig.get("conditions")
            if isinstance(conditions, list):
                for j, cond in enumerate(conditions):
                    if isinstance(cond, dict) and _text(cond.get(TYPE_KEY)):
                        _check_type(
                            path + ("conditions", j),
                            _text(cond[TYPE_KEY]) or "",
                            f"a condition of trigger '{tid}'",
                            out,
                        )
        for removal in K.FLOW_TRIGGER_KEYS:
            if removal.old in trig:
                out.append(
                    Finding(
                        path + (removal.old,),
                        _removal_rule("removed-trigger-" + removal.old, removal.old, removal),
                        f"trigger '{tid}' uses '{removal.old}', removed in Kestra 2.0",
                        key=True,
                    )
                )
        if K.SCHEDULE_CONDITIONS.old in trig:
            out.append(
                Finding(
                    path + (K.SCHEDULE_CONDITIONS.old,),
                    _removal_rule(
                        "removed-scheduleConditions", "scheduleConditions", K.SCHEDULE_CONDITIONS
                    ),
                    f"trigger '{tid}' uses 'scheduleConditions', removed in Kestra 2.0",
                    key=True,
                )
            )
        if type_ in K.SCHEDULE_TYPES and needed:
            given = trig.get("inputs")
            given = given if isinstance(given, dict) else {}
            missing = [iid for iid in needed if iid not in given]
            if missing:
                out.append(
                    Finding(
                        path,
                        K.SCHEDULE_MISSING_INPUT,
                        f"Schedule trigger '{tid}' leaves input(s) {', '.join(missing)} unset "
                        "(required, no default)",
                        args={"trigger": tid, "inputs": ", ".join(missing)},
                    )
                )


def _check_checks(data: dict, out: list[Finding]) -> None:
    checks = data.get("checks")
    if not isinstance(checks, list):
        return
    for i, check in enumerate(checks):
        if isinstance(check, dict) and K.CHECK_CONDITION.old in check:
            out.append(
                Finding(
                    ("checks", i, "condition"),
                    _removal_rule(
                        "renamed-check-condition", "condition", K.CHECK_CONDITION, alias=True
                    ),
                    "checks[].condition is renamed 'when' in Kestra 2.0",
                    key=True,
                )
            )


def value_at(data: Any, path: tuple) -> Any:
    """The node at ``path`` (keys and indexes) in parsed YAML, or None where the path leads
    nowhere. Shared by the validator, the 2.0 fixer and the emulator."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _owner_task(data: Any, path: tuple) -> str | None:
    """The id of the innermost task holding the node at ``path`` (for the server's texts)."""
    owner = None
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and "type" in node and "id" in node:
            owner = _text(node.get("id"))
    return owner


_JSON_FUNCTION = re.compile(K.EXPRESSION_REMOVALS_2_0[0][0])
_JSON_FILTER = re.compile(K.EXPRESSION_REMOVALS_2_0[1][0])


def _check_expressions(
    data: dict,
    source: str,
    input_ids: dict[str, dict],
    tasks: list[tuple[tuple, dict]],
    out: list[Finding],
) -> None:
    """Pebble expressions: dashed ids in dotted references, json() / | json, CANCELED.
    The raw text is searched first, so a flow without any of them costs no walk."""
    dashed_inputs = [i for i in input_ids if "-" in i]
    dashed_tasks = [str(t.get("id")) for _, t in tasks if "-" in str(t.get("id") or "")]
    # Plain substring tests first: a regex over every source costs more than all other checks.
    want_json = "json" in source and ("json(" in source or "| json" in source or "|json" in source)
    want_state = "CANCELED" in source
    if not (dashed_inputs or dashed_tasks or want_json or want_state):
        return
    input_refs = [
        (i, re.compile(r"\{\{\s*inputs." + re.escape(i) + r"\s*\}\}")) for i in dashed_inputs
    ]
    output_refs = [
        (t, re.compile(r"\{\{\s*outputs\." + re.escape(t) + r"\.[^}]+\s*\}\}"))
        for t in dashed_tasks
    ]
    for path, text in _strings(data, ()):
        if path and path[0] == "description":
            continue
        for iid, pattern in input_refs:
            if path[0] in K.TASK_LISTS and pattern.search(text):
                out.append(
                    Finding(
                        path,
                        K.DASHED_INPUT_REFERENCE,
                        f"'{{{{ inputs.{iid} }}}}' refers to an input id with a dash",
                        fix=f"{{{{ inputs['{iid}'] }}}}",
                        args={"tasks": _owner_task(data, path)},
                    )
                )
        for tid, pattern in output_refs:
            if path[0] in (*K.TASK_LISTS, "outputs") and pattern.search(text):
                out.append(
                    Finding(
                        path,
                        K.DASHED_OUTPUT_REFERENCE,
                        f"'{{{{ outputs.{tid}... }}}}' refers to a task id with a dash",
                        fix=f"{{{{ outputs['{tid}']... }}}}",
                        args={"tasks": _owner_task(data, path)},
                    )
                )
        if want_json and ("{{" in text or "{%" in text):
            for pattern, (_, _new, src) in (
                (_JSON_FUNCTION, K.EXPRESSION_REMOVALS_2_0[0]),
                (_JSON_FILTER, K.EXPRESSION_REMOVALS_2_0[1]),
            ):
                if pattern.search(text):
                    old = "json()" if pattern is _JSON_FUNCTION else "| json"
                    shown = "fromJson()" if pattern is _JSON_FUNCTION else "| toJson"
                    removal = K.Removal(old, shown, src, True)
                    out.append(
                        Finding(
                            path,
                            _removal_rule("removed-json-function", old, removal),
                            f"expression uses {old}, removed in Kestra 2.0",
                        )
                    )
        if want_state and text == "CANCELED":
            removal = K.STATE_RENAMES_2_0[0]
            out.append(
                Finding(
                    path,
                    _removal_rule("renamed-state", "CANCELED", removal),
                    "state CANCELED is spelled CANCELLED in Kestra 2.0",
                )
            )
