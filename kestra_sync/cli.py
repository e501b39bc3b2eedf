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
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import KestraSyncError
from .report.terminal import use_color

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


# --- shared options ---------------------------------------------------------------------------


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
            "--timeout", type=float, help="Seconds to wait for each request [default 30]."
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
            "--parallelism", type=int, metavar="N", help="Concurrent requests [default 4]."
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
    from .config import load_settings

    names = {
        "url",
        "tenant",
        "username",
        "password",
        "token",
        "timeout",
        "namespaces",
        "include_children",
        "delete",
        "allow_empty_namespace",
        "max_deletes",
        "parallelism",
        "directory",
        "layout",
    }
    flags = {k: v for k, v in ctx_params.items() if k in names}
    return load_settings(flags, config_file=ctx_params.get("config_file"))


def make_client(settings):
    from .client import KestraClient

    return KestraClient.from_settings(settings)


# --- plan ---------------------------------------------------------------------------------------


@cli.command()
@plan_options
@server_options
@report_options("Output format on stdout.")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (with sources and server revisions) for `apply PLAN_FILE`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are, 1 on error (as Terraform).",
)
@click.option("--show-unchanged", is_flag=True, help="List unchanged flows too.")
@click.option("--no-diff", is_flag=True, help="Do not print source diffs of updates.")
def plan(fmt, out, detailed_exitcode, show_unchanged, no_diff, color, **params):
    """Show what apply would change on the server: create, update, delete, unchanged.

    DIRECTORY defaults to the configured flow directory (flows/). Nothing is written to the
    server. Flows on the server that are not in git are only deleted with --delete.
    """
    from .report.planfile import dumps, plan_to_dict
    from .sync import make_plan

    settings = settings_from(params)
    client = make_client(settings)
    result = make_plan(settings, client)
    _print_warnings(result.warnings)
    plan_obj = result.plan
    if out:
        # Written even with errors: it replaces any older plan at that path, and apply refuses it.
        _write_file(out, dumps(plan_to_dict(plan_obj, result.meta, include_sources=True)))
        if plan_obj.errors:
            click.echo(
                f"Saved the plan to {out}, but it has errors: apply will refuse it.", err=True
            )
        else:
            click.echo(f"Saved the plan to {out}; apply it with: kestra-sync apply {out}", err=True)
    if plan_obj.errors and fmt != "text":
        # The text plan ends with its errors; JSON and Markdown go to a file or a comment, so
        # say on stderr (the job log) why the exit code is 1.
        for error in plan_obj.errors:
            click.secho(f"error: {error}", fg="red", err=True)
    if fmt == "json":
        click.echo(dumps(plan_to_dict(plan_obj, result.meta)), nl=False)
    elif fmt == "markdown":
        from .report.markdown import render_plan_markdown

        click.echo(render_plan_markdown(plan_obj), nl=False)
    else:
        from .report.plantext import render_plan

        colored = use_color(color)
        # color=colored: click.echo strips ANSI codes when stdout is not a terminal, which
        # would make --color always (a CI log that renders colour) a no-op.
        click.echo(
            render_plan(
                plan_obj,
                color=colored,
                show_unchanged=show_unchanged,
                show_diff=not no_diff,
            ),
            nl=False,
            color=colored,
        )
    if plan_obj.errors:
        sys.exit(EXIT_FAILURE)
    if detailed_exitcode and plan_obj.has_changes:
        sys.exit(EXIT_CHANGES)


def _print_warnings(diagnostics) -> None:
    for d in diagnostics:
        where = f"{d.path}:{d.line}" if d.line else d.path
        click.echo(f"{where}: {d.severity}: {d.message}", err=True)


def _write_file(path: Path, text: str) -> None:
    from .errors import InputError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(f"{path}: cannot write: {err.strerror}") from None


# --- apply --------------------------------------------------------------------------------------


