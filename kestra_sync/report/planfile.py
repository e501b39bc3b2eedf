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
              "include_children": false,
              "tenants": {"main": {"namespaces": [], "allow_empty_namespace": false}}},
  "scopes": [{"tenant": "main", "namespace": "company.team", "include_children": false}],
  "summary": {"create": 1, "update": 0, "delete": 0, "unchanged": 3, "unmanaged": 0},
  "errors": ["..."],
  "changes": [{"action": "create", "tenant": "main", "namespace": "...", "id": "...",
               "path": "flows/...", "server_revision": null, "summary": [...],
               "formatting_only": false, "note": "", "diff": "...",
               "source": "..."   # saved plans only: what apply will send
  }],
  "checksum": "sha256:..."   # over everything else, see content_checksum
}

Version 2 added `checksum` and `options.tenants` (version 1 plans carry no checksum, so they
cannot be told apart from an edited one: `apply` refuses them), `options.ownership_label`,
`targets` (a partial plan), `other_namespaces`, `retire_commands` and `renames` (flows git
moved since the deployed commit: planning/renames.py); `apply --format json` adds an "apply" section
with snake_case keys ("not_attempted"), and a command that stops on an error prints the error
document of report/errordoc.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import InputError
from ..kinds import kind
from ..models import FLOW, FlowRef
from ..planning.plan import ACTIONS, Change, Plan, Scope
from ..planning.renames import rename_from_dict, rename_to_dict
from .escape import json_text

FORMAT_VERSION = 2


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
        entry["kind"] = change.kind
        if change.kind != FLOW:
            entry["digest"] = change.digest
            entry["server_digest"] = change.server_digest
            if include_sources and change.payload is not None:
                entry["payload"] = kind(change.kind).encode(change.payload)
        if include_sources:
            entry["source"] = change.source
        changes.append(entry)
    data = {
        "format_version": FORMAT_VERSION,
        "kestra_sync_version": __version__,
        "created_at": meta.get("created_at"),
        "server": meta.get("server"),
        "git": meta.get("git"),
        "kestra_version": meta.get("kestra_version"),
        **({"environment": meta["environment"]} if meta.get("environment") else {}),
        "options": meta.get("options", {}),
        "scopes": [
            {"tenant": s.tenant, "namespace": s.namespace, "include_children": s.include_children}
            for s in plan.scopes
        ],
        **(
            {
                "kind_scopes": [
                    {"kind": k, "tenant": t, "namespace": n, "deletable": d}
                    for k, t, n, d in plan.kind_scopes
                ]
            }
            if plan.kind_scopes
            else {}
        ),
        "summary": plan.counts(),
        "errors": list(plan.errors),
        "targets": list(plan.targets),
        "other_namespaces": {t: list(ns) for t, ns in plan.other_namespaces.items()},
        "retire_commands": dict(plan.retire_commands),
        **({"renames": [rename_to_dict(r) for r in plan.renames]} if plan.renames else {}),
        "changes": changes,
    }
    data["checksum"] = content_checksum(data)
    return data


def content_checksum(data: dict) -> str:
    """sha256 over a canonical JSON of every key but ``checksum`` (sorted keys, no spaces), so
    re-indenting the file keeps it valid and any edited value does not. It detects edits and
    damage, not an attacker: anyone can recompute it (apply re-checks every guard anyway)."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dumps(data: dict) -> str:
    """The document as printed and saved: readable UTF-8, but no control or bidi character
    raw (report/escape.py), so printing it to a terminal is safe too."""
    return json_text(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def load_plan_file(path: Path, *, for_apply: bool = True) -> tuple[Plan, dict[str, Any]]:
    """Read a saved plan; refuse anything this version cannot apply exactly: another format
    version, a checksum that does not match (edited by hand), or a field of the wrong type
    (a damaged file). ``for_apply=False`` (`show`) also reads a plan printed with
    --format json, which has no sources."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: plan file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise InputError(
            f"{path}: not a readable kestra-sync plan file ({err})",
            hint="create one with `kestra-sync plan --out plan.json`",
        ) from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{path}: unsupported plan format version {data.get('format_version')!r} "
            f"(this kestra-sync reads version {FORMAT_VERSION})"
            if isinstance(data, dict)
            else f"{path}: not a kestra-sync plan file",
            hint="re-create the plan with this version of kestra-sync",
        )
    if "checksum" not in data:
        raise InputError(
            f"{path}: the plan file has no checksum, so it cannot be told from an edited one",
            hint="make a new plan with `kestra-sync plan --out` and review it",
        )
    if data.get("checksum") != content_checksum(data):
        raise InputError(
            f"{path}: the plan file was changed after it was saved (its checksum does not "
            "match its content); an edited plan is never applied",
            hint="make a new plan with `kestra-sync plan --out` and review it",
        )
    try:
        return _read(data, for_apply=for_apply)
    except _Damaged as err:
        raise InputError(
            f"{path}: damaged plan file: {err}",
            hint="make a new plan with `kestra-sync plan --out`",
        ) from None


class _Damaged(ValueError):
    pass


def _field(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise _Damaged(f"{where}{key} is missing")
    value = obj[key]
    # bool is an int in Python; a count or revision written as true is still damage.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
        names = " or ".join(_JSON_NAMES[k] for k in _kinds(kind))
        raise _Damaged(f"{where}{key} must be {names}, not {_JSON_NAMES.get(type(value), 'that')}")
    return value


_JSON_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "a list",
    dict: "an object",
    float: "a number",
    type(None): "null",
}


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Damaged(f"{where} must be a list of strings")
    return list(value)


