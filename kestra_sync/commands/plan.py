"""`kestra-sync plan`: show what apply would change."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..report import escape
from ..report.terminal import use_color
from .common import (
    EXIT_CHANGES,
    EXIT_FAILURE,
    json_on_error,
    kestra_version_option,
    make_client,
    plan_for,
    plan_options,
    print_target,
    print_warnings,
    report_options,
    server_options,
    settings_from,
    write_file,
)


@click.command()
@plan_options
@server_options
@kestra_version_option
@report_options("Output format on stdout.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (with sources and server revisions) for `apply PLAN_FILE`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are, 1 on error (as Terraform).",
)
@click.option("--show-unchanged", is_flag=True, help="List unchanged flows too.")
@click.option("--no-diff", is_flag=True, help="Do not print source diffs of updates.")
@json_on_error("plan")
def plan(fmt, out, detailed_exitcode, show_unchanged, no_diff, color, **params):
    """Show what apply would change on the server: create, update, delete, unchanged.

    DIRECTORY defaults to the configured flow directory (flows/). FLOW_FILEs (or --target)
    make a partial plan of only those flows, under the config nearest to the first file.
    Nothing is written to the server. Flows on the server that are not in git are only deleted
    with --delete (and with --ownership-label, only those carrying the label).
    """
    from ..report.planfile import dumps, plan_to_dict
    from ..settings.environments import note as environment_note

    settings = settings_from(params)
    client = make_client(settings)
    result = plan_for(settings, client, params)
    print_target(result.target)
    print_warnings(result.warnings)
    plan_obj = result.plan
    env_note = environment_note(result.meta.get("environment"))
    if out:
        _save(out, plan_obj, result.meta)
    if plan_obj.errors and fmt != "text":
        # The text plan ends with its errors; JSON and Markdown go to a file or a comment, so
        # say on stderr (the job log) why the exit code is 1.
        for error in plan_obj.errors:
            click.secho(f"error: {escape.line(error)}", fg="red", err=True)
    if fmt == "json":
        click.echo(dumps(plan_to_dict(plan_obj, result.meta)), nl=False)
    elif fmt == "markdown":
        from ..report.markdown import render_plan_markdown

        click.echo(render_plan_markdown(plan_obj, note=env_note), nl=False)
    else:
        from ..report.plantext import plan_header, render_plan

        colored = use_color(color)
        tenants = sorted({c.tenant for c in plan_obj.scopes}) or list(settings.directories())
        # color=colored: click.echo strips ANSI codes when stdout is not a terminal, which
        # would make --color always (a CI log that renders colour) a no-op.
        click.echo(
            escape.in_github_log(
                plan_header(client.display_url, tenants, env_note)
                + render_plan(
                    plan_obj,
                    color=colored,
                    show_unchanged=show_unchanged,
                    show_diff=not no_diff,
                )
            ),
            nl=False,
            color=colored,
        )
    if plan_obj.errors:
        sys.exit(EXIT_FAILURE)
    if detailed_exitcode and plan_obj.has_changes:
        sys.exit(EXIT_CHANGES)


def _save(out: Path, plan_obj, meta) -> None:
    """Write the plan for `apply PLAN_FILE`; a partial plan that deletes is refused."""
    from ..report.planfile import dumps, plan_to_dict

    deletes = sorted(c.ref for c in plan_obj.changes if c.action == "delete")
    if plan_obj.targets and deletes:
        # `apply plan.json` re-plans from the flows in the file; a partial plan's file lacks the
        # other flows git has in those namespaces, so a delete could not be re-checked.
        from ..errors import InputError

        more = f" and {len(deletes) - 1} more" if len(deletes) > 1 else ""
        raise InputError(
            f"a partial plan that deletes ({deletes[0]}{more}) cannot be "
            "saved: applying it later could not re-check the deletions against the rest of git",
            hint="apply it directly with the same --target and --delete, or save a whole plan",
        )
    # Written even with errors: it replaces any older plan at that path, and apply refuses it.
    write_file(out, dumps(plan_to_dict(plan_obj, meta, include_sources=True)))
    if plan_obj.errors:
        click.echo(f"Saved the plan to {out}, but it has errors: apply will refuse it.", err=True)
    else:
        click.echo(f"Saved the plan to {out}; apply it with: kestra-sync apply {out}", err=True)