@cli.command()
@plan_options
@server_options
@click.option("--auto-approve", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--fail-fast", is_flag=True, help="Stop starting new changes after the first failure."
)
@report_options("Format of the final report on stdout.")
def apply(auto_approve, fail_fast, fmt, color, **params):
    """Make the server match git: plan, confirm, then create, update and delete.

    DIRECTORY is a flow directory (default: the configured one) or a plan file saved with
    `plan --out`, which is applied exactly, after checking that the server has not changed since.
    Exit 0 when every change was applied, 1 when any failed (each is listed, a re-run converges).
    """
    from .apply import apply_plan
    from .report.plantext import render_plan

    target = params.get("directory")
    saved = target is not None and target.is_file()
    if saved:
        params["directory"] = None
    settings = settings_from(params)
    client = make_client(settings)
    color_err = use_color(color, sys.stderr)
    if saved:
        from .report.planfile import load_plan_file
        from .sync import check_saved_plan

        plan_obj, meta = load_plan_file(target)
        plan_obj = check_saved_plan(
            plan_obj, client, planned_server=meta.get("server"), parallelism=settings.parallelism
        )
        result_meta = meta
    else:
        from .sync import make_plan

        result = make_plan(settings, client)
        _print_warnings(result.warnings)
        plan_obj, result_meta = result.plan, result.meta
        if plan_obj.errors:
            # Nothing is applied; the report still comes out in the asked format (a CI step
            # parsing --format json must not get an empty stdout) with every change not attempted.
            from .apply import ApplyResult, Outcome
            from .plan import CHANGING

            click.echo(render_plan(plan_obj, color=color_err), err=True, nl=False, color=color_err)
            why = "not attempted: the plan has errors"
            skipped = [Outcome(c, error=why) for c in plan_obj.changes if c.action in CHANGING]
            _report_apply(ApplyResult(skipped), plan_obj, result_meta, fmt, color)
            sys.exit(EXIT_FAILURE)
    click.echo(render_plan(plan_obj, color=color_err), err=True, nl=False, color=color_err)
    if not plan_obj.has_changes:
        _report_apply(None, plan_obj, result_meta, fmt, color)
        return
    if not auto_approve and not saved:
        if not sys.stdin.isatty():
            from .errors import ConfigError

            raise ConfigError(
                "apply needs confirmation but there is no terminal to ask on",
                hint="review the plan, then pass --auto-approve (CI) or apply a saved plan file",
            )
        click.confirm("Apply these changes?", abort=True, err=True)

    progress = _apply_progress(plan_obj, color_err)
    progress.start()
    with _first_ctrl_c_cancels() as cancel:
        try:
            outcome = apply_plan(
                plan_obj,
                client,
                parallelism=settings.parallelism,
                fail_fast=fail_fast,
                on_outcome=progress,
                cancel=cancel,
            )
        finally:
            progress.close()
    _report_apply(outcome, plan_obj, result_meta, fmt, color)
    if outcome.interrupted:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not outcome.ok:
        sys.exit(EXIT_FAILURE)


class _first_ctrl_c_cancels:
    """During an apply, the first Ctrl-C (SIGINT) only sets an Event: nothing new starts, the
    requests in flight finish, and the report says what was done and what was not. A second
    Ctrl-C interrupts at once. (The handler only sets the Event: writing to stderr from a signal
    handler can re-enter a write in progress.)"""

    def __enter__(self):
        import signal
        import threading

        self.cancel = threading.Event()
        self.previous = None
        if threading.current_thread() is threading.main_thread():

            def on_sigint(signum, frame):
                if self.cancel.is_set():
                    raise KeyboardInterrupt
                self.cancel.set()

            self.previous = signal.signal(signal.SIGINT, on_sigint)
        return self.cancel

    def __exit__(self, *exc) -> None:
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _apply_progress(plan_obj, color: bool):
    """A redrawn status line on a terminal, plain numbered lines in CI logs and pipes."""
    import shutil

    from .plan import CHANGING
    from .report.applytext import ApplyProgress

    stream = sys.stderr
    tty = stream.isatty() and os.environ.get("TERM") != "dumb"
    total = sum(1 for c in plan_obj.changes if c.action in CHANGING)
    width = shutil.get_terminal_size().columns
    return ApplyProgress(total, stream, tty=tty, color=color, width=width)


