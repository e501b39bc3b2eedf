"""The plan as Markdown, for a pull-request comment or `$GITHUB_STEP_SUMMARY`.

GitHub caps a comment at 65,536 characters; diffs are folded in <details> and cut with a note
once the document nears that size, so the table of changes is always complete.
"""

from __future__ import annotations

import re

from ..planning.plan import CREATE, DELETE, UNCHANGED, UNMANAGED, UPDATE, Plan
from .plantext import (
    WORD,
    no_changes_line,
    other_namespaces_lines,
    partial_plan_note,
    summary_line,
)

MAX_CHARS = 60_000
ICON = {CREATE: "➕", UPDATE: "✏️", DELETE: "🗑️", UNCHANGED: "✅", UNMANAGED: "❔"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    """A code fence longer than any backtick run in ``text`` (flow descriptions are Markdown
    and may hold fences of their own, which would otherwise end the diff block early)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def render_plan_markdown(
    plan: Plan, *, title: str = "kestra-sync plan", marker: str = "", note: str | None = None
) -> str:
    """``note``: the environment line (settings.environments.note), shown under the title."""
    counts = plan.counts()
    lines = [marker] if marker else []
    lines.append(f"### {title}")
    lines.append("")
    if note:
        lines += [_cell(note), ""]
    lines.append(f"**{summary_line(counts)}**")
    lines.append("")
    for error in plan.errors:
        lines.append(f"> [!CAUTION]\n> {_cell(error)}\n")
    shown = [c for c in sorted(plan.changes, key=lambda c: c.ref) if c.action != UNCHANGED]
    tenants = sorted({c.ref.tenant for c in shown})
    # As in the text plan: grouped by tenant when the plan is not just the default tenant.
    several_tenants = len(tenants) > 1 or any(t != "main" for t in tenants)
    for tenant in tenants:
        if several_tenants:
            lines += [f"#### Tenant `{tenant}`", ""]
        lines += ["| | Flow | Action | Details |", "|---|---|---|---|"]
        for change in (c for c in shown if c.ref.tenant == tenant):
            details = "; ".join(change.summary + ([change.note] if change.note else []))
            if change.path:
                details = f"`{change.path}`" + (f" — {details}" if details else "")
            revision = f" (r{change.server_revision})" if change.server_revision else ""
            flow = (
                f"{change.ref.namespace}/{change.ref.id}"
                if change.kind == "flow"
                else f"{change.ref.namespace} {change.kind} {change.ref.id}"
            )
            lines.append(
                f"| {ICON[change.action]} | `{flow}` | {WORD[change.action]}{revision} "
                f"| {_cell(details)} |"
            )
        lines.append("")
    if not shown and not plan.errors:
        lines.append(no_changes_line(plan))
        lines.append("")
    if plan.targets:
        lines += [f"> [!NOTE]\n> {_cell(partial_plan_note(plan.targets))}", ""]
    for line in other_namespaces_lines(plan):
        lines.append(f"_{_cell(line.strip())}_" + "  ")
    if plan.other_namespaces:
        lines.append("")
    size = sum(len(line) + 1 for line in lines)
    omitted = 0
    for change in shown:
        if change.action != UPDATE or not change.diff:
            continue
        fence = _fence(change.diff)
        block = (
            f"<details><summary>diff <code>{change.ref}</code></summary>\n\n"
            f"{fence}diff\n{change.diff}\n{fence}\n\n</details>\n"
        )
        if size + len(block) > MAX_CHARS:
            omitted += 1
            continue
        lines.append(block)
        size += len(block) + 1
    if omitted:
        lines.append(f"_{omitted} diff(s) omitted to fit the comment size limit; see the job log._")
    return "\n".join(lines) + "\n"


def render_apply_markdown(result, *, title: str = "kestra-sync apply") -> str:
    from ..applying.apply import DONE, FAILED, NOT_ATTEMPTED

    counts = result.counts()
    icon = {DONE: "✅", FAILED: "❌", NOT_ATTEMPTED: "⏭️"}
    lines = [
        f"### {title}",
        "",
        f"**{counts[DONE]} done, {counts[FAILED]} failed, {counts[NOT_ATTEMPTED]} not attempted.**",
        "",
    ]
    if result.outcomes:
        lines += ["| | Flow | Action | Result |", "|---|---|---|---|"]
        for o in result.outcomes:
            outcome = o.result if o.status == DONE else o.error
            if o.revision is not None:
                outcome += f" (r{o.revision})"
            lines.append(
                f"| {icon[o.status]} | `{o.change.ref}` | {o.change.action} | {_cell(outcome)} |"
            )
    else:
        lines.append("Nothing to do: the server matches git.")
    return "\n".join(lines) + "\n"
