"""`kestra-sync validate`: check flow files offline, and on the server on request."""

from __future__ import annotations

from typing import Any

import click

from ..report import escape
from ..report.terminal import use_color
from .common import (
    EXIT_FAILURE,
    color_option,
    json_on_error,
    kestra_version_option,
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
@click.option(
    "--directory",
    "-d",
    type=click.Path(path_type=str),
    help="Flow directory (with a `tenants:` map, that of the tenant --tenant selects).",
)
@click.option("--layout", type=click.Choice(["none", "nested", "dotted"]), help="Path rule.")
@click.option("--ignore-file", type=click.Path(path_type=str), help="Default: DIR/.kestraignore")
@click.option(
    "--schema",
    "schema_spec",
    help="A full flow JSON schema (file or URL, e.g. URL/api/v1/plugins/schemas/flow), "
    "cached on disk (a cached copy another user could have written is downloaded again); "
    "checked in addition to the bundled structural schema.",
)
@click.option("--refresh-schema", is_flag=True, help="Download a --schema URL again.")
@click.option(
    "--server-side",
    is_flag=True,
    help="Also ask the server's validate endpoint (and follow the server's Kestra version).",
)
@kestra_version_option
@click.option(
    "--fix",
    is_flag=True,
    help="Rewrite the mechanical replacements of the version rules in the files (e.g. "
    "taskDefaults -> pluginDefaults, type BOOLEAN -> BOOL), nothing else; then report what is left.",
)
@color_option
@server_options
@ownership_option
@json_on_error("validate")
def validate_command(
    paths: tuple[str, ...],
    fmt: str,
    ignore_file: str | None,
    schema_spec: str | None,
    refresh_schema: bool,
    server_side: bool,
    fix: bool,
    color: str,
    **params: Any,
) -> None:
    """Check flow files offline (and with --server-side, on the server).

    With PATHS (files or directories, as pre-commit passes them) only those are reported, but
    the configured directory is still read to find the same namespace/id in another file.
    Exit code 0 when valid (warnings allowed), 1 when any error.

    The rules follow --kestra-version (or KESTRA_VERSION, kestra_version:); with --server-side,
    the server's version unless one is pinned. With no version, only what every supported
    Kestra version refuses is an error; the rest is a warning naming the versions that refuse
    it. `--kestra-version 2.0` on a 1.x tree lists what the upgrade breaks, with replacements.
    """
    from ..report.diagnostics import sorted_diagnostics

    settings = settings_from(params)
    target, client = _target_and_client(settings, server_side)
    for warning in target.warnings:
        click.echo(f"warning: {escape.line(warning)}", err=True)
    schema = None
    if schema_spec:
        from ..rules.schemacheck import resolve_schema

        schema = resolve_schema(schema_spec, refresh=refresh_schema, settings=settings)
    diagnostics, skipped, files = _diagnose(
        settings, paths, params, ignore_file, schema, target, fix, client
    )
    if skipped and fmt != "json":
        click.echo(
            f"note: skipped {len(skipped)} file(s) outside every flow directory that are not "
            "flows (no top-level id and namespace)",
            err=True,
        )

    diagnostics = sorted_diagnostics(diagnostics)
    _report(diagnostics, len(files | {d.path for d in diagnostics}), target, fmt, color)
    if any(d.is_error for d in diagnostics):
        click.get_current_context().exit(EXIT_FAILURE)


def _target_and_client(settings, server_side: bool):
    """The Kestra version the rules follow, and the client when --server-side asks for one."""
    from ..rules import kestraversion as versions

    if not server_side:
        return versions.pinned(settings), None
    if not settings.url:
        from ..errors import ConfigError

        raise ConfigError(
            "--server-side needs a server URL", hint="pass --server or set KESTRA_URL"
        )
    from .common import make_client

    client = make_client(settings)
    return versions.resolve(settings, client), client


def _diagnose(settings, paths, params, ignore_file, schema, target, fix, client):
    """Check each config's files: (diagnostics, skipped non-flow files, files read)."""
    from ..settings.placement import misplaced_flows

    diagnostics, skipped, files = [], [], set()
    for group_settings, group_paths in _settings_per_path(settings, paths, params):
        result = _check_group(group_settings, group_paths, ignore_file, schema, target, fix)
        misplaced, not_flows = misplaced_flows(result.skipped, group_settings)
        diagnostics += list(result.diagnostics) + misplaced
        if group_settings.ownership_label:
            from ..planning.ownership import missing_label

            diagnostics += missing_label(result.flows, group_settings.ownership_label)
        skipped += not_flows
        files |= {str(f.path) for f in result.flows} | _resource_files(result, group_paths)
        if client is not None and result.flows:
            from ..rules.servercheck import validate_server

            diagnostics += validate_server(result.flows, client, parsed=result.parsed)
    return diagnostics, skipped, files


def _resource_files(result, paths) -> set[str]:
    """The files of the other kinds (dashboards, kv.yml, namespace files) the check read, under
    ``paths`` when given: they are checked files too (a dashboard alone is "1 file checked")."""
    from pathlib import Path

    found = {item.path for scan in result.resources.values() for item in scan.items}
    if not paths:
        return found
    roots = [Path(p).resolve() for p in paths]
    return {
        f
        for f in found
        if any(r == Path(f).resolve() or r in Path(f).resolve().parents for r in roots)
    }


def _report(diagnostics, files: int, target, fmt: str, color: str) -> None:
    """Print the diagnostics in the chosen format."""
    from ..report.diagnostics import pick_format, render_json, render_text

    chosen = pick_format(fmt)
    if chosen == "json":
        click.echo(render_json(diagnostics, files, target.to_dict()))
    elif chosen == "github":
        from ..report.diagnostics import format_text_line, summary
        from ..report.github import render as render_github

        for line in render_github(diagnostics):
            click.echo(line)
        for d in diagnostics:
            click.echo(format_text_line(d))
        click.echo(f"{summary(diagnostics, files)} ({target.describe()})")
    else:
        colored = use_color(color)
        for line in render_text(diagnostics, files, color=colored, rules=target.describe()):
            click.echo(line, color=colored)


def _check_group(settings, paths, ignore_file, schema, target, fix):
    """check_project for one config's files, after --fix's rewrites when asked."""
    from ..kinds import KINDS
    from ..rules.validate import check_project

    def check():
        return check_project(
            settings,
            paths,
            ignore_file=ignore_file,
            schema=schema,
            version=target.version,
            kinds=list(KINDS.values()),
        )

    result = check()
    if fix:
        from ..rules.fix import fix_flows

        if target.version is None:
            from ..errors import ConfigError

            raise ConfigError(
                "--fix needs the Kestra version to fix for",
                hint="pass --kestra-version (e.g. 2.0), or set KESTRA_VERSION",
            )

        edits, untouched = fix_flows(result.flows, result.parsed, target.version)
        for edit in edits:
            valid = f" (valid since {edit.valid})" if edit.valid else ""
            click.echo(
                escape.line(f"fixed {edit.path}:{edit.line}: {edit.old} -> {edit.new}{valid}"),
                err=True,
            )
        for why in untouched:
            click.echo(escape.line(f"note: {why}"), err=True)
        if edits:  # report what is left, from the files as they are now
            result = check()
    return result


def _settings_per_path(settings, paths, params):
    """(settings, paths or None) per config: with PATHS and no --config or --directory, each
    path is checked under the config nearest to it (a monorepo's kestra/kestra-sync.yml)."""
    import os

    from ..settings.config import CONFIG_ENV

    if not paths:
        return [(settings, None)]
    if params.get("config_file") or params.get("directory") or os.environ.get(CONFIG_ENV):
        return [(settings, list(paths))]
    from ..settings.config import load_settings
    from ..settings.placement import group_by_config
    from .common import setting_flags

    groups = []
    for config, group in group_by_config(list(paths)).items():
        if config is None or (settings.config_file and config.samefile(settings.config_file)):
            groups.append((settings, group))
        else:
            groups.append((load_settings(setting_flags(params), config_file=config), group))
    return groups