def _report_apply(outcome, plan_obj, meta, fmt, color) -> None:
    from .apply import ApplyResult
    from .report.applytext import outcomes_to_list, render_apply

    outcome = outcome or ApplyResult()
    if fmt == "json":
        from .report.planfile import dumps, plan_to_dict

        data = plan_to_dict(plan_obj, meta)
        data["apply"] = {
            "summary": outcome.counts(),
            "interrupted": outcome.interrupted,
            "outcomes": outcomes_to_list(outcome),
        }
        click.echo(dumps(data), nl=False)
    elif fmt == "markdown":
        from .report.markdown import render_apply_markdown

        click.echo(render_apply_markdown(outcome), nl=False)
    else:
        colored = use_color(color)
        click.echo(render_apply(outcome, color=colored), nl=False, color=colored)


# --- pull ---------------------------------------------------------------------------------------


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    required=True,
    metavar="NS",
    help="Namespace to pull (repeatable).",
)
@click.option(
    "--include-children/--no-include-children",
    default=None,
    help="Also pull the child namespaces (ns.*).",
)
@click.option(
    "--layout",
    type=click.Choice(["nested", "dotted"]),
    help="File layout for new files [default: the configured layout, else nested].",
)
@click.option("--overwrite", is_flag=True, help="Replace local files whose content differs.")
@server_options
def pull(namespaces, layout, overwrite, **params):
    """Write the server's flows into DIRECTORY, byte for byte, to adopt kestra-sync on a server
    that already has flows. A `plan` right after a `pull` shows no changes."""
    from .flows import scan
    from .pull import write_flows

    settings = settings_from(params)
    client = make_client(settings)
    directory = settings.directory
    layout = layout or (settings.layout if settings.layout != "none" else "nested")
    existing = scan(directory, tenant=settings.tenant).flows if directory.exists() else []
    by_ref = {}  # overlapping namespaces (acme and acme.sub with children) list flows twice
    for namespace in namespaces:
        for flow in client.namespace_flows(namespace, include_children=settings.include_children):
            by_ref.setdefault(flow.ref, flow)
    remote = list(by_ref.values())
    result = write_flows(remote, directory, layout=layout, existing=existing, overwrite=overwrite)
    for ref, path in result.written:
        click.echo(f"wrote      {path}  ({ref})")
    for ref, path in result.unchanged:
        click.echo(f"unchanged  {path}  ({ref})")
    for ref, path in result.conflicts:
        click.echo(f"conflict   {path}  ({ref}): differs from the server; kept", err=True)
    for ref, path, other in result.occupied:
        click.echo(
            f"conflict   {path}  ({ref}): the file holds {other}; kept, {ref} not written",
            err=True,
        )
    for ref, paths in result.duplicates:
        shown = ", ".join(str(p) for p in paths)
        click.echo(f"conflict   {ref} is defined in {len(paths)} files: {shown}; kept", err=True)
    click.echo(
        f"Pulled {len(remote)} flow(s): {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged, {result.kept} kept because they differ.",
        err=True,
    )
    if result.occupied or result.duplicates:
        click.echo(
            "hint: keep one file per flow, named <id>.yml after the flow it holds, then pull again",
            err=True,
        )
    if result.conflicts:
        click.echo(
            "hint: review those files, or pass --overwrite to take the server's version", err=True
        )
    if result.kept:
        sys.exit(EXIT_FAILURE)


# --- demo ---------------------------------------------------------------------------------------

DEMO_USER, DEMO_PASSWORD = "demo@kestra.io", "DemoPass1"  # emulator-only demo credentials