def _read(data: dict, *, for_apply: bool = True) -> tuple[Plan, dict[str, Any]]:
    _field(data, "server", str, "")
    options = _field(data, "options", dict, "")
    for key in ("delete", "allow_empty_namespace", "include_children"):
        _field(options, key, bool, "options.")
    _field(options, "max_deletes", int, "options.")
    for tenant, entry in _field(options, "tenants", dict, "options.").items():
        _strings(_field(entry, "namespaces", list, f"options.tenants.{tenant}."), "namespaces")
        _field(entry, "allow_empty_namespace", bool, f"options.tenants.{tenant}.")
    errors = _strings(_field(data, "errors", list, ""), "errors")
    changes = []
    for i, entry in enumerate(_field(data, "changes", list, "")):
        where = f"changes[{i}]."
        action = _field(entry, "action", str, where)
        if action not in ACTIONS:
            raise _Damaged(f"{where}action: unknown action {action!r}")
        entry_kind = _field(entry, "kind", str, where) if "kind" in entry else FLOW
        if entry_kind != FLOW:  # a namespace file or a KV pair
            changes.append(_resource_change(entry, action, entry_kind, where))
            continue
        ref = FlowRef(*(_field(entry, k, str, where) for k in ("tenant", "namespace", "id")))
        source = _field(entry, "source", (str, type(None)), where) if "source" in entry else None
        if for_apply and action in ("create", "update", "unchanged") and source is None:
            raise _Damaged(
                f"{ref.namespace}/{ref.id} has no source: only plans saved with --out can be applied"
            )
        revision = _field(entry, "server_revision", (int, type(None)), where)
        changes.append(
            Change(
                action=action,
                ref=ref,
                path=_field(entry, "path", (str, type(None)), where),
                source=source,
                server_revision=revision,
                diff=_field(entry, "diff", str, where),
                summary=_strings(_field(entry, "summary", list, where), f"{where}summary"),
                formatting_only=_field(entry, "formatting_only", bool, where),
                note=_field(entry, "note", str, where),
            )
        )
    scopes = []
    for i, entry in enumerate(_field(data, "scopes", list, "")):
        where = f"scopes[{i}]."
        scopes.append(
            Scope(
                _field(entry, "tenant", str, where),
                _field(entry, "namespace", str, where),
                _field(entry, "include_children", bool, where),
            )
        )
    kind_scopes = []
    for i, entry in enumerate(data.get("kind_scopes", [])):
        where = f"kind_scopes[{i}]."
        kind_scopes.append(
            (
                *(_field(entry, k, str, where) for k in ("kind", "tenant", "namespace")),
                _field(entry, "deletable", bool, where),
            )
        )
    targets = _strings(data.get("targets", []), "targets")
    others = data.get("other_namespaces", {})
    if not isinstance(others, dict):
        raise _Damaged("other_namespaces must be an object")
    plan = Plan(
        changes=changes,
        errors=errors,
        scopes=scopes,
        kind_scopes=kind_scopes,
        targets=targets,
        other_namespaces={str(t): _strings(ns, "other_namespaces") for t, ns in others.items()},
        retire_commands=_retire_commands(data.get("retire_commands", {})),
        renames=_renames(data.get("renames", [])),
    )
    return plan, data


def _resource_change(entry: dict, action: str, entry_kind: str, where: str) -> Change:
    """A namespace-file or KV change of a saved plan (see kestra_sync.kinds)."""
    try:
        handler = kind(entry_kind)
    except ValueError as err:
        raise _Damaged(f"{where}kind: {err}") from None
    tenant, namespace, item_id = (
        _field(entry, k, str, where) for k in ("tenant", "namespace", "id")
    )
    ref = FlowRef(tenant, namespace, item_id, entry_kind)
    digest = _field(entry, "digest", (str, type(None)), where)
    payload = None
    if action in ("create", "update"):
        if "payload" not in entry or digest is None:
            raise _Damaged(f"{ref} has no content: only plans saved with --out can be applied")
        try:
            payload = handler.decode(entry["payload"])
        except ValueError as err:  # binascii.Error is a ValueError
            raise _Damaged(f"{where}payload: {err}") from None
        # The checksum can be recomputed by anyone: the content sent must still be the one
        # the plan was reviewed with (its digest, shown in the plan and compared by apply).
        if handler.payload_digest(payload) != digest:
            raise _Damaged(f"{ref}: its payload does not match its digest {digest[:19]}")
    return Change(
        action=action,
        ref=ref,
        path=_field(entry, "path", (str, type(None)), where),
        summary=_strings(_field(entry, "summary", list, where), f"{where}summary"),
        note=_field(entry, "note", str, where),
        diff=_field(entry, "diff", str, where),
        payload=payload,
        digest=digest,
        server_digest=_field(entry, "server_digest", (str, type(None)), where),
    )


def _renames(value: Any) -> list:
    if not isinstance(value, list):
        raise _Damaged("renames must be a list")
    try:
        return [rename_from_dict(entry) for entry in value]
    except ValueError as err:
        raise _Damaged(f"renames: {err}") from None


def _retire_commands(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(t, str) and isinstance(c, str) for t, c in value.items()
    ):
        raise _Damaged("retire_commands must map tenants to commands")
    return dict(value)
