"""The plan for a terminal or a CI log: grouped by tenant then namespace, like `terraform plan`.

Unchanged flows are counted, not listed (hundreds of them would hide the changes);
`show_unchanged=True` lists them too. Colour only when asked (the CLI decides from the tty and
NO_COLOR), so the same text is readable in a log file.
"""

from __future__ import annotations

import click

from ..planning.plan import CREATE, DELETE, UNCHANGED, UNMANAGED, UPDATE, Plan
from . import escape

SYMBOL = {CREATE: "+", UPDATE: "~", DELETE: "-", UNCHANGED: "=", UNMANAGED: "?"}
COLOUR = {CREATE: "green", UPDATE: "yellow", DELETE: "red", UNCHANGED: None, UNMANAGED: "cyan"}
WORD = {
    CREATE: "create",
    UPDATE: "update",
    DELETE: "delete",
    UNCHANGED: "unchanged",
    UNMANAGED: "keep",  # on the server, not in git, not deleted: the note says why
}


def summary_line(counts: dict[str, int]) -> str:
    line = (
        f"Plan: {counts[CREATE]} to create, {counts[UPDATE]} to update, "
        f"{counts[DELETE]} to delete, {counts[UNCHANGED]} unchanged"
    )
    if counts[UNMANAGED]:
        line += f", {counts[UNMANAGED]} on the server but not in git"
    return line + "."


def no_changes_line(plan: Plan) -> str:
    """Said only when nothing would change; never "matches" while server-only flows are kept,
    nor when nothing was compared at all (an empty or wrong flow directory)."""
    if not plan.scopes and not plan.changes:
        return "No changes: no flow in git and no managed namespace, so nothing was compared."
    kept = plan.counts()[UNMANAGED]
    if not kept and plan.other_namespaces:
        return "No changes in the namespaces git has flows in (see below for the others)."
    if not kept:
        return "No changes: the server matches git."
    flows_only = all(c.kind == "flow" for c in plan.changes if c.action == UNMANAGED)
    noun = ("flow" if flows_only else "item") + ("s" if kept != 1 else "")
    return (
        f"No changes to apply; {kept} {noun} on the server "
        f"{'are' if kept != 1 else 'is'} not in git and kept."
    )


def render_plan(
    plan: Plan, *, color: bool = False, show_unchanged: bool = False, show_diff: bool = True
) -> str:
    def style(text: str, fg: str | None = None, *, tabs: bool = False, **kw) -> str:
        # Every line passes here: names, paths, messages and diff lines from git or the server
        # are shown with their control characters escaped, so none can end the line early or
        # send a terminal sequence (report/escape.py). A diff line keeps its tabs.
        text = escape.block(text) if tabs else escape.line(text)
        return click.style(text, fg=fg, **kw) if color and (fg or kw) else text

    out: list[str] = []
    grouped = plan.by_tenant_namespace()
    several_tenants = len(grouped) > 1 or any(t != "main" for t in grouped)
    for tenant, namespaces in grouped.items():
        tenant_shown = any(
            show_unchanged or c.action != UNCHANGED for cs in namespaces.values() for c in cs
        )
        if several_tenants and tenant_shown:  # no empty heading for an all-unchanged tenant
            out.append(style(f"tenant {tenant}", bold=True))
        indent = "  " if several_tenants else ""
        for namespace, changes in namespaces.items():
            shown = [c for c in changes if show_unchanged or c.action != UNCHANGED]
            if not shown:
                continue
            heading = f"namespace {namespace}" if namespace else tenant_heading(tenant, shown)
            out.append(style(indent + heading, bold=True))
            for change in shown:
                name = change_name(change)
                head = f"{indent}  {SYMBOL[change.action]} {name}"
                detail = WORD[change.action]
                if change.server_revision is not None:
                    # The revision the server holds now, not the one apply will create.
                    detail += f" (server revision {change.server_revision})"
                if change.path:
                    detail += f"  {change.path}"
                out.append(style(f"{head:<40} {detail}", COLOUR[change.action]))
                pad = indent + "      "
                out.extend(style(pad + line) for line in change.summary)
                if change.note:
                    out.append(style(pad + change.note))
                if show_diff and change.action == UPDATE and change.diff:
                    # Split on line feeds only: a CR or a form feed inside a line is shown.
                    for line in change.diff.split("\n"):
                        fg = None
                        if line.startswith("+") and not line.startswith("+++"):
                            fg = "green"
                        elif line.startswith("-") and not line.startswith("---"):
                            fg = "red"
                        out.append(style((pad + line).rstrip(), fg, tabs=True))
    if out:
        out.append("")
    out.extend(rename_lines(plan, style))
    out.append(style(summary_line(plan.counts()), bold=True))
    if not plan.has_changes and not plan.errors:
        out.append(no_changes_line(plan))
    if plan.targets:
        out.append(style(partial_plan_note(plan.targets), "yellow"))
    out.extend(style(line, "yellow") for line in other_namespaces_lines(plan))
    for error in plan.errors:
        out.append(style(f"error: {error}", "red"))
    return "\n".join(out) + "\n"


