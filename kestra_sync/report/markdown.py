"""The plan as Markdown, for a pull-request comment or `$GITHUB_STEP_SUMMARY`.

GitHub caps a comment at 65,536 characters; diffs are folded in <details> and cut with a note
once the document nears that size, so the table of changes is always complete.
"""

from __future__ import annotations

import html

from ..kinds import facts_of
from ..kinds.base import TENANT_LEVEL
from ..planning.plan import CREATE, DELETE, UNCHANGED, UNMANAGED, UPDATE, Plan
from .escape import block, line, md_code, md_fence, md_text
from .plantext import (
    WORD,
    no_changes_line,
    other_namespaces_parts,
    partial_plan_note,
    rename_parts,
    summary_line,
)

MAX_CHARS = 60_000
ICON = {CREATE: "➕", UPDATE: "✏️", DELETE: "🗑️", UNCHANGED: "✅", UNMANAGED: "❔"}
# Every name, path and message below comes from git or the server: each is escaped for where
# it goes (report/escape.py), code spans for names, escaped text for the rest.
TABLE_HEAD = ["| | Kind | Name | Action | Details |", "|---|---|---|---|---|"]


def kind_word(change) -> str:
    kind = facts_of(change.kind)
    word = kind.noun if kind is not None else change.kind
    if kind is not None and kind.level == TENANT_LEVEL:  # say whose (a dashboard)
        return f"{word} of tenant {md_code(change.ref.tenant)}"
    return word


def name_cell(change, *, tenant: bool = False) -> str:
    """``company.team/etl`` for a flow; the namespace then the path or key for the others;
    ``tenant``: prefixed with a tenant other than main (where no heading names it)."""
    ref = change.ref
    prefix = f"{ref.tenant}:" if tenant and ref.tenant != "main" else ""
    kind = facts_of(change.kind)
    if kind is not None and not kind.target_prefix:  # a flow
        return md_code(f"{prefix}{ref.namespace}/{ref.id}")
    if kind is not None and kind.level == TENANT_LEVEL:
        return md_code(prefix + ref.id)
    return f"{md_code(prefix + ref.namespace)} {md_code(ref.id)}"


def render_plan_markdown(
    plan: Plan, *, title: str = "kestra-sync plan", marker: str = "", note: str | None = None
) -> str:
    """``note``: the environment line (settings.environments.note), shown under the title."""
    counts = plan.counts()
    lines = [marker] if marker else []
    lines.append(f"### {title}")
    lines.append("")
    if note:
        lines += [md_text(note), ""]
    lines.append(f"**{summary_line(counts)}**")
    lines.append("")
    for error in plan.errors:
        lines.append(f"> [!CAUTION]\n> {md_text(error)}\n")
    shown = [c for c in sorted(plan.changes, key=lambda c: c.ref) if c.action != UNCHANGED]
    tenants = sorted({c.ref.tenant for c in shown})
    # As in the text plan: grouped by tenant when the plan is not just the default tenant.
    several_tenants = len(tenants) > 1 or any(t != "main" for t in tenants)
    for tenant in tenants:
        if several_tenants:
            lines += [f"#### Tenant {md_code(tenant)}", ""]
        lines += TABLE_HEAD
        for change in (c for c in shown if c.ref.tenant == tenant):
            details = md_text("; ".join(change.summary + ([change.note] if change.note else [])))
            if change.path:
                details = md_code(change.path) + (f" — {details}" if details else "")
            revision = f" (r{change.server_revision})" if change.server_revision else ""
            lines.append(
                f"| {ICON[change.action]} | {kind_word(change)} | {name_cell(change)} "
                f"| {WORD[change.action]}{revision} | {details} |"
            )
        lines.append("")
    if not shown and not plan.errors:
        lines.append(no_changes_line(plan))
        lines.append("")
    for sentence, warnings in rename_parts(plan):
        lines.append(f"- 🔀 {md_text(sentence)}")
        lines.extend(f"  - ⚠️ {md_text(w)}" for w in warnings)
    if plan.renames:
        lines.append("")
    if plan.targets:
        lines += [f"> [!NOTE]\n> {md_text(partial_plan_note(plan.targets))}", ""]
    for sentence, lead, command in other_namespaces_parts(plan):
        lines.append(f"_{md_text(sentence)}_" + ("  " if command else ""))
        if command:
            lines.append(f"{md_text(lead)} {md_code(command)}")
    if plan.other_namespaces:
        lines.append("")
    size = sum(len(line) + 1 for line in lines)
    omitted = 0
    for change in shown:
        if change.action != UPDATE or not change.diff:
            continue
        diff = block(change.diff)
        fence = md_fence(diff)
        name = html.escape(line(change.ref))  # raw HTML: Markdown is not read inside it
        folded = (
            f"<details><summary>diff <code>{name}</code></summary>\n\n"
            f"{fence}diff\n{diff}\n{fence}\n\n</details>\n"
        )
        if size + len(folded) > MAX_CHARS:
            omitted += 1
            continue
        lines.append(folded)
        size += len(folded) + 1
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
        lines += ["| | Kind | Name | Action | Result |", "|---|---|---|---|---|"]
        for o in result.outcomes:
            outcome = o.result if o.status == DONE else o.error
            if o.revision is not None:
                outcome += f" (r{o.revision})"
            lines.append(
                f"| {icon[o.status]} | {kind_word(o.change)} | {name_cell(o.change, tenant=True)} "
                f"| {o.change.action} | {md_text(outcome)} |"
            )
    else:
        lines.append("Nothing to do: the server matches git.")
    if result.tests is not None:
        lines += ["", *render_tests_markdown(result.tests)]
    return "\n".join(lines) + "\n"


def render_tests_markdown(run) -> list[str]:
    """The flow tests run after the deploy: a row per test case (or per suite without a
    result), and the rollback command when one failed."""
    if not run.suites:
        return ["#### Flow tests", "", "None to run: this apply changed no flow with a test suite."]
    counts = run.counts()
    lines = [
        "#### Flow tests",
        "",
        f"**{counts['passed']} suite(s) passed, {counts['failed']} failed.**",
        "",
        "| | Suite | Flow | Test case | Result |",
        "|---|---|---|---|---|",
    ]
    for suite in run.suites:
        rows = suite.cases or [None]
        for case in rows:
            state = case.state if case else suite.state
            passed = state in ("SUCCESS", "SKIPPED") and (case is not None or suite.passed)
            why = (case.message if case else suite.error) or state
            lines.append(
                f"| {'✅' if passed else '❌'} | {md_code(suite.name)} | {md_code(suite.flow_id)} "
                f"| {md_code(case.id) if case else '—'} | {md_text(why)} |"
            )
    if not run.ok:
        lines += [
            "",
            "A failed test does not undo the deploy. To roll back, deploy the previous commit "
            "with the same options:",
            "",
            md_fence(run.rollback) + "sh",
            block(run.rollback),
            md_fence(run.rollback),
        ]
    return lines
