"""`kestra-sync emulator`: run the bundled Kestra API emulator."""

from __future__ import annotations

import sys

import click

from ..rules.knowledge import EMULATOR_PROFILES, LATEST, MANDATORY_BASIC_AUTH

# The account of a profile that demands credentials when none is named: the one Kestra's docs
# use in their examples (docs administrator-guide/basic-auth-troubleshooting).
DEFAULT_USER, DEFAULT_PASSWORD = "admin@kestra.io", "Admin1234"


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port; 0 picks a free one.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    help="JSON state file: loaded at start, rewritten atomically after each write "
    "(namespace files and KV pairs in FILE.resources.json).",
)
@click.option(
    "--edition",
    type=click.Choice(["oss", "ee"]),
    default="oss",
    show_default=True,
    help="oss: tenant 'main' only, basic auth; ee: any tenant, bearer tokens too.",
)
@click.option(
    "--username",
    help="Basic-auth user. Default: as the profile's Kestra does: optional up to 0.23; from "
    "0.24 on basic auth is mandatory, so the emulator has the account "
    f"{DEFAULT_USER} / {DEFAULT_PASSWORD} unless you name one.",
)
@click.option("--password", help="Basic-auth password.")
@click.option(
    "--no-auth",
    is_flag=True,
    help="Answer without credentials whatever the profile (no real Kestra OSS >= 0.24 can).",
)
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
    no_auth: bool,
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
    if no_auth and (username is not None or tokens):
        raise click.UsageError("--no-auth goes without --username/--password/--token")
    users = {username: password} if username is not None and password is not None else {}
    default_account = (
        not no_auth
        and not users
        and not tokens
        and (edition == "ee" or kestra_version in MANDATORY_BASIC_AUTH.versions)
    )
    if default_account:
        users = {DEFAULT_USER: DEFAULT_PASSWORD}
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
            auth=False if no_auth else None,
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
        if default_account:
            click.echo(
                f"  the default account: KESTRA_USERNAME={DEFAULT_USER} "
                f"KESTRA_PASSWORD={DEFAULT_PASSWORD} (--username/--password to choose one)"
            )
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