def tenant_heading(tenant: str, changes) -> str:
    """A tenant's own resources have no namespace: ``tenant main (dashboards)`` says whose
    they are, in the words of the kinds listed."""
    from ..kinds import facts_of

    words = []
    for change in changes:
        kind = facts_of(change.kind)
        word = kind.plural if kind is not None else change.kind
        if word not in words:
            words.append(word)
    return f"tenant {tenant} ({', '.join(words)})"


def change_name(change) -> str:
    """How a change is named under its namespace heading: the flow id, or the kind then the
    path or key (``file /etl/load.py``, ``kv db_password``), so a KV key never reads as a
    flow."""
    return change.ref.id if change.kind == "flow" else f"{change.kind} {change.ref.id}"


def plan_header(server: str, tenants: list[str], environment: str | None = None) -> str:
    """The first line of a plan, so nobody applies to production thinking it is staging;
    then the environment, and whether its namespace mapping rewrites sources (``environment``,
    settings.environments.note)."""
    which = "tenant" if len(tenants) == 1 else "tenants"
    second = escape.line(environment) + "\n" if environment else ""
    return escape.line(f"Plan for {server}, {which} {', '.join(tenants)}") + "\n" + second + "\n"


def target_words(server: str, tenants: list[str]) -> str:
    which = "tenant" if len(tenants) == 1 else "tenants"
    return f"{server} ({which} {', '.join(tenants)})"


def partial_plan_note(targets: list[str]) -> str:
    """As Terraform warns with -target: the plan does not speak for the rest of the tree."""
    return (
        f"Partial plan: only {', '.join(targets)} (--target or flow files); nothing else was "
        "compared or will be changed. Run without targets to see every change."
    )


def other_namespaces_lines(plan: Plan) -> list[str]:
    """Namespaces under the repository's roots with flows on the server that the plan did not
    read: git has no folder for them (renamed or removed?). Named, with the command that would
    remove them (flows, files and KV pairs, under every guard), because neither the plan nor
    `--delete` alone ever reaches them."""
    lines = []
    for sentence, lead, command in other_namespaces_parts(plan):
        lines.append(sentence)
        if command:
            lines.append(f"  {lead} {command}")
    return lines


def other_namespaces_parts(plan: Plan) -> list[tuple[str, str, str | None]]:
    """Per tenant: the sentence naming its namespaces not in git, the words before the command
    ("To remove it:") and the command (None when the plan file has none), for each format."""
    parts = []
    for tenant, namespaces in sorted(plan.other_namespaces.items()):
        where = "" if tenant == "main" else f" (tenant {tenant})"
        shown = ", ".join(namespaces[:10]) + (
            f" and {len(namespaces) - 10} more" if len(namespaces) > 10 else ""
        )
        sentence = (
            f"Not in git{where}: {len(namespaces)} "
            f"namespace{'s' if len(namespaces) != 1 else ''} with flows on the server that git "
            f"has no folder for, not read or changed: {shown}."
        )
        lead = f"To remove {'them' if len(namespaces) != 1 else 'it'}:"
        parts.append((sentence, lead, plan.retire_commands.get(tenant)))
    return parts


def rename_lines(plan: Plan, style) -> list[str]:
    lines = []
    for sentence, warnings in rename_parts(plan):
        lines.append(style(sentence, "cyan"))
        lines.extend(style(f"  warning: {w}", "yellow") for w in warnings)
    return lines + [""] if lines else []


def rename_parts(plan: Plan) -> list[tuple[str, list[str]]]:
    """Per rename (planning/renames.py): "rename a → b" with what happens to a, and a warning
    per flow that still calls a (it would break when a goes, so a stays while it does)."""
    actions = {c.ref: c for c in plan.changes if c.kind == "flow"}
    parts = []
    for rename in plan.renames:
        old = actions.get(rename.old)
        if old is None:  # a partial plan that does not target it
            fate = f"{rename.old} is not in this partial plan, and stays"
        elif old.action == DELETE:
            fate = f"{rename.old} is deleted once {rename.new} is created"
        else:
            why = old.note if old is not None else ""
            for prefix in (f"renamed to {rename.new}; ", "kept: ", "not deleted: "):
                why = why.removeprefix(prefix)
            fate = f"{rename.old} is kept" + (f": {why}" if why else "")
        warnings = [
            f"{caller} still calls or listens to {rename.old}: change it to {rename.new}, "
            f"or it breaks when {rename.old} goes"
            for caller in rename.callers
        ]
        parts.append((f"rename {rename.old} → {rename.new}: {fate}", warnings))
    return parts
