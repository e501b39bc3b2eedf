"""The plan as JSON: the stable, versioned shape printed by `plan --format json` and saved by
`plan --out plan.json`, and the loader `apply plan.json` uses.

Format (format_version 2), documented by the JSON Schema docs/plan.schema.json (the e2e tests
validate every plan they make against it; change both together):
{
  "format_version": 2,
  "kestra_sync_version": "0.1.0",
  "created_at": "2026-11-23T08:00:00Z",
  "server": "http://host:8080",            # never with credentials
  "git": {"commit": "...", "dirty": false} | null,
  "options": {"delete": false, "allow_empty_namespace": false, "max_deletes": 10,
              "include_children": false},
  "scopes": [{"tenant": "main", "namespace": "company.team", "include_children": false}],
  "summary": {"create": 1, "update": 0, "delete": 0, "unchanged": 3, "unmanaged": 0},
  "errors": ["..."],
  "changes": [{"action": "create", "tenant": "main", "namespace": "...", "id": "...",
               "path": "flows/...", "server_revision": null, "summary": [...],
               "formatting_only": false, "note": "", "diff": "...",
               "source": "..."   # saved plans only: what apply will send
  }]
}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError
from ..models import FlowRef
from ..plan import ACTIONS, Change, Plan, Scope

# 2: `apply --format json` adds an "apply" section with snake_case summary keys
# ("not_attempted"), and a command that stops on an error prints an error document (see
# report/errordoc.py). The plan itself is unchanged, so a saved plan of version 1 still applies.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


def plan_to_dict(plan: Plan, meta: dict[str, Any], *, include_sources: bool = False) -> dict:
    changes = []
    for change in sorted(plan.changes, key=lambda c: c.ref):
        entry = {
            "action": change.action,
            "tenant": change.ref.tenant,
            "namespace": change.ref.namespace,
            "id": change.ref.id,
            "path": change.path,
            "server_revision": change.server_revision,
            "summary": change.summary,
            "formatting_only": change.formatting_only,
            "note": change.note,
            "diff": change.diff,
        }
        if include_sources:
            entry["source"] = change.source
        changes.append(entry)
    return {
        "format_version": FORMAT_VERSION,
        "kestra_sync_version": __version__,
        "created_at": meta.get("created_at"),
        "server": meta.get("server"),
        "git": meta.get("git"),
        "options": meta.get("options", {}),
        "scopes": [
            {"tenant": s.tenant, "namespace": s.namespace, "include_children": s.include_children}
            for s in plan.scopes
        ],
        "summary": plan.counts(),
        "errors": list(plan.errors),
        "targets": list(plan.targets),
        "other_namespaces": {t: list(ns) for t, ns in plan.other_namespaces.items()},
        "changes": changes,
    }


def dumps(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def load_plan_file(path: Path, *, for_apply: bool = True) -> tuple[Plan, dict[str, Any]]:
    """Read a saved plan; refuse anything this version cannot apply exactly. ``for_apply=False``
    (`show`) also reads a plan printed with --format json, which has no sources."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: plan file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(
            f"{path}: not a readable kestra-sync plan file ({err})",
            hint="create one with `kestra-sync plan --out plan.json`",
        ) from None
    if not isinstance(data, dict) or data.get("format_version") not in READABLE_VERSIONS:
        raise InputError(
            f"{path}: unsupported plan format version {data.get('format_version')!r} "
            f"(this kestra-sync reads versions {', '.join(map(str, READABLE_VERSIONS))})"
            if isinstance(data, dict)
            else f"{path}: not a kestra-sync plan file",
            hint="re-create the plan with this version of kestra-sync",
        )
    try:
        changes = []
        for entry in data["changes"]:
            if entry["action"] not in ACTIONS:
                raise ValueError(f"unknown action {entry['action']!r}")
            if (
                for_apply
                and entry["action"] in ("create", "update")
                and not isinstance(entry.get("source"), str)
            ):
                raise ValueError(
                    f"{entry['namespace']}/{entry['id']} has no source: "
                    "only plans saved with --out can be applied"
                )
            changes.append(
                Change(
                    action=entry["action"],
                    ref=FlowRef(entry["tenant"], entry["namespace"], entry["id"]),
                    path=entry.get("path"),
                    source=entry.get("source"),
                    server_revision=entry.get("server_revision"),
                    diff=entry.get("diff", ""),
                    summary=list(entry.get("summary", [])),
                    formatting_only=bool(entry.get("formatting_only")),
                    note=entry.get("note", ""),
                )
            )
        scopes = [
            Scope(s["tenant"], s["namespace"], bool(s["include_children"])) for s in data["scopes"]
        ]
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path}: damaged plan file: {err}") from None
    plan = Plan(
        changes=changes,
        errors=list(data.get("errors", [])),
        scopes=scopes,
        targets=[str(t) for t in data.get("targets") or []],
        other_namespaces={
            str(t): [str(n) for n in ns] for t, ns in (data.get("other_namespaces") or {}).items()
        },
    )
    return plan, data
