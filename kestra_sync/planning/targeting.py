"""A partial plan: `--target` (repeatable) or flow files named on the command line, as
`terraform plan -target` does. What a target names, for every kind:

- ``NAMESPACE/ID``: the flow ID of NAMESPACE;
- ``NAMESPACE/*``: everything of NAMESPACE, flows, namespace files and KV pairs;
- ``file:NAMESPACE/PATH``: the namespace file PATH (``file:company.team/etl/load.py``);
- ``kv:NAMESPACE/KEY``: the KV pair KEY;
- ``app:NAMESPACE/ID``: the app ID (Enterprise);
- ``namespace:NAMESPACE``: the namespace's settings from its namespace.yml (Enterprise);
- ``secret:NAMESPACE/KEY``: the namespace secret KEY (Enterprise).

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
from ..models import FLOW, FlowRef, LocalFlow
from ..settings.config import Settings

_TARGET = re.compile(r"^(?:(?P<kind>file|kv|app|namespace|secret):)?(?P<ns>[^/\s:]+)/(?P<id>\S.*)$")
_KINDS = {
    "file": "namespace file",
    "kv": "KV pair",
    "app": "app",
    "namespace": "namespace settings",
    "secret": "namespace secret",
}
SETTINGS_ID = "settings"  # kinds.namespaces: the one item of a namespace's settings


def parse_targets(texts: list[str]) -> list[str]:
    targets = []
    for text in texts:
        text = text.strip()
        if text.startswith("namespace:") and "/" not in text:
            text += "/" + SETTINGS_ID  # namespace:NS names its settings
        match = _TARGET.match(text)
        flow_like = match is not None and (match["kind"] or "/" not in match["id"])
        if not flow_like or (match is not None and match["kind"] and match["id"] == "*"):
            raise InputError(
                f"--target {text!r}: expected NAMESPACE/ID, NAMESPACE/*, "
                "file:NAMESPACE/PATH, kv:NAMESPACE/KEY, app:NAMESPACE/ID, namespace:NAMESPACE "
                "or secret:NAMESPACE/KEY",
                hint="for example --target company.team/orders-etl, --target company.team/*, "
                "--target file:company.team/etl/load.py or --target kv:company.team/region",
            )
        assert match is not None
        if match["kind"] == "file":
            text = f"file:{match['ns']}/{match['id'].lstrip('/')}"
        targets.append(text)
    return targets


def target_of(ref: FlowRef) -> str:
    """The ``--target`` that names exactly ``ref``."""
    if ref.kind == FLOW:
        return f"{ref.namespace}/{ref.id}"
    return f"{ref.kind}:{ref.namespace}/{ref.id.lstrip('/') if ref.kind == 'file' else ref.id}"


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
    plan.changes = [c for c in plan.changes if is_targeted(c.ref, targets)]
    plan.targets = list(targets)
    found = {target_of(c.ref) for c in plan.changes} | {
        f"{c.ref.namespace}/*" for c in plan.changes
    }
    missing = [t for t in targets if t not in found]
    if missing and not listings_failed:
        kind = next((k for k in _KINDS if all(t.startswith(k + ":") for t in missing)), None)
        what = _KINDS[kind] if kind else "flow"
        plan.errors.append(
            f"--target {', '.join(missing)} matches no {what} in git or on the server; "
            "check the namespace and "
            + ("path" if kind == "file" else "key" if kind in ("kv", "secret") else "id")
        )