@cli.command()
@click.argument("directory", default="flows", type=click.Path(path_type=Path))
def demo(directory):
    """Run validate, plan and apply of DIRECTORY against an in-memory Kestra API emulator.

    Each step runs the real CLI in a child process over HTTP on 127.0.0.1, so what you see is
    what you get against a Kestra server. Nothing outside the emulator is touched.
    """
    import subprocess

    from .emulator import Emulator

    if not directory.is_dir():
        from .errors import InputError

        raise InputError(
            f"{directory}: flow directory not found", hint="run the demo from the repo root"
        )
    with Emulator(users={DEMO_USER: DEMO_PASSWORD}) as emulator:
        env = {
            **os.environ,
            "KESTRA_URL": emulator.url,
            "KESTRA_USERNAME": DEMO_USER,
            "KESTRA_PASSWORD": DEMO_PASSWORD,
            "NO_COLOR": os.environ.get("NO_COLOR", ""),
        }
        click.secho(f"Kestra API emulator running at {emulator.url} (in memory)\n", bold=True)

        def step(title: str, *args: str, expect: tuple[int, ...] = (0,)) -> None:
            click.secho(f"== {title}", bold=True)
            click.echo(f"$ kestra-sync {' '.join(args)}")
            done = subprocess.run([sys.executable, "-m", "kestra_sync", *args], env=env)
            if done.returncode not in expect:
                from .errors import KestraSyncError

                raise KestraSyncError(f"demo step failed: kestra-sync {' '.join(args)}")
            click.echo()

        d = str(directory)
        step("1. validate the flows offline", "validate", d)
        step(
            "2. plan against an empty server",
            "plan",
            d,
            "--no-diff",
            "--detailed-exitcode",
            expect=(2,),
        )
        step("3. apply", "apply", d, "--auto-approve")
        step("4. plan again: the server matches git", "plan", d, "--detailed-exitcode")
        flow = _edit_like_a_user(emulator.url)
        click.secho(f"(someone edits {flow} in the Kestra UI ...)\n", italic=True)
        step("5. plan shows the drift", "plan", d, "--detailed-exitcode", expect=(2,))
        step("6. apply puts git back in charge", "apply", d, "--auto-approve")
    click.secho("Demo done: try `kestra-sync emulator` and point plan/apply at it.", bold=True)


def _edit_like_a_user(url: str) -> str:
    """Change one flow on the server through the API, as a UI edit would."""
    import re

    from .client import KestraClient

    with KestraClient(url, username=DEMO_USER, password=DEMO_PASSWORD) as client:
        for listed in client.search_flows():
            source = client.get_flow(listed.namespace, listed.id).source or ""
            line = re.search(r"(?m)^description: [^|>\n].*$", source)
            if line:
                edited = source.replace(line.group(0), "description: Quick fix made in the UI", 1)
                client.update_flow(listed.namespace, listed.id, edited)
                return f"{listed.namespace}/{listed.id}"
    raise RuntimeError("no flow with a one-line description to edit")


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
@color_option
@server_options
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
    from .report.diagnostics import pick_format, render_json, render_text, sorted_diagnostics
    from .validate import check_project

    settings = settings_from(params)
    schema = None
    if schema_spec:
        from .validate import resolve_schema, schema_auth

        schema = resolve_schema(
            schema_spec,
            refresh=refresh_schema,
            auth=schema_auth(settings),
            timeout=settings.timeout,
            verify=settings.verify,
        )
    result = check_project(
        settings, list(paths) if paths else None, ignore_file=ignore_file, schema=schema
    )
    if result.skipped and fmt != "json":
        dirs = ", ".join(str(d) for d in settings.directories().values())
        click.echo(
            f"note: skipped {len(result.skipped)} file(s) outside the flow directory ({dirs})",
            err=True,
        )
    diagnostics = list(result.diagnostics)
    if server_side and result.flows:
        if not settings.url:
            from .errors import ConfigError

            raise ConfigError(
                "--server-side needs a server URL", hint="pass --server or set KESTRA_URL"
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
        colored = use_color(color)
        for line in render_text(diagnostics, files, color=colored):
            click.echo(line, color=colored)
    if any(d.is_error for d in diagnostics):
        click.get_current_context().exit(EXIT_FAILURE)


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


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="kestra-sync")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
