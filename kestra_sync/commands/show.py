"""`kestra-sync show PLAN.json`: render a saved plan for people, a comment or a script (as
`terraform show`). Nothing is read from the server."""

from __future__ import annotations

from pathlib import Path

import click

from ..report import escape
from ..report.terminal import use_color
from .common import report_options


@click.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@report_options("Output format on stdout.")
@click.option("--show-unchanged", is_flag=True, help="List unchanged flows too.")
@click.option("--no-diff", is_flag=True, help="Do not print source diffs of updates.")
def show(plan_file, fmt, color, show_unchanged, no_diff):
    """Render PLAN_FILE (saved with `plan --out`, or printed by `plan --format json`) as text,
    Markdown or JSON, without contacting the server. Exit 1 when the plan has errors."""
    from ..report.planfile import dumps, load_plan_file, plan_to_dict
    from ..settings.environments import note as environment_note

    plan_obj, meta = load_plan_file(plan_file, for_apply=False)
    if fmt == "json":
        # The same document as `plan --format json` (sources, which only apply needs, left out).
        click.echo(dumps(plan_to_dict(plan_obj, meta)), nl=False)
    elif fmt == "markdown":
        from ..report.markdown import render_plan_markdown

        click.echo(
            render_plan_markdown(plan_obj, note=environment_note(meta.get("environment"))),
            nl=False,
        )
    else:
        from ..report.plantext import plan_header, render_plan

        colored = use_color(color)
        tenants = sorted({s.tenant for s in plan_obj.scopes}) or ["main"]
        made = f"Saved plan {plan_file}, made {meta.get('created_at') or 'at an unknown time'}"
        git = meta.get("git") or {}
        if git.get("commit"):
            made += f" from commit {git['commit'][:12]}" + (" (dirty)" if git.get("dirty") else "")
        text = escape.line(made) + "\n"
        text += plan_header(
            str(meta.get("server")), tenants, environment_note(meta.get("environment"))
        )
        text += render_plan(
            plan_obj, color=colored, show_unchanged=show_unchanged, show_diff=not no_diff
        )
        click.echo(escape.in_github_log(text), nl=False, color=colored)
    if plan_obj.errors:
        click.get_current_context().exit(1)
