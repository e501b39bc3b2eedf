"""Which flows a flow points at, and the order in which a plan's writes must go so that a
Subflow's target exists before its caller. Used by apply (ordering, the delete guard) and by the
plan (a flow still referenced is kept: plan.keep_referenced).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..models import FlowRef, LocalFlow
from ..source.yamlindex import parse_yaml
from .plan import CREATE, UPDATE, Change

_OWN_NAMESPACE = re.compile(r"^\{\{\s*flow\.namespace\s*\}\}$")


_NO_PARSE = object()


def referenced_flows(
    source: str, tenant: str, namespace: str | None = None, data: object = _NO_PARSE
) -> set[FlowRef]:
    """Flows a source points at: any mapping with string `namespace` and `flowId` (Subflow and
    ForEachItem tasks, Flow-trigger preconditions and conditions). A namespace written as
    ``{{ flow.namespace }}`` is the source's own ``namespace`` when given; other expressions
    cannot be seen in the source and are ignored. ``data`` is the source already parsed (the
    scan's), so that it is not parsed again."""
    found: set[FlowRef] = set()
    if not may_reference(source):
        return found
    if data is _NO_PARSE:
        data = parse_yaml(source).data  # None when it does not parse: no references
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ns, flow_id = node.get("namespace"), node.get("flowId")
            if isinstance(ns, str) and namespace is not None and _OWN_NAMESPACE.match(ns.strip()):
                ns = namespace
            if isinstance(ns, str) and isinstance(flow_id, str):
                found.add(FlowRef(tenant, ns, flow_id))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def may_reference(source: str) -> bool:
    """Whether a source can hold a ``flowId`` key at all: its text names it, or holds a
    backslash (an escape in a double-quoted key could spell it otherwise). Most flows call no
    other flow, and walking (or first parsing) each one cost more than the rest of apply's
    bookkeeping per change."""
    return "flowId" in source or "\\" in source


def dependencies(
    changes: list[Change], local: Iterable[LocalFlow] = ()
) -> dict[FlowRef, set[FlowRef]]:
    """For each create/update, the other creates/updates in this plan it references, so that a
    Subflow's target exists before its caller. (Deletes wait for all writes separately.)

    ``local`` are the scanned flows the plan was made from: a change whose source is the one
    scanned reuses its parse instead of parsing it again."""
    writes = {c.ref for c in changes if c.action in (CREATE, UPDATE)}
    scanned = {f.ref: f for f in local if f.ref is not None}  # ref set: it parsed
    deps: dict[FlowRef, set[FlowRef]] = {}
    for change in changes:
        if change.action in (CREATE, UPDATE):
            source = change.source or ""
            if not may_reference(source):
                deps[change.ref] = set()  # and a flow parsed on use is not parsed for this
                continue
            flow = scanned.get(change.ref)
            data = flow.data if flow is not None and flow.source == source else _NO_PARSE
            refs = referenced_flows(source, change.ref.tenant, change.ref.namespace, data)
            deps[change.ref] = (refs & writes) - {change.ref}
    _break_cycles(deps)
    return deps


def _break_cycles(deps: dict[FlowRef, set[FlowRef]]) -> None:
    """Flows may call each other; a cycle cannot be ordered, so drop the edges inside it."""
    if not any(deps.values()):
        return  # no edge, no cycle (the common case: sorting thousands of refs costs)
    state: dict[FlowRef, int] = {}

    def visit(node: FlowRef, path: list[FlowRef]) -> None:
        state[node] = 1
        for dep in sorted(deps.get(node, ())):
            if state.get(dep) == 1:
                deps[node].discard(dep)
            elif dep not in state:
                visit(dep, [*path, node])
        state[node] = 2

    for node in sorted(deps):
        if node not in state:
            visit(node, [])
