"""The offline checks whose verdict depends on the Kestra version (rules and facts: ``knowledge``).

Each check yields a ``Finding``: where, which rule of the table, and what was found. ``judge``
turns it into a diagnostic for a target version:

- a version is known (``--kestra-version``, ``KESTRA_VERSION``, ``kestra_version:``, or the
  server's): an error when that version refuses it, a warning when it only accepts an old name;
- no version is known: an error only when every supported version refuses it; otherwise a
  warning naming the versions that refuse it, so a flow some version accepts is never rejected.

The same table drives the upgrade lint: ``validate --kestra-version 2.0`` on a 1.3 tree names
every construct 2.0 removes, with its replacement and the migration-guide page.

Like ``knowledge``, this module imports only the standard library and ``knowledge``. The emulator
does not use it: it reads the same table (``knowledge``) but finds what a server refuses with its
own code, written after Kestra's (emulator/flowvalidator.py), so a mistake here is not repeated
there.
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
            if _dropped_on_update(finding, target):
                verdict += (
                    " in a new flow and drops it without a word from an existing one (Kestra "
                    "parses an update leniently before 2.0)"
                )
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


def _dropped_on_update(finding: Finding, target: str) -> bool:
    """A top-level key ``target`` does not know: a create refuses it, but before 2.0 an update
    saves the flow without it (knowledge.LENIENT_UPDATE), so the plan must not let it pass."""
    return (
        finding.key
        and len(finding.path) == 1
        and finding.path[0] in K.FLOW_KEY_RULES
        and target in K.LENIENT_UPDATE.versions
    )


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


def _removal_rule(code: str, what: str, removal: K.Removal) -> K.Rule:
    """The rule for one row of the 2.0 removals: refused by 2.0, or (``removal.refused`` empty)
    a deprecation 2.0 still accepts, a warning."""
    fix = (
        removal.new
        if removal.mechanical
        else (f"use {removal.new}" if removal.new else "remove it")
    )
    return K.Rule(
        code=code,
        what=what,
        refused=removal.refused,
        renamed=() if removal.refused else K.V2,
        fix=fix,
        mechanical=removal.mechanical,
        source=removal.source,
        guide=K.MIGRATION_GUIDE_2_0,
        fix_valid=removal.fix_valid,
    )


_REMOVED_EXACT = {r.old: r for r in K.REMOVED_TYPES_2_0 if not r.old.endswith(".")}
_REMOVED_PREFIXES = tuple(r.old for r in K.REMOVED_TYPES_2_0 if r.old.endswith("."))
_MOVED_PREFIXES = tuple(r.old for r in K.MOVED_PLUGIN_TYPES_2_0)


def _alias_removal(type_: str) -> K.Removal | None:
    """A legacy core alias (gone in 2.0): a mechanical rewrite to the type it named, unless
    2.0 removed that type too (then that type's row, which says what to use)."""
    for aliases, source in (
        (K.LEGACY_TASK_ALIASES, K.LEGACY_TASK_ALIASES_SOURCE),
        (K.LEGACY_TRIGGER_ALIASES, K.LEGACY_TRIGGER_ALIASES_SOURCE),
    ):
        target = aliases.get(type_)
        if target is not None:
            gone = _removed_class(target)
            if gone is not None:
                return K.Removal(type_, gone.new, f"{source}; its class: {gone.source}")
            return K.Removal(type_, target, source, True, K.LEGACY_ALIAS_FIX_VALID)
    return None


def _removed_class(type_: str) -> K.Removal | None:
    found = _REMOVED_EXACT.get(type_)
    if found is None and type_.startswith(_REMOVED_PREFIXES):
        found = next(r for r in K.REMOVED_TYPES_2_0 if type_.startswith(r.old))
    return found


def removed_type(type_: str) -> K.Removal | None:
    """The 2.0 row for a task, trigger or condition type: a removed class, a legacy alias, or a
    type the migration guide says moved to another plugin (a warning only)."""
    found = _removed_class(type_) or _alias_removal(type_)
    if found is None and type_.startswith(_MOVED_PREFIXES):
        found = next(r for r in K.MOVED_PLUGIN_TYPES_2_0 if type_.startswith(r.old))
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


# ------------------------------------------------------------------------------ inputs


def _check_inputs(data: dict, out: list[Finding]) -> dict[str, dict]:
    """Each input's own rules, then the dependsOn graph; returns the inputs by id."""
    inputs = data.get("inputs")
    if not isinstance(inputs, list):
        return {}
    ids: dict[str, dict] = {}
    graph: dict[str, list[str]] = {}
    where: dict[str, int] = {}
    for i, item in enumerate(inputs):
        if not isinstance(item, dict):
            continue
        iid = _check_input(i, item, out)
        if iid is None:
            continue
        ids.setdefault(iid, item)
        where.setdefault(iid, i)
        depends = item.get("dependsOn")
        deps = depends.get("inputs") if isinstance(depends, dict) else None
        graph.setdefault(iid, [])
        if isinstance(deps, list):
            graph[iid].extend(str(d) for d in deps if d is not None)
    _check_dependencies(graph, where, out)
    return ids


def _check_input(i: int, item: dict, out: list[Finding]) -> str | None:
    """The rules of one input (InputValidator, the 2.0 removals); returns its id."""
    iid = _text(item.get("id"))
    if "name" in item:
        name = _text(item.get("name"))
        out.append(
            Finding(
                ("inputs", i, "name"), K.INPUT_NAME, f"input '{name}' is written 'name:'", key=True
            )
        )
        iid = iid or name
    if iid is None:
        return None
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
    return iid


def _check_dependencies(
    graph: dict[str, list[str]], where: dict[str, int], out: list[Finding]
) -> None:
    """FlowValidator.checkFlowInputsDependencyGraph: unknown inputs, then cycles."""
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


# ------------------------------------------------------------------------------ tasks, triggers


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
                _removal_rule("deprecated-runner", "runner", K.RUNNER_KEY),
                f"task '{tid}' sets 'runner:', deprecated",
                key=True,
            )
        )
    _check_worker_group(path, task, f"task '{tid}'", out)


