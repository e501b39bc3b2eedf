"""The command layer: parse flags, call the library, render, and turn errors into exit codes.

Exit codes (documented in the README; defined in commands/common.py):
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
from .commands.apply import apply
from .commands.common import EXIT_BUG, EXIT_FAILURE, EXIT_INTERRUPTED, print_error
from .commands.demo import demo
from .commands.emulator import emulator_command
from .commands.init import init
from .commands.plan import plan
from .commands.pull import pull
from .commands.show import show
from .commands.validate import validate_command
from .errors import KestraSyncError


def _debug_enabled(ctx: click.Context | None) -> bool:
    root = ctx.find_root() if ctx else None
    return bool(root and root.obj and root.obj.get("debug")) or bool(
        os.environ.get("KESTRA_SYNC_DEBUG")
    )


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


for command in (validate_command, plan, apply, show, pull, init, demo, emulator_command):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="kestra-sync")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
