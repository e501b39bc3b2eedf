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


def json_on_error(command: str):
    """With --format json, an expected error still prints one JSON document on stdout (then
    the error boundary prints the one-line error on stderr and exits 1)."""
    import functools

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if kwargs.get("fmt") != "json":
                return func(*args, **kwargs)
            try:
                return func(*args, **kwargs)
            except KestraSyncError as err:
                from ..report.errordoc import error_document
                from ..report.planfile import dumps

                click.echo(dumps(error_document(command, err)), nl=False)
                raise

        return wrapper

    return decorate


def print_error(err: KestraSyncError) -> None:
    """Messages carry names and server replies: shown on one line each, control characters
    escaped (report/escape.py)."""
    from ..report.escape import line

    click.secho(f"error: {line(err.message)}", fg="red", err=True)
    if err.hint:
        click.echo(f"hint: {line(err.hint)}", err=True)


def server_options(func):
    """Connection and config options shared by every command that talks to a server.
    Secrets are better given as KESTRA_PASSWORD / KESTRA_API_TOKEN: flags show up in `ps`."""
    options = [
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Config file [env KESTRA_SYNC_CONFIG; default: the nearest kestra-sync.yml, "
            "or pyproject.toml with [tool.kestra-sync], in this directory or a parent].",
        ),
        click.option(
            "--env",
            "env",
            metavar="NAME",
            help="Environment of the config's `environments:` to use (its server, tenant, "
            "credential variables, Kestra version, overrides) [default: default_env].",
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
            help="Refuse a reply, or an export zip's content, above this size "
            "[env KESTRA_MAX_REPLY_MB; default 64].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


ownership_option = click.option(
    "--ownership-label",
    metavar="KEY[=VALUE]",
    help="Delete only server flows carrying this label, e.g. system.readOnly=true; validate "
    "requires it on every flow in git.",
)


def plan_options(func):
    func = _split_paths(func)
    options = [
        click.argument(
            "paths", nargs=-1, metavar="[DIRECTORY | FLOW_FILE...]", type=click.Path(path_type=Path)
        ),
        click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="NS/ID",
            help="Plan only this flow; NS/* for all of a namespace, file:NS/PATH, kv:NS/KEY, "
            "dashboard:ID or test:NS/ID for one namespace file, KV pair, dashboard or test suite "
            "(repeatable). The plan is partial: nothing else "
            "changes, and every guard still reads the whole tree and server.",
        ),
        click.option(
            "--directory",
            "-d",
            "directory_option",
            type=click.Path(path_type=Path),
            help="Flow directory (the same as the DIRECTORY argument); with a `tenants:` map, "
            "the directory of the tenant --tenant selects.",
        ),
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
        ownership_option,
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
    from ..report.escape import line  # the server's version string is the server's

    if target is None:
        return
    for warning in target.warnings:
        click.echo(f"warning: {line(warning)}", err=True)
    click.echo(f"note: {line(target.describe())}", err=True)


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


SETTING_NAMES = {
    "env",
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
    "ownership_label",
    "kestra_version",
}


def settings_from(ctx_params: dict[str, Any]):
    from ..settings.config import load_settings

    _merge_directory_option(ctx_params)
    flags = setting_flags(ctx_params)
    if _from_environment("env"):
        # KESTRA_SYNC_ENV: load_settings reads it itself, and says so in its messages.
        flags.pop("env", None)
    ca_bundle, insecure = ctx_params.get("ca_bundle"), ctx_params.get("insecure")
    if ca_bundle and insecure:
        raise click.UsageError("--ca-bundle and --insecure cannot be used together")
    if ca_bundle or insecure:
        flags["verify"] = ca_bundle or False
    return load_settings(flags, config_file=ctx_params.get("config_file"))


def _from_environment(name: str) -> bool:
    """Whether option ``name`` of the running command came from its environment variable."""
    ctx = click.get_current_context(silent=True)
    source = ctx.get_parameter_source(name) if ctx is not None else None
    return source == click.core.ParameterSource.ENVIRONMENT


def setting_flags(ctx_params: dict[str, Any]) -> dict[str, Any]:
    """The command-line options that are settings (load_settings' ``flags``)."""
    return {k: v for k, v in ctx_params.items() if k in SETTING_NAMES}


def make_client(settings):
    from ..client import KestraClient
    from ..settings.environments import require_environment

    require_environment(settings)
    client = KestraClient.from_settings(settings)
    http = getattr(client, "http", None)  # absent on the test doubles of some tests
    root = click.get_current_context(silent=True)
    if http is not None and root is not None and (root.find_root().obj or {}).get("verbose"):
        http.session.hooks["response"].append(_log_response)
    if http is not None and http.verify is False and client.base_url.startswith("https:"):
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


def _log_response(response, *args, **kwargs) -> None:
    """-v: one line per HTTP request. The path only: no query string, header or body, so
    nothing secret can reach a log."""
    from urllib.parse import urlsplit

    request = response.request
    millis = response.elapsed.total_seconds() * 1000
    path = urlsplit(request.url).path
    click.echo(
        f"http: {request.method} {path} -> {response.status_code} ({millis:.0f} ms)", err=True
    )


def print_warnings(diagnostics) -> None:
    from ..report.escape import line

    for d in diagnostics:
        where = f"{d.path}:{d.line}" if d.line else d.path
        click.echo(line(f"{where}: {d.severity}: {d.message}"), err=True)


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


def _merge_directory_option(params: dict[str, Any]) -> None:
    """`plan --directory DIR` and `plan DIR` are one setting; both, and different, is a mistake."""
    option = params.pop("directory_option", None)
    if option is None:
        return
    given = params.get("directory")
    if given is not None and Path(given) != Path(option):
        raise click.UsageError(f"DIRECTORY {given} and --directory {option} disagree: give one")
    params["directory"] = option


def _split_paths(func):
    """`plan [DIRECTORY | FLOW_FILE...]`: one directory (or, for apply, a saved plan file) is
    the flow directory; YAML files are targets (a partial plan), planned under the config
    nearest to them (as git and ruff look upward from a file)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        paths = list(kwargs.pop("paths", ()) or ())
        files = [p for p in paths if p.suffix in (".yml", ".yaml")]
        others = [p for p in paths if p not in files]
        if len(others) > 1 or (others and files):
            raise click.UsageError(
                "give one DIRECTORY (or one saved plan file), or flow files (*.yml), not both"
            )
        for file in files:
            if not file.is_file():
                raise click.BadParameter(f"{file}: no such file", param_hint="FLOW_FILE")
        kwargs["directory"] = others[0] if others else None
        kwargs["target_files"] = files
        if files and not kwargs.get("config_file"):
            from ..settings.config import find_config_file

            kwargs["config_file"] = find_config_file(files[0])
        return func(*args, **kwargs)

    return wrapper


def plan_for(settings, client, params: dict[str, Any]):
    """The whole plan, or a partial one with --target / flow files."""
    if (params.get("targets") or params.get("target_files")) and settings.namespace_map:
        from ..errors import ConfigError

        raise ConfigError(
            f"environment {settings.environment} maps namespaces (namespace_map): a partial "
            "plan (--target, flow files) is not supported with a mapping",
            hint="plan the whole tree for this environment",
        )
    from ..planning.pipeline import make_plan

    return make_plan(
        settings,
        client,
        targets=list(params.get("targets") or ()),
        files=list(params.get("target_files") or ()),
    )
