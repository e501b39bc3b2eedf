"""`kestra-sync emulator`: run the bundled Kestra API emulator."""

from __future__ import annotations

import sys

import click

from ..knowledge import EMULATOR_PROFILES, LATEST


@click.command("emulator")
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
    "--kestra-version",
    "kestra_version",
    type=click.Choice(list(EMULATOR_PROFILES)),
    default=LATEST,
    show_default=True,
    help="Answer as this Kestra version does: flow rules and 422 texts, search parameters, "
    "the version in GET /api/v1/configs.",
)
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
    kestra_version: str,
) -> None:
    """Run the bundled Kestra API emulator (flows endpoints) until Ctrl-C."""
    from ..emulator import Emulator

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
            version=kestra_version,
        )
    except (OSError, ValueError, TypeError) as err:
        raise click.ClickException(f"cannot read state file {state_file}: {err}") from None
    try:
        emu.bind()
    except OSError as err:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {err.strerror or err}"
        ) from None
    _stop_on_signals()
    try:  # a signal may come as soon as the URL is printed: be inside the try by then
        click.echo(emu.describe(), err=False)
        sys.stdout.flush()
        emu.serve_forever()
    except KeyboardInterrupt:
        click.echo("emulator stopped", err=True)


def _stop_on_signals() -> None:
    """Stop cleanly on Ctrl-C and on `kill` (SIGTERM), also when started in the background:
    a shell starts `cmd &` with SIGINT ignored, and Python then installs no Ctrl-C handler."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