def _check_worker_group(path: tuple, node: dict, who: str, out: list[Finding]) -> None:
    if K.TASK_WORKER_GROUP.old in node:
        out.append(
            Finding(
                path + (K.TASK_WORKER_GROUP.old,),
                _removal_rule("removed-workerGroup", "workerGroup", K.TASK_WORKER_GROUP),
                f"{who} sets 'workerGroup', removed in Kestra 2.0",
                key=True,
            )
        )


def _check_type(path: tuple, type_: str, who: str, out: list[Finding]) -> None:
    removal = removed_type(type_)
    if removal is not None:
        verb = "removed in" if removal.refused else "moved out of the core in"
        out.append(
            Finding(
                path + (TYPE_KEY,),
                _removal_rule("removed-type", "type", removal),
                f"{who} has type {type_}, {verb} Kestra 2.0",
            )
        )


def _check_triggers(data: dict, input_ids: dict[str, dict], out: list[Finding]) -> None:
    triggers = data.get("triggers")
    if not isinstance(triggers, list):
        return
    # FlowValidator.findMissingInputsForScheduleTriggers (2.0): every input without defaults,
    # `required: false` or not.
    needed = [iid for iid, item in input_ids.items() if item.get("defaults") is None]
    for i, trig in enumerate(triggers):
        if not isinstance(trig, dict):
            continue
        path = ("triggers", i)
        tid = _text(trig.get("id"))
        type_ = _text(trig.get(TYPE_KEY)) or ""
        _check_type(path, type_, f"trigger '{tid}'", out)
        _check_worker_group(path, trig, f"trigger '{tid}'", out)
        _check_trigger_keys(path, trig, tid, out)
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
                        "(no 'defaults')",
                        args={"trigger": tid, "inputs": " | ".join(missing)},
                    )
                )


