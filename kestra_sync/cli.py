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


# --------------------------------------------------------------------------- emulator command
@cli.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port; 0 picks a free one.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    help="JSON state file: loaded at start, rewritten atomically after each write.",
)
@click.option(
    "--edition",
    type=click.Choice(["oss", "ee"]),
    default="oss",
    show_default=True,
    help="oss: tenant 'main' only, basic auth; ee: any tenant, bearer tokens too.",
)
@click.option(
    "--username", help="Basic-auth user (auth is off when no credentials are configured)."
)
@click.option("--password", help="Basic-auth password.")
@click.option("--token", "tokens", multiple=True, help="Accepted bearer token (EE; repeatable).")
@click.option(
    "--latency-ms",
    default=0,
    type=int,
    show_default=True,
    help="Latency added to every API request.",
)
def emulator_command(
    host: str,
    port: int,
    state_file: str | None,
    edition: str,
    username: str | None,
    password: str | None,
    tokens: tuple[str, ...],
    latency_ms: int,
) -> None:
    """Run the bundled Kestra API emulator (flows endpoints) until Ctrl-C."""
    from .emulator import Emulator

    if (username is None) != (password is None):
        raise click.UsageError("--username and --password go together")
    if tokens and edition != "ee":
        raise click.UsageError(
            "--token needs --edition ee (Kestra OSS does not accept bearer tokens)"
        )
    users = {username: password} if username is not None and password is not None else {}
    try:
        emu = Emulator(
            host=host,
            port=port,
            edition=edition,
            users=users,
            tokens=list(tokens),
            latency=latency_ms / 1000.0,
            state=state_file,
        )
    except (OSError, ValueError, TypeError) as err:
        raise click.ClickException(f"cannot read state file {state_file}: {err}") from None
    try:
        emu.bind()
    except OSError as err:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {err.strerror or err}"
        ) from None
    click.echo(emu.describe(), err=False)
    sys.stdout.flush()
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        click.echo("emulator stopped", err=True)
