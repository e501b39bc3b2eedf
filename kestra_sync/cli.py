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

import contextlib
import gc
import os
import sys
from typing import Any

import click

from . import __version__
from .commands.apply import apply
from .commands.common import EXIT_BUG, EXIT_FAILURE, EXIT_INTERRUPTED, print_error
from .commands.demo import demo
from .commands.diff import diff
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
        except BrokenPipeError:
            # The reader of stdout went away (`| head`): not a bug. Nothing more is written
            # there (the interpreter's last flush would fail again), and nothing new starts.
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            click.echo(
                "error: the output was closed before kestra-sync finished (e.g. `| head`); "
                "it stopped there, and a re-run converges",
                err=True,
            )
            ctx.exit(EXIT_FAILURE)
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
@click.option(
    "--debug",
    is_flag=True,
    envvar="KESTRA_SYNC_DEBUG",
    help="Show tracebacks for unexpected errors [env KESTRA_SYNC_DEBUG].",
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    envvar="KESTRA_SYNC_VERBOSE",
    help="Log each HTTP request on stderr: method, path, status, time; never a header "
    "[env KESTRA_SYNC_VERBOSE].",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """GitOps for Kestra: validate, plan and apply a directory of flows against a server.

    --debug and -v/--verbose may also follow the command (`kestra-sync plan --debug`).
    """
    ctx.obj = {"debug": debug, "verbose": verbose}


for command in (validate_command, plan, apply, diff, show, pull, init, demo, emulator_command):
    cli.add_command(command)

# Options whose environment variable is Kestra's own name, read by load_settings (KESTRA_URL,
# KESTRA_API_TOKEN ...) or KESTRA_SYNC_CONFIG; their help text names it.
_ENV_IN_SETTINGS = {
    "url",
    "tenant",
    "username",
    "password",
    "token",
    "config_file",
    "ca_bundle",
    "insecure",
    "max_reply_mb",
    "kestra_version",
}
# Commands whose options mean something else than the same flag elsewhere: their variables
# carry the command's name (KESTRA_SYNC_EMULATOR_PORT, KESTRA_SYNC_PLAN_FORMAT).
_OWN_PREFIX = {"emulator", "demo"}


def _option_env_vars() -> None:
    """Every option can come from the environment (CI systems set variables more easily than
    they edit command lines): KESTRA_SYNC_<LONG_FLAG>, shown in --help. --format takes other
    values per command, so its variable names the command."""
    for name, command in cli.commands.items():
        for param in command.params:
            if not isinstance(param, click.Option) or param.envvar or param.hidden:
                continue
            if name not in _OWN_PREFIX and param.name in _ENV_IN_SETTINGS:
                continue
            longs = [o for o in param.opts if o.startswith("--")]
            if not longs or longs[0] == "--help":
                continue
            flag = longs[0][2:].upper().replace("-", "_")
            own = name in _OWN_PREFIX or flag == "FORMAT"
            param.envvar = f"KESTRA_SYNC_{name.upper() + '_' if own else ''}{flag}"
            param.show_envvar = True


_option_env_vars()


GLOBAL_FLAGS = ("--debug", "--verbose", "-v")


def hoist_global_flags(argv: list[str]) -> list[str]:
    """`kestra-sync plan --debug` means `kestra-sync --debug plan`: people add the flag at the
    end when a command fails. Only before a `--` that ends the options."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in GLOBAL_FLAGS]
    rest = [a for a in argv[:end] if a not in GLOBAL_FLAGS]
    return flags + rest + argv[end:]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    # A run is a short batch that keeps thousands of parsed flows alive; the cyclic collector's
    # default pace walks them over and over for nothing (their trees have no cycles), a fifth
    # of validating 10,000 flows. Collect 100x less often: cycles are still freed eventually.
    previous = gc.get_threshold()
    gc.set_threshold(100_000, 20, 100)
    try:
        cli.main(args=hoist_global_flags(list(args)), prog_name="kestra-sync")
    finally:
        gc.set_threshold(*previous)  # main() may run inside another program (tests)


if __name__ == "__main__":  # pragma: no cover - main() exits through click
    main()
