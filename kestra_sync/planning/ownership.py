"""Which server flows git owns, so `--delete` removes only those (issue 11 item 2).

Without a rule, every flow in a managed namespace that git lacks is deletable, including flows
people made in the UI on purpose. With ``ownership_label`` (``KEY`` or ``KEY=VALUE``), only a
flow that carries that label is: git put it there, because every flow in git carries it
(`validate` checks that when the label is configured). Kestra's docs recommend the
``system.readOnly`` label set to "true" for flows managed through CI/CD (it turns the UI editor
off; docs/anchors.md), which makes ``system.readOnly=true`` a natural rule.

Labels are compared as text, as Kestra stores them (a YAML ``true`` is the label value
"true"); the server's labels come from the search listing (a list of {key, value}).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..models import Diagnostic, LocalFlow, RemoteFlow


def parse_label(text: str) -> tuple[str, str | None]:
    key, sep, value = text.partition("=")
    key = key.strip()
    if not key or (sep and not value.strip()):
        raise ConfigError(
            f"ownership label {text!r}: expected KEY or KEY=VALUE",
            hint="for example system.readOnly=true, or managed-by=kestra-sync",
        )
    return key, (value.strip() if sep else None)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def label_pairs(labels: Any) -> list[tuple[str, str]]:
    """``labels`` as Kestra accepts them (a map, or a list of {key, value}) as (key, value as
    text) pairs: all an ownership check looks at. A key that is not text can never be the
    ownership label's, so it is left out. Small and JSON-able: the result cache keeps it per
    file text, so a warm `validate --ownership-label` parses no unchanged file."""
    if isinstance(labels, dict):
        pairs = list(labels.items())
    elif isinstance(labels, list):
        pairs = [(lab.get("key"), lab.get("value")) for lab in labels if isinstance(lab, dict)]
    else:
        return []
    return [(k, _text(v)) for k, v in pairs if isinstance(k, str)]


def has_label(labels: Any, key: str, value: str | None) -> bool:
    """``labels`` as Kestra accepts them: a map, or a list of {key, value}."""
    return _has(label_pairs(labels), key, value)


def _has(pairs: list[tuple[str, str]], key: str, value: str | None) -> bool:
    return any(k == key and (value is None or v == value) for k, v in pairs)


def flow_labels(flow: LocalFlow) -> list[tuple[str, str]]:
    """A flow file's label pairs: from the result cache when the text is known (no parse),
    else from its parsed data."""
    known = getattr(flow, "labels", None)
    if known is not None:
        return known
    data = flow.data if isinstance(flow.data, dict) else {}
    return label_pairs(data.get("labels"))


def ownership_rule(label: str | None) -> Callable[[RemoteFlow], str | None] | None:
    """For build_plan: None when every flow is deletable, else a function that returns why a
    server flow is not deletable (None when it is)."""
    if not label:
        return None
    key, value = parse_label(label)

    def not_owned(remote: RemoteFlow) -> str | None:
        if has_label(remote.labels, key, value):
            return None
        return (
            f"not deleted: it does not carry the ownership label {label}, so git did not "
            "put it there (made in the UI?)"
        )

    return not_owned


def missing_label(flows: list[LocalFlow], label: str) -> list[Diagnostic]:
    """Every flow in git must carry the ownership label, or a later plan could never delete it."""
    key, value = parse_label(label)
    out = []
    for flow in flows:
        if not _has(flow_labels(flow), key, value):
            example = f"{key}: {value!r}" if value is not None else f"{key}: ..."
            out.append(
                Diagnostic(
                    str(flow.path),
                    f"flow has no label {label} (the ownership label): add `labels:` with "
                    f"`{example}`, or `plan --delete` will never remove it",
                    line=1,
                    code="missing-ownership-label",
                )
            )
    return out
