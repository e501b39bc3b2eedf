"""`kestra-sync validate`: check flow files offline, and on the server on request."""

from __future__ import annotations

from typing import Any

import click

from ..report.terminal import use_color
from .common import (
    EXIT_FAILURE,
    color_option,
    json_on_error,
    ownership_option,
    server_options,
    settings_from,
)


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "text", "json", "github"]),
    default="auto",
    show_default=True,
    help="Output format; auto = github when GITHUB_ACTIONS=true, else text.",
)
@click.option("--directory", "-d", type=click.Path(path_type=str), help="Flow directory.")
@click.option("--layout", type=click.Choice(["none", "nested", "dotted"]), help="Path rule.")
@click.option("--ignore-file", type=click.Path(path_type=str), help="Default: DIR/.kestraignore")
@click.option(
    "--schema",
    "schema_spec",
    help="A full flow JSON schema (file or URL, e.g. URL/api/v1/plugins/schemas/flow), "
    "cached on disk; checked in addition to the bundled structural schema.",
)
@click.option("--refresh-schema", is_flag=True, help="Download a --schema URL again.")
@click.option("--server-side", is_flag=True, help="Also ask the server's validate endpoint.")
@ownership_option
@color_option
@server_options
@json_on_error("validate")
def validate_command(
    paths: tuple[str, ...],
    fmt: str,
    ignore_file: str | None,
    schema_spec: str | None,
    refresh_schema: bool,
    server_side: bool,
    color: str,
    **params: Any,
) -> None:
    """Check flow files offline (and with --server-side, on the server).

    With PATHS (files or directories, as pre-commit passes them) only those are reported, but
    the configured directory is still read to find the same namespace/id in another file.
    Exit code 0 when valid (warnings allowed), 1 when any error.
    """
    from ..placement import misplaced_flows
    from ..report.diagnostics import pick_format, render_json, render_text, sorted_diagnostics
    from ..validate import check_project

    settings = settings_from(params)
    schema = None
    if schema_spec:
        from ..validate import resolve_schema, schema_auth

        schema = resolve_schema(
            schema_spec,
            refresh=refresh_schema,
            auth=schema_auth(settings),
            timeout=settings.timeout,
            verify=settings.verify,
        )
    diagnostics, skipped, files = [], [], set()
    for group_settings, group_paths in _settings_per_path(settings, paths, params):
        result = check_project(group_settings, group_paths, ignore_file=ignore_file, schema=schema)
        misplaced, not_flows = misplaced_flows(result.skipped, group_settings)
        diagnostics += list(result.diagnostics) + misplaced
        if group_settings.ownership_label:
            from ..ownership import missing_label

            diagnostics += missing_label(result.flows, group_settings.ownership_label)
        skipped += not_flows
        files |= {str(f.path) for f in result.flows}
        if server_side and result.flows:
            diagnostics += _server_side(group_settings, result)
    if skipped and fmt != "json":
        click.echo(
            f"note: skipped {len(skipped)} file(s) outside every flow directory that are not "
            "flows (no top-level id and namespace)",
            err=True,
        )

    diagnostics = sorted_diagnostics(diagnostics)
    files = len(files | {d.path for d in diagnostics})
    chosen = pick_format(fmt)
    if chosen == "json":
        click.echo(render_json(diagnostics, files))
    elif chosen == "github":
        from ..report.diagnostics import format_text_line, summary
        from ..report.github import render as render_github

        for line in render_github(diagnostics):
            click.echo(line)
        for d in diagnostics:
            click.echo(format_text_line(d))
        click.echo(summary(diagnostics, files))
    else:
        colored = use_color(color)
        for line in render_text(diagnostics, files, color=colored):
            click.echo(line, color=colored)
    if any(d.is_error for d in diagnostics):
        click.get_current_context().exit(EXIT_FAILURE)


def _settings_per_path(settings, paths, params):
    """(settings, paths or None) per config: with PATHS and no --config or --directory, each
    path is checked under the config nearest to it (a monorepo's kestra/kestra-sync.yml)."""
    if not paths:
        return [(settings, None)]
    if params.get("config_file") or params.get("directory") or settings_from_env_config():
        return [(settings, list(paths))]
    from ..config import load_settings
    from ..placement import group_by_config
    from .common import setting_flags

    groups = []
    for config, group in group_by_config(list(paths)).items():
        if config is None or (settings.config_file and config.samefile(settings.config_file)):
            groups.append((settings, group))
        else:
            groups.append((load_settings(setting_flags(params), config_file=config), group))
    return groups


def settings_from_env_config() -> bool:
    import os

    from ..config import CONFIG_ENV

    return bool(os.environ.get(CONFIG_ENV))


def _server_side(settings, result):
    if not settings.url:
        from ..errors import ConfigError

        raise ConfigError(
            "--server-side needs a server URL", hint="pass --server or set KESTRA_URL"
        )
    from ..validate import validate_server
    from .common import make_client

    client = make_client(settings)
    return validate_server(result.flows, client, parsed=result.parsed)
