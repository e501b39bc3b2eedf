"""Describe an update in words: which tasks, triggers, inputs or labels changed.

The decision "is there a change" is made on source text (plan.sources_equal); this module only
explains a change to a reviewer. deepdiff names the changed fields inside an item; items in
Kestra's id-keyed lists (tasks, triggers, inputs ...) are matched by id, never by position, and
task order is kept significant because it is execution order.
"""

from __future__ import annotations

from typing import Any

from ..source.yamlindex import parse_yaml

# Top-level sections that are lists of items with an `id`, and the word for one item.
ID_LISTS = {
    "tasks": "task",
    "triggers": "trigger",
    "inputs": "input",
    "outputs": "output",
    "errors": "error handler",
    "finally": "finally task",
    "afterExecution": "afterExecution task",
}


def _load(text: str) -> Any:
    # The project's own parse: reads YAML as Kestra does and refuses alias bombs, which a
    # server-side source is not guaranteed to be free of.
    return parse_yaml(text).data


def _labels(value: Any) -> dict[str, Any]:
    """Labels may be a map or a list of {key, value} (docs/kestra-api.md); compare them as a map."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {str(item.get("key")): item.get("value") for item in value if isinstance(item, dict)}
    return {}


def _changed_fields(old: Any, new: Any) -> list[str]:
    from deepdiff import DeepDiff

    if not (isinstance(old, dict) and isinstance(new, dict)):
        return []
    # ignore_order=False: inside a task, list order (e.g. commands) is meaningful.
    return sorted(str(key) for key in DeepDiff(old, new, ignore_order=False).affected_root_keys)


# Lists of child tasks inside a flowable task (WorkingDirectory, Parallel, If, ForEach ...):
# a change inside one is described down to the child, not as "task wd changed (tasks)".
CHILD_LISTS = {
    "tasks": "task",
    "then": "task",
    "else": "task",
    "errors": "error handler",
    "finally": "finally task",
}


def _by_id(items: list[Any]) -> dict[str, Any]:
    return {str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item}


def _describe_id_list(section: str, noun: str, old: Any, new: Any, prefix: str = "") -> list[str]:
    old_items = old if isinstance(old, list) else []
    new_items = new if isinstance(new, list) else []
    before, after = _by_id(old_items), _by_id(new_items)
    if len(before) != len(old_items) or len(after) != len(new_items):
        return [f"{prefix}{section} changed"]  # items without ids: no finer description is honest
    lines = [f"{prefix}{noun} {i} added" for i in after if i not in before]
    lines += [f"{prefix}{noun} {i} removed" for i in before if i not in after]
    for item_id in after:
        if item_id in before and before[item_id] != after[item_id]:
            lines += _describe_item(noun, item_id, before[item_id], after[item_id], prefix)
    common_before = [i for i in before if i in after]
    common_after = [i for i in after if i in before]
    if common_before != common_after:
        lines.append(f"{prefix}{section} reordered")
    return lines


def _describe_item(noun: str, item_id: str, old: Any, new: Any, prefix: str) -> list[str]:
    fields = _changed_fields(old, new)
    plain, nested = [], []
    for name in fields:
        child_noun = CHILD_LISTS.get(name)
        b, a = old.get(name), new.get(name)
        if child_noun and isinstance(b, list) and isinstance(a, list):
            inner = _describe_id_list(name, child_noun, b, a, f"{prefix}{noun} {item_id} > ")
            if not any(line.endswith(f"> {name} changed") for line in inner):
                nested += inner
                continue
        plain.append(name)
    if plain or not nested:
        head = f"{prefix}{noun} {item_id} changed" + (f" ({', '.join(plain)})" if plain else "")
        return [head, *nested]
    return nested


def _describe_labels(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    if old == new:
        return ["labels rewritten in the other form (same keys and values)"]
    lines = []
    for name in sorted(set(old) | set(new)):
        if name not in old:
            lines.append(f"label {name} added")
        elif name not in new:
            lines.append(f"label {name} removed")
        elif old[name] != new[name]:
            lines.append(f"label {name} changed")
    return lines


def summarize(server_source: str, local_source: str) -> tuple[list[str], bool]:
    """Return (lines describing what changed, formatting_only)."""
    old, new = _load(server_source), _load(local_source)
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ["source changed (one side is not a YAML mapping)"], False
    if old == new:
        return ["formatting or comments only"], True
    lines: list[str] = []
    for key in sorted(set(old) | set(new), key=str):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key in ID_LISTS:
            lines += _describe_id_list(key, ID_LISTS[key], before, after)
        elif key == "labels":
            lines += _describe_labels(_labels(before), _labels(after))
        elif key not in old:
            lines.append(f"{key} added")
        elif key not in new:
            lines.append(f"{key} removed")
        elif isinstance(before, dict) and isinstance(after, dict):
            fields = _changed_fields(before, after)  # variables, concurrency, retry ...
            lines.append(f"{key} changed" + (f" ({', '.join(fields)})" if fields else ""))
        else:
            lines.append(f"{key} changed")
    return lines, False
