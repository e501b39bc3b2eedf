"""A partial plan: `--target NAMESPACE/ID` (repeatable), `--target NAMESPACE/*`, or flow files
named on the command line, as `terraform plan -target` does.

Only the targeted namespaces are read (a constant number of requests each, as always), every
flow in git is still validated, and the plan holds only the targeted flows: a create, update
or delete of any other flow is neither shown nor applied, and the plan says it is partial.
Deletion reaches a flow only when it is targeted (by its id, or by its namespace with `/*`),
under the same rules as a whole plan (--delete, --allow-empty-namespace, --max-deletes).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..settings.config import Settings
from .plan import DELETE, is_targeted

_TARGET = re.compile(r"^(?P<ns>[^/\s]+)/(?P<id>[^/\s]+)$")


def parse_targets(texts: list[str]) -> list[str]:
    targets = []
    for text in texts:
        if not _TARGET.match(text.strip()):
            raise InputError(
                f"--target {text!r}: expected NAMESPACE/ID or NAMESPACE/*",
                hint="for example --target company.team/orders-etl or --target company.team/*",
            )
        targets.append(text.strip())
    return targets


def targets_from_files(files: list[Path], local, settings: Settings) -> list[str]:
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


def make_targeted_plan(settings: Settings, client, targets: list[str], files: list[Path]):
    from .pipeline import PlanResult, _plan_from, load_local_flows, plan_meta, read_options
    from .semantic import summarize

    flags = {"namespaces": "--namespace", "include_children": "--include-children"}
    widened = [flag for name, flag in flags.items() if settings.origin.get(name) == "flag"]
    if widened:
        raise InputError(
            f"{' and '.join(widened)} cannot widen a partial plan: with --target or flow files "
            "only the targeted namespaces are read",
            hint="target the namespace instead, e.g. --target company.team/*",
        )
    # All of git is validated, as without targets.
    local, warnings, target = load_local_flows(settings, client)
    targets = sorted(set(parse_targets(targets) + targets_from_files(files, local, settings)))
    namespaces = sorted({t.rpartition("/")[0] for t in targets})
    in_scope = [f for f in local if f.namespace in namespaces]
    meta = plan_meta(settings, client, target)
    # What this plan manages, as the saved plan records it (apply re-plans from it): the
    # targeted namespaces, without children.
    meta["options"]["include_children"] = False
    for entry in meta["options"]["tenants"].values():
        entry["namespaces"] = list(namespaces)
    options = read_options(meta["options"])
    plan = _plan_from(in_scope, options, client, settings.parallelism, summarize, targets=targets)
    return PlanResult(plan, meta, in_scope, warnings, target)


def keep_targeted(plan, targets: list[str], max_deletes: int, snapshot) -> None:
    """Reduce a plan of the targeted namespaces to the targeted flows; a target that matches
    nothing is an error (a typo must not pass as "no changes"), and the delete cap counts the
    targeted deletes only."""
    plan.changes = [c for c in plan.changes if is_targeted(c.ref, targets)]
    plan.targets = list(targets)
    found = {f"{c.ref.namespace}/{c.ref.id}" for c in plan.changes}
    found |= {f"{c.ref.namespace}/*" for c in plan.changes}
    missing = [t for t in targets if t not in found]
    if missing and not snapshot.failed():
        plan.errors.append(
            f"--target {', '.join(missing)} matches no flow in git or on the server; "
            "check the namespace and id"
        )
    deletes = sum(c.action == DELETE for c in plan.changes)
    if deletes > max_deletes:
        plan.errors.append(
            f"the plan would delete {deletes} flow{'s' if deletes != 1 else ''}, more than "
            f"the limit of {max_deletes}; raise --max-deletes if intended"
        )
