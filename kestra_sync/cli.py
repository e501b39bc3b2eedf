"""The command layer: parse flags, call the library, render, and turn errors into exit codes.

Exit codes (documented in the README):
  0  success (for `plan --detailed-exitcode`: no changes)
  1  expected failure: invalid flows, API error, unreachable server, failed apply
  2  `plan --detailed-exitcode` only: changes present (click also uses 2 for usage errors)
  3  unexpected error (a bug): one line, traceback only with --debug
  130 interrupted

Heavy modules (requests, jsonschema, deepdiff, the emulator) are imported inside command
bodies so that `kestra-sync --help` and `validate` start fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from . import __version__
from .errors import KestraSyncError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CHANGES = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


def _debug_enabled(ctx: click.Context | None) -> bool:
    root = ctx.find_root() if ctx else None
    return bool(root and root.obj and root.obj.get("debug")) or bool(
        os.environ.get("KESTRA_SYNC_DEBUG")
    )


def print_error(err: KestraSyncError) -> None:
    click.secho(f"error: {err.message}", fg="red", err=True)
    if err.hint:
        click.echo(f"hint: {err.hint}", err=True)


class _Group(click.Group):
    """The single error boundary: expected errors -> one line + exit 1; bugs -> exit 3."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KestraSyncError as err:
            print_error(err)
            ctx.exit(EXIT_FAILURE)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as err:  # a bug: say so in one line, never dump a traceback by default
            if _debug_enabled(ctx):
                raise
            click.secho(f"error: unexpected error: {type(err).__name__}: {err}", fg="red", err=True)
            click.echo(
                "hint: this is a bug in kestra-sync; re-run with --debug for details and report it",
                err=True,
            )
            ctx.exit(EXIT_BUG)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kestra-sync")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """GitOps for Kestra: validate, plan and apply a directory of flows against a server."""
    ctx.obj = {"debug": debug}


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="kestra-sync")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# ---------------------------------------------------------------------------------------------
# validate (branch `validate`; library: kestra_sync.flows / kestra_sync.validate)


@cli.command("validate")
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
@click.option("--config", "config_file", type=click.Path(path_type=str), help="Config file.")
@click.option("--layout", type=click.Choice(["none", "nested", "dotted"]), help="Path rule.")
@click.option("--tenant", help="Tenant the flows belong to (default: main).")
@click.option("--ignore-file", type=click.Path(path_type=str), help="Default: DIR/.kestraignore")
@click.option(
    "--schema",
    "schema_spec",
    help="A full flow JSON schema (file or URL, e.g. URL/api/v1/plugins/schemas/flow), "
    "cached on disk; checked in addition to the bundled structural schema.",
)
@click.option("--refresh-schema", is_flag=True, help="Download a --schema URL again.")
@click.option("--server-side", is_flag=True, help="Also ask the server's validate endpoint.")
@click.option("--url", help="Kestra URL for --server-side (or KESTRA_URL).")
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour text output (default: when a tty, no NO_COLOR).",
)
def validate_command(
    paths: tuple[str, ...],
    fmt: str,
    directory: str | None,
    config_file: str | None,
    layout: str | None,
    tenant: str | None,
    ignore_file: str | None,
    schema_spec: str | None,
    refresh_schema: bool,
    server_side: bool,
    url: str | None,
    color: bool | None,
) -> None:
    """Check flow files offline (and with --server-side, on the server).

    With PATHS (files or directories, as pre-commit passes them) only those are reported, but
    the configured directory is still read to find the same namespace/id in another file.
    Exit code 0 when valid (warnings allowed), 1 when any error.
    """
    from pathlib import Path

    from .config import load_settings
    from .flows import scan_settings
    from .report.diagnostics import (
        pick_format,
        render_json,
        render_text,
        sorted_diagnostics,
        use_color,
    )
    from .validate import check_duplicates, validate_offline

    settings = load_settings(
        {"directory": directory, "layout": layout, "tenant": tenant, "url": url},
        config_file=Path(config_file) if config_file else None,
    )
    given = list(paths) if paths else None
    result, skipped = scan_settings(settings, given, ignore_file=ignore_file)
    if skipped and fmt != "json":
        dirs = ", ".join(str(d) for d in settings.directories().values())
        click.echo(
            f"note: skipped {len(skipped)} file(s) outside the flow directory ({dirs})",
            err=True,
        )
    diagnostics = list(result.diagnostics)
    schema = None
    if schema_spec:
        from .validate import resolve_schema

        auth = None
        if settings.token:
            auth = _BearerAuth(settings.token)
        elif settings.username and settings.password:
            auth = (settings.username, settings.password)
        schema = resolve_schema(
            schema_spec,
            refresh=refresh_schema,
            auth=auth,
            timeout=settings.timeout,
            verify=settings.verify,
        )
    roots = {tenant: Path(d) for tenant, d in settings.directories().items()}
    for tenant, root in roots.items():
        diagnostics += validate_offline(
            [f for f in result.flows if f.tenant == tenant],
            layout=settings.layout,
            root=root,
            schema=schema,
            parsed=result.parsed,
            check_duplicate_flows=False,
        )
    others = [f for f in result.flows if f.tenant not in roots]
    if others:
        diagnostics += validate_offline(
            others, schema=schema, parsed=result.parsed, check_duplicate_flows=False
        )
    if given is None:
        diagnostics += check_duplicates(result.flows, result.parsed)
    else:
        # pre-commit passes only the changed files (and would split them across processes
        # without require_serial): compare the given flows with every flow of the configured
        # directories, so a copy in an untouched file is still found. Report on given files only.
        shown = {str(f.path) for f in result.flows}
        everything = list(result.flows)
        if all(Path(d).is_dir() for d in roots.values()):
            known = {Path(f.path).resolve() for f in result.flows}
            whole, _ = scan_settings(settings, ignore_file=ignore_file)
            everything += [f for f in whole.flows if Path(f.path).resolve() not in known]
        diagnostics += [d for d in check_duplicates(everything, result.parsed) if d.path in shown]
    if server_side and result.flows:
        if not settings.url:
            from .errors import ConfigError

            raise ConfigError(
                "--server-side needs a server URL", hint="pass --url or set KESTRA_URL"
            )
        from .client import KestraClient
        from .validate import validate_server

        client = KestraClient.from_settings(settings)
        diagnostics += validate_server(result.flows, client, parsed=result.parsed)

    diagnostics = sorted_diagnostics(diagnostics)
    files = len({str(f.path) for f in result.flows} | {d.path for d in diagnostics})
    chosen = pick_format(fmt)
    if chosen == "json":
        click.echo(render_json(diagnostics, files))
    elif chosen == "github":
        from .report.diagnostics import format_text_line, summary
        from .report.github import render as render_github

        for line in render_github(diagnostics):
            click.echo(line)
        for d in diagnostics:
            click.echo(format_text_line(d))
        click.echo(summary(diagnostics, files))
    else:
        stream = sys.stdout
        colored = use_color(stream) if color is None else color
        for line in render_text(diagnostics, files, color=colored):
            click.echo(line, color=colored)
    if any(d.is_error for d in diagnostics):
        click.get_current_context().exit(EXIT_FAILURE)


class _BearerAuth:
    """requests auth callable for an API token (used only when --schema is a URL)."""

    def __init__(self, token: str):
        self.token = token

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request
