"""A partial plan: `--target` (repeatable) or flow files named on the command line, as
`terraform plan -target` does. What a target names, for every kind:

- ``NAMESPACE/ID``: the flow ID of NAMESPACE;
- ``NAMESPACE/*``: everything of NAMESPACE, flows, namespace files, KV pairs...;
- ``PREFIX:NAMESPACE/ID``: the item ID of the kind whose ``target_prefix`` is PREFIX
  (``file:company.team/etl/load.py``, ``kv:company.team/region``); ``PREFIX:ID`` for a kind
  that belongs to the tenant, not to a namespace. The prefixes, the words of the messages and
  how an id is spelled are the kinds' facts (kinds.base.KindFacts): a new kind needs no edit
  here.

A partial plan is the whole plan, made as without targets (every namespace read, every
guard applied: references, ownership, the empty-namespace rule), then reduced to the targeted
changes; a create, update or delete of anything else is neither shown nor applied, and the
plan says it is partial. So a narrower run is never less safe than the full one: a flow that a
flow outside the target still calls is kept, as in the full plan. The delete cap counts the
deletes this run would make.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..kinds import every_kind, facts_of, prefixed
from ..kinds.base import TENANT_LEVEL, KindFacts
from ..kinds.testsuites import tested_flow
from ..models import CREATE, FLOW, UNCHANGED, UPDATE, FlowRef, LocalFlow
from ..settings.config import Settings

_IN_NAMESPACE = re.compile(r"^(?P<ns>[^/\s:]+)/(?P<id>\S.*)$")


def parse_targets(texts: list[str]) -> list[str]:
    targets = []
    for text in texts:
        text = text.strip()
        target = _parse(text)
        if target is None:
            raise InputError(
                f"--target {text!r}: expected " + _either(_forms()),
                hint="for example " + _either([f"--target {e}" for e in _examples()]),
            )
        targets.append(target)
    return targets


def _parse(text: str) -> str | None:
    """The target as ``target_of`` spells it, or None when it names nothing a kind has."""
    prefix, colon, rest = text.partition(":")
    kind = prefixed(prefix) if colon and prefix else None
    if kind is None:  # a flow: NAMESPACE/ID or NAMESPACE/*
        match = _IN_NAMESPACE.match(text)
        return text if match is not None and "/" not in match["id"] else None
    if kind.level == TENANT_LEVEL:
        return f"{prefix}:{kind.target_id(rest)}" if rest.strip() and rest != "*" else None
    match = _IN_NAMESPACE.match(rest)
    if match is None or match["id"] == "*":
        return None
    return f"{prefix}:{match['ns']}/{kind.target_id(match['id'])}"


def _prefixed_kinds() -> list[KindFacts]:
    return [k for k in every_kind() if k.target_prefix]


def _forms() -> list[str]:
    def form(kind: KindFacts) -> str:
        where = "" if kind.level == TENANT_LEVEL else "NAMESPACE/"
        return f"{kind.target_prefix}:{where}{kind.target_word.upper()}"

    return ["NAMESPACE/ID", "NAMESPACE/*"] + [form(k) for k in _prefixed_kinds()]


def _examples() -> list[str]:
    flow = prefixed("")
    first = flow.target_example if flow is not None else "company.team/orders-etl"
    namespace = first.split("/")[0]
    return [first, f"{namespace}/*"] + [
        f"{k.target_prefix}:{k.target_example}" for k in _prefixed_kinds()
    ]


def _either(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


def target_of(ref: FlowRef) -> str:
    """The ``--target`` that names exactly ``ref``."""
    kind = facts_of(ref.kind)
    if kind is None:  # a kind this version does not have: spelled as a namespace's item
        return f"{ref.kind}:{ref.namespace}/{ref.id}"
    if not kind.target_prefix:
        return f"{ref.namespace}/{ref.id}"
    if kind.level == TENANT_LEVEL:
        return f"{kind.target_prefix}:{kind.target_id(ref.id)}"
    return f"{kind.target_prefix}:{ref.namespace}/{kind.target_id(ref.id)}"


def is_targeted(ref: FlowRef, targets: list[str]) -> bool:
    """No targets: everything. Else ``ref`` itself or its namespace (``NAMESPACE/*``) is one."""
    if not targets:
        return True
    return target_of(ref) in targets or f"{ref.namespace}/*" in targets


def refuse_widening(settings: Settings) -> None:
    flags = {"namespaces": "--namespace", "include_children": "--include-children"}
    widened = [flag for name, flag in flags.items() if settings.origin.get(name) == "flag"]
    if widened:
        raise InputError(
            f"{' and '.join(widened)} cannot widen a partial plan: with --target or flow files "
            "only the targeted flows, files and KV pairs are planned",
            hint="target the namespace instead, e.g. --target company.team/*",
        )


def targets_from_files(files: list[Path], local: list[LocalFlow], settings: Settings) -> list[str]:
    """``namespace/id`` of each flow file named on the command line; a file that is not a flow
    of the flow directory is an error (it would otherwise be silently left out of the plan)."""
    by_path = {Path(f.path).resolve(): f for f in local}
    dirs = ", ".join(f"{d}/" for d in settings.directories().values())
    targets = []
    for file in files:
        flow = by_path.get(file.resolve())
        if flow is None:
            raise InputError(
                f"{file}: not a flow of the flow directory {dirs}",
                hint="name flow files inside the flow directory (a .kestraignore'd file is "
                "not planned), or pass --config for the kestra-sync.yml that owns it",
            )
        targets.append(f"{flow.namespace}/{flow.id}")
    return targets


def keep_targeted(plan, targets: list[str], listings_failed: bool) -> None:
    """Reduce a whole plan to the targeted changes; a target that matches nothing is an error
    (a typo must not pass as "no changes")."""
    tested = _targeted_flow_writes(plan.changes, targets)
    plan.changes = [
        c
        for c in plan.changes
        if is_targeted(c.ref, targets) or (c.action == UNCHANGED and tested_flow(c) in tested)
    ]
    plan.targets = list(targets)
    found = {target_of(c.ref) for c in plan.changes} | {
        f"{c.ref.namespace}/*" for c in plan.changes
    }
    missing = [t for t in targets if t not in found]
    if missing and not listings_failed:
        kinds = {_kind_of_target(t) for t in missing}
        kind = kinds.pop() if len(kinds) == 1 else prefixed("")
        what, word = (kind.noun, kind.target_word.lower()) if kind else ("flow", "id")
        if kind is None or kind.level != TENANT_LEVEL:  # a tenant's item has no namespace
            word = f"namespace and {word}"
        plan.errors.append(
            f"--target {', '.join(missing)} matches no {what} in git or on the server; "
            f"check the {word}"
        )


def _targeted_flow_writes(changes: list, targets: list[str]) -> set[FlowRef]:
    """The flows a targeted change writes: their unchanged test suites stay in the plan (as
    unchanged), so ``apply --target FLOW --run-tests`` runs the tests of the flow it deploys."""

    return {
        c.ref
        for c in changes
        if c.kind == FLOW and c.action in (CREATE, UPDATE) and is_targeted(c.ref, targets)
    }


def _kind_of_target(target: str) -> KindFacts | None:
    prefix, colon, _ = target.partition(":")
    return (prefixed(prefix) if colon else None) or prefixed("")
