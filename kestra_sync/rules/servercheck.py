"""Server-side validation: send local flows to ``POST /flows/validate`` and map each answer back
to its file and line. Split from ``validate.py``, which holds the offline flow rules."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..models import WARNING, Diagnostic, LocalFlow
from ..models import diag_at as _diag
from ..source.yamlindex import ParsedYaml, parse_yaml

# ---------------------------------------------------------------------------------------------
# server-side


_PATH_LINE = re.compile(r"^\s*([A-Za-z_][\w.\[\]-]*):\s+(.+)$")


def _server_path(text: str, data: Any) -> tuple:
    """``tasks[0].type`` or ``tasks[extract].type`` (Kestra swaps indexes for ids) -> path tuple."""
    out: list[Any] = []
    node = data
    for name, index in re.findall(r"([^.\[\]]+)|\[([^\]]*)\]", text):
        if name:
            if (
                name in ("flow", "flowWithSource")
                and not out
                and isinstance(node, dict)
                and name not in node
            ):
                continue
            out.append(name)
            node = node.get(name) if isinstance(node, dict) else None
        else:
            i: int | None
            if index.isdigit():
                i = int(index)
            elif isinstance(node, list):
                i = next(
                    (
                        k
                        for k, t in enumerate(node)
                        if isinstance(t, dict) and str(t.get("id")) == index
                    ),
                    None,
                )
                if i is None:
                    break
            else:
                break
            out.append(i)
            node = node[i] if isinstance(node, list) and 0 <= i < len(node) else None
    return tuple(out)


def _server_messages(constraints: str, data: Any) -> list[tuple[tuple, str]]:
    text = constraints
    for prefix in ("Validation error: ",):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    out = []
    for line in text.splitlines():
        line = line.strip().rstrip(",")
        if not line:
            continue
        m = _PATH_LINE.match(line)
        if m and " " not in m.group(1):
            out.append((_server_path(m.group(1), data), line))
        else:
            out.append(((), line))
    return out or [((), constraints.strip())]


def validate_server(
    flows: Sequence[LocalFlow], client: Any, parsed: dict[str, ParsedYaml] | None = None
) -> list[Diagnostic]:
    """Send the flows to ``POST /flows/validate`` (``client.validate_flows``, batched by the
    client) and map each result back to its file (results come back in input order, with
    ``index``: FlowController.validateFlows, develop 8ecd83370)."""
    flows = [f for f in flows if f.data is not None]
    if not flows:
        return []
    parsed = dict(parsed or {})
    results = client.validate_flows([f.source for f in flows])
    out: list[Diagnostic] = []
    for pos, result in enumerate(results):
        index = getattr(result, "index", pos)
        flow = flows[index] if isinstance(index, int) and 0 <= index < len(flows) else flows[pos]
        p = parsed.get(str(flow.path)) or parse_yaml(flow.source)
        if getattr(result, "constraints", None):
            for path, message in _server_messages(result.constraints, flow.data):
                line_hint = re.search(r"\(at line (\d+)\)", message)
                d = _diag(flow, p, path, "server", f"server: {message}; fix it and validate again")
                if line_hint and not path:
                    d = Diagnostic(
                        d.path, d.message, d.severity, int(line_hint.group(1)), 1, d.code
                    )
                out.append(d)
        for message in getattr(result, "warnings", None) or []:
            out.append(_diag(flow, p, (), "server-warning", f"server warning: {message}", WARNING))
        for message in getattr(result, "infos", None) or []:
            out.append(
                _diag(
                    flow,
                    p,
                    (),
                    "server-info",
                    f"server: {message}; update the flow to the new name",
                    WARNING,
                )
            )
        for dpath in getattr(result, "deprecation_paths", None) or []:
            path = _server_path(dpath, flow.data)
            out.append(
                _diag(
                    flow,
                    p,
                    path,
                    "deprecated",
                    f"{dpath} is deprecated on this server; replace it (see the "
                    "plugin documentation)",
                    WARNING,
                )
            )
        if getattr(result, "outdated", False):
            out.append(
                _diag(
                    flow,
                    p,
                    ("revision",),
                    "outdated",
                    "the 'revision:' in this file is not the server's next revision: "
                    "the flow changed on the server since; remove the 'revision:' "
                    "line (the server numbers revisions itself)",
                    WARNING,
                    key=True,
                )
            )
    return out
