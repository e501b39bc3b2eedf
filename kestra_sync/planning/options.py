"""What a plan depends on besides git and the server: the options it was made with, as a
saved plan records them (``plan_options``) and as planning reads them back (``read_options``),
so that `apply plan.json` re-checks every guard against these and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..settings.config import Settings


def plan_options(settings: Settings) -> dict[str, Any]:
    """The options a plan was made with, as a saved plan records them: `apply plan.json`
    re-checks every guard against these (and nothing else), so a plan means the same thing
    wherever and whenever it is applied."""
    managed = settings.managed_namespaces()
    allowed = settings.empty_namespace_tenants()
    return {
        "delete": settings.delete,
        "allow_empty_namespace": settings.allow_empty_namespace,
        "max_deletes": settings.max_deletes,
        "include_children": settings.include_children,
        "ownership_label": settings.ownership_label,
        "tenants": {
            t: {"namespaces": sorted(managed[t]), "allow_empty_namespace": t in allowed}
            for t in sorted(managed)
        },
    }


@dataclass
class PlanOptions:
    """What a plan depends on besides git and the server (see ``plan_options``)."""

    delete: bool
    max_deletes: int
    include_children: bool
    managed: dict[str, list[str]]  # tenant -> managed namespaces
    empty_allowed: set[str]  # tenants where a namespace may be emptied
    ownership_label: str | None = None  # delete only flows carrying it (ownership.py)
    renames: list = field(default_factory=list)  # what git moved (renames.py), not an option


def read_options(options: dict[str, Any]) -> PlanOptions:
    tenants = options["tenants"]
    return PlanOptions(
        delete=options["delete"],
        max_deletes=options["max_deletes"],
        include_children=options["include_children"],
        managed={t: list(v["namespaces"]) for t, v in tenants.items()},
        empty_allowed={t for t, v in tenants.items() if v["allow_empty_namespace"]},
        ownership_label=options.get("ownership_label"),
    )
