"""`kestra-sync diff --env FROM --env TO`: what promoting FROM's server to TO would change,
for what git manages, in the plan's formats (planning/promotion.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..report.terminal import use_color
from .common import EXIT_CHANGES, EXIT_FAILURE, json_on_error, print_warnings, report_options


@click.command()
@click.option(
    "--env",
    "envs",
    multiple=True,
    metavar="NAME",
    envvar="KESTRA_SYNC_DIFF_ENV",  # both names, space-separated
    show_envvar=True,
    help="Give it twice: the environment promoted from, then the one promoted to.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file [env KESTRA_SYNC_CONFIG; default: the nearest kestra-sync.yml].",
)
@report_options("Output format on stdout.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when the two servers agree, 2 when promoting would change something.",
)
@click.option("--show-unchanged", is_flag=True, help="List what is the same on both too.")
@click.option("--no-diff", is_flag=True, help="Do not print source diffs.")
@json_on_error("diff")
def diff(envs, config_file, fmt, color, detailed_exitcode, show_unchanged, no_diff):
    """Show what differs between two environments' servers for what git manages: the plan
    that promoting the first one's flows, namespace files and KV pairs to the second would
    make. Nothing is written; nothing would be deleted (an item only the second has is kept).
    """
    from ..planning.pipeline import make_plan
    from ..planning.promotion import promoted
    from ..report.planfile import dumps, plan_to_dict
    from ..settings.config import load_settings
    from ..settings.environments import describe
    from .common import make_client

    if len(envs) != 2 or envs[0] == envs[1]:
        raise click.UsageError("give --env twice: the environment to promote from, then to")
    source, target = (load_settings({"env": e}, config_file=config_file) for e in envs)
    target.delete = False  # a promotion never deletes: what only the target has is kept
    source_client, target_client = make_client(source), make_client(target)
    carried = promoted(source, target, source_client)
    result = make_plan(
        target, target_client, local=carried.local, scans=carried.scans, name_leftovers=False
    )
    print_warnings(carried.warnings + result.warnings)
    plan = result.plan
    note = (
        f"Promotion from environment {source.environment} ({source_client.display_url}) to "
        f"environment {target.environment}: what git manages, as {source.environment}'s server "
        f"holds it, planned against {target.environment}'s."
    )
    if fmt == "json":
        meta = {**result.meta, "environment": describe(target)}
        data = plan_to_dict(plan, meta)
        data["promotion"] = {"from": describe(source), "server": source_client.display_url}
        click.echo(dumps(data), nl=False)
    elif fmt == "markdown":
        from ..report.markdown import render_plan_markdown

        click.echo(render_plan_markdown(plan, title="kestra-sync diff", note=note), nl=False)
    else:
        from ..report import escape
        from ..report.plantext import plan_header, render_plan

        colored = use_color(color)
        tenants = sorted({s.tenant for s in plan.scopes}) or list(target.directories())
        text = plan_header(target_client.display_url, tenants, note) + render_plan(
            plan, color=colored, show_unchanged=show_unchanged, show_diff=not no_diff
        )
        # A source line may start with `::` after its indentation: inert in a GitHub log.
        click.echo(escape.in_github_log(text), nl=False, color=colored)
    if plan.errors:
        sys.exit(EXIT_FAILURE)
    if detailed_exitcode and plan.has_changes:
        sys.exit(EXIT_CHANGES)