def _check_trigger_keys(path: tuple, trig: dict, tid: str | None, out: list[Finding]) -> None:
    """Trigger properties 2.0 removed: conditions (and their types), preconditions,
    multipleConditions, scheduleConditions."""
    removals = (
        ("removed-trigger-conditions", K.TRIGGER_CONDITIONS),
        *(("removed-trigger-" + r.old, r) for r in K.FLOW_TRIGGER_KEYS),
        ("removed-scheduleConditions", K.SCHEDULE_CONDITIONS),
    )
    for code, removal in removals:
        if removal.old in trig:
            out.append(
                Finding(
                    path + (removal.old,),
                    _removal_rule(code, removal.old, removal),
                    f"trigger '{tid}' uses '{removal.old}', removed in Kestra 2.0",
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


def _check_checks(data: dict, out: list[Finding]) -> None:
    checks = data.get("checks")
    if not isinstance(checks, list):
        return
    for i, check in enumerate(checks):
        if isinstance(check, dict) and K.CHECK_CONDITION.old in check:
            out.append(
                Finding(
                    ("checks", i, "condition"),
                    _removal_rule("renamed-check-condition", "condition", K.CHECK_CONDITION),
                    "checks[].condition is renamed 'when' in Kestra 2.0",
                    key=True,
                )
            )


def value_at(data: Any, path: tuple) -> Any:
    """The node at ``path`` (keys and indexes) in parsed YAML, or None where the path leads
    nowhere. Shared by the validator and the 2.0 fixer."""
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


# ------------------------------------------------------------------------------ expressions

_JSON_FUNCTION = re.compile(K.EXPRESSION_REMOVALS_2_0[0][0])
_JSON_FILTER = re.compile(K.EXPRESSION_REMOVALS_2_0[1][0])
JSON_PATTERNS = (  # (pattern, old, new, source): what --fix rewrites inside a string
    (_JSON_FUNCTION, "json(", "fromJson(", K.EXPRESSION_REMOVALS_2_0[0][2]),
    (_JSON_FILTER, "| json", "| toJson", K.EXPRESSION_REMOVALS_2_0[1][2]),
)
_FUNCTIONS = tuple((re.compile(r"\b" + r.old + r"\s*\("), r) for r in K.REMOVED_FUNCTIONS_2_0)


def _check_expressions(
    data: dict,
    source: str,
    input_ids: dict[str, dict],
    tasks: list[tuple[tuple, dict]],
    out: list[Finding],
) -> None:
    """Pebble expressions: dashed ids in dotted references, json() / | json, the functions
    removed with ForEach. The raw text is searched first, so a flow without any of them costs
    no walk."""
    dashed_inputs = [i for i in input_ids if "-" in i]
    dashed_tasks = [str(t.get("id")) for _, t in tasks if "-" in str(t.get("id") or "")]
    # Plain substring tests first: a regex over every source costs more than all other checks.
    want_json = "json" in source and ("json(" in source or "| json" in source or "|json" in source)
    want_functions = "Output" in source and any(r.old in source for r in K.REMOVED_FUNCTIONS_2_0)
    if not (dashed_inputs or dashed_tasks or want_json or want_functions):
        return
    refs = _dashed_reference_patterns(dashed_inputs, dashed_tasks)
    for path, text in _strings(data, ()):
        if path and path[0] == "description":
            continue
        _check_dashed_references(data, path, text, refs, out)
        if (want_json or want_functions) and ("{{" in text or "{%" in text):
            _check_removed_pebble(path, text, want_json, want_functions, out)


_Reference = tuple[K.Rule, str, "re.Pattern[str]", tuple[str, ...]]


def _dashed_reference_patterns(
    dashed_inputs: list[str], dashed_tasks: list[str]
) -> list[_Reference]:
    """(rule, id, pattern, where) for FlowValidator's dashed-reference checks."""
    out: list[_Reference] = [
        (
            K.DASHED_INPUT_REFERENCE,
            i,
            re.compile(r"\{\{\s*inputs." + re.escape(i) + r"\s*\}\}"),
            K.TASK_LISTS,
        )
        for i in dashed_inputs
    ]
    out += [
        (
            K.DASHED_OUTPUT_REFERENCE,
            t,
            re.compile(r"\{\{\s*outputs\." + re.escape(t) + r"\.[^}]+\s*\}\}"),
            (*K.TASK_LISTS, "outputs"),
        )
        for t in dashed_tasks
    ]
    return out


def _check_dashed_references(
    data: dict, path: tuple, text: str, refs: list, out: list[Finding]
) -> None:
    for rule, ident, pattern, where in refs:
        if path[0] not in where or not pattern.search(text):
            continue
        if rule is K.DASHED_INPUT_REFERENCE:
            detail = f"'{{{{ inputs.{ident} }}}}' refers to an input id with a dash"
            fix = f"{{{{ inputs['{ident}'] }}}}"
        else:
            detail = f"'{{{{ outputs.{ident}... }}}}' refers to a task id with a dash"
            fix = f"{{{{ outputs['{ident}']... }}}}"
        out.append(Finding(path, rule, detail, fix=fix, args={"tasks": _owner_task(data, path)}))


def _check_removed_pebble(
    path: tuple, text: str, want_json: bool, want_functions: bool, out: list[Finding]
) -> None:
    if want_json:
        for pattern, old, new, src in JSON_PATTERNS:
            if pattern.search(text):
                removal = K.Removal(old, new, src, True, K.JSON_FIX_VALID)
                shown = "json()" if old == "json(" else old
                out.append(
                    Finding(
                        path,
                        _removal_rule("removed-json-function", shown, removal),
                        f"expression uses {shown}, removed in Kestra 2.0",
                    )
                )
    if want_functions:
        for pattern, removal in _FUNCTIONS:
            if pattern.search(text):
                out.append(
                    Finding(
                        path,
                        _removal_rule(
                            "removed-pebble-function",
                            f"{removal.old}()",
                            K.Removal(removal.old, "the Loop task and its outputs", removal.source),
                        ),
                        f"expression uses {removal.old}(), removed with ForEach in Kestra 2.0",
                    )
                )
