"""What every command shares: exit codes, the connection and plan options, settings and
client construction, and how warnings and errors are printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import KestraSyncError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CHANGES = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


def print_error(err: KestraSyncError) -> None:
    click.secho(f"error: {err.message}", fg="red", err=True)
    if err.hint:
        click.echo(f"hint: {err.hint}", err=True)


def server_options(func):
    """Connection and config options shared by every command that talks to a server.
    Secrets are better given as KESTRA_PASSWORD / KESTRA_API_TOKEN: flags show up in `ps`."""
    options = [
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Config file (default: ./kestra-sync.yml or [tool.kestra-sync] in pyproject.toml).",
        ),
        click.option("--server", "-s", "url", metavar="URL", help="Kestra URL [env KESTRA_URL]."),
        click.option("--tenant", help="Tenant [env KESTRA_TENANT; default main]."),
        click.option("--username", "-u", help="Basic-auth user [env KESTRA_USERNAME]."),
        click.option("--password", help="Basic-auth password [env KESTRA_PASSWORD, preferred]."),
        click.option(
            "--token", help="API token, sent as Bearer (EE) [env KESTRA_API_TOKEN, preferred]."
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help="Seconds a request may take, connect to last byte; a retry gets its own "
            "[default 30].",
        ),
        click.option(
            "--ca-bundle",
            type=click.Path(dir_okay=True, path_type=str),
            metavar="PATH",
            help="Verify TLS with this CA bundle [env KESTRA_CA_BUNDLE; config verify:].",
        ),
        click.option(
            "--insecure",
            is_flag=True,
            default=None,
            help="Do not verify TLS certificates [env KESTRA_VERIFY=false].",
        ),
        click.option(
            "--max-reply-mb",
            type=click.FloatRange(min=0, min_open=True),
            metavar="MB",
            help="Refuse a reply, or an export zip's content, above this size [default 64].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def plan_options(func):
    options = [
        click.argument("directory", required=False, type=click.Path(path_type=Path)),
        click.option(
            "--namespace",
            "namespaces",
            multiple=True,
            metavar="NS",
            help="A namespace kestra-sync manages even with no flow in git (repeatable).",
        ),
        click.option(
            "--include-children/--no-include-children",
            default=None,
            help="Also manage the child namespaces (ns.*) of every namespace in scope.",
        ),
        click.option(
            "--delete/--no-delete",
            default=None,
            help="Delete flows that are on the server (in scope) but not in git.",
        ),
        click.option(
            "--allow-empty-namespace",
            is_flag=True,
            default=None,
            help="Allow deletions in a namespace that has no flow left in git.",
        ),
        click.option(
            "--max-deletes",
            type=int,
            metavar="N",
            help="Refuse a plan that deletes more than N flows [default 10].",
        ),
        click.option(
            "--parallelism",
            type=int,
            metavar="N",
            help="Concurrent requests [default 16]; apply halves its writes in flight on 429/503.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


color_option = click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour text output (auto: on a terminal, unless NO_COLOR is set).",
)


kestra_version_option = click.option(
    "--kestra-version",
    "kestra_version",
    metavar="X.Y",
    help="Follow the flow rules of this Kestra version (e.g. 1.3, 2.0) [env KESTRA_VERSION; "
    "default: the server's version when a server is used, else every supported version].",
)


def print_target(target) -> None:
    """Say which version's rules were followed, and why any guess was not made (stderr)."""
    if target is None:
        return
    for warning in target.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"note: {target.describe()}", err=True)


def report_options(format_help: str):
    """--format text|json|markdown and --color, shared by plan and apply."""

    def decorate(func):
        func = color_option(func)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "json", "markdown"]),
            default="text",
            show_default=True,
            help=format_help,
        )(func)

    return decorate


def settings_from(ctx_params: dict[str, Any]):
    from ..config import load_settings

    names = {
        "url",
        "tenant",
        "username",
        "password",
        "token",
        "timeout",
        "max_reply_mb",
        "namespaces",
        "include_children",
        "delete",
        "allow_empty_namespace",
        "max_deletes",
        "parallelism",
        "directory",
        "layout",
        "kestra_version",
    }
    flags = {k: v for k, v in ctx_params.items() if k in names}
    ca_bundle, insecure = ctx_params.get("ca_bundle"), ctx_params.get("insecure")
    if ca_bundle and insecure:
        raise click.UsageError("--ca-bundle and --insecure cannot be used together")
    if ca_bundle or insecure:
        flags["verify"] = ca_bundle or False
    return load_settings(flags, config_file=ctx_params.get("config_file"))


def make_client(settings):
    from ..client import KestraClient

    client = KestraClient.from_settings(settings)
    if client.http.verify is False and client.base_url.startswith("https:"):
        import warnings

        from urllib3.exceptions import InsecureRequestWarning

        # One line, here, instead of urllib3's warning on every request.
        warnings.filterwarnings("ignore", category=InsecureRequestWarning)
        click.echo(
            f"warning: TLS certificates of {client.http.origin} are not verified "
            f"(verify off, from {settings.origin.get('verify', 'default')})",
            err=True,
        )
    return client


def print_warnings(diagnostics) -> None:
    for d in diagnostics:
        where = f"{d.path}:{d.line}" if d.line else d.path
        click.echo(f"{where}: {d.severity}: {d.message}", err=True)


def write_file(path: Path, text: str) -> None:
    """Write ``text`` atomically: a failure (a full disk, text that cannot be encoded) leaves
    the file as it was, never empty or half written."""
    from ..atomic import write_atomic
    from ..errors import InputError

    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as err:  # a lone surrogate, from a name that is not UTF-8
        raise InputError(
            f"{path}: cannot write: the text is not valid UTF-8 ({err.reason})"
        ) from None
    try:
        write_atomic(path, data)
    except OSError as err:
        raise InputError(f"{path}: cannot write: {err.strerror}") from None
