"""`kestra-sync apply`: plan (or load a saved plan), confirm, write, report."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import click

from ..report import escape
from ..report.terminal import use_color
from .common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    json_on_error,
    kestra_version_option,
    make_client,
    plan_for,
    plan_options,
    print_target,
    print_warnings,
    report_options,
    server_options,
    settings_from,
)

MAX_TEST_TIMEOUT = 86_400.0  # a day: a longer wait is a typo, and `inf` would never end


def _a_number(value: float, param: click.Parameter) -> float:
    """FloatRange lets ``nan`` through (it compares false to both bounds)."""
    if not math.isfinite(value):
        raise click.BadParameter(f"{value!r} is not a number of seconds", param=param)
    return value


@click.command()
@plan_options
@server_options
@kestra_version_option
@click.option("--auto-approve", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--fail-fast", is_flag=True, help="Stop starting new changes after the first failure."
)
@click.option(
    "--run-tests",
    is_flag=True,
    help="After the deploy, run the flow test suites (Kestra Enterprise) of what this apply "
    "changed: suites created or updated, and the suites of flows created or updated. A failed "
    "test exits 1 and undoes nothing; the report names the command that deploys the previous "
    "commit.",
)
@click.option(
    "--test-timeout",
    type=click.FloatRange(min=1, max=MAX_TEST_TIMEOUT),
    callback=lambda ctx, param, value: _a_number(value, param),
    default=600,
    show_default=True,
    metavar="SECONDS",
    help="How long --run-tests waits for the suites' results.",
)
@report_options("Format of the final report on stdout.")
@click.option("--show-unchanged", is_flag=True, help="List unchanged flows in the plan too.")
@click.option("--no-diff", is_flag=True, help="Do not print source diffs of updates.")
@json_on_error("apply")
def apply(
    auto_approve, fail_fast, run_tests, test_timeout, fmt, color, show_unchanged, no_diff, **params
):
    """Make the server match git: plan, confirm, then create, update and delete.

    DIRECTORY is a flow directory (default: the configured one) or a plan file saved with
    `plan --out`, which is applied exactly, with the options it was made with (plan options are
    refused with it), after checking its checksum and that the server has not changed since.
    A flow changed on the server since the plan is skipped; no delete runs after a failed write.
    FLOW_FILEs (or --target) apply a partial plan of only what they name.
    Exit 0 when every change was applied, 1 when any failed (each is listed, a re-run converges)
    or when the confirmation was answered no.

    With --format text the plan and one line per applied change go to stdout (so
    `apply > apply.log` keeps them); the progress line and the prompt go to stderr.
    """
    from ..report.plantext import plan_header, render_plan
    from ..settings.environments import describe
    from ..settings.environments import note as environment_note

    target = params.get("directory")
    # A missing `plan.json` is a plan file that is not there (a failed `plan --out` step), not
    # a flow directory to create.
    saved = target is not None and (
        target.is_file() or (target.suffix.lower() == ".json" and not target.exists())
    )
    if saved:
        params["directory"] = None
        _refuse_plan_options(params)
    settings = settings_from(params)
    client = make_client(settings)
    # The plan and the per-change lines are the command's output; with --format json or
    # markdown, stdout holds only the report, so they go to stderr with the progress.
    out = sys.stdout if fmt == "text" else sys.stderr
    color_out = use_color(color, out)
    env_recorded = describe(settings)

    def show_plan(plan_obj) -> None:
        text = plan_header(
            client.display_url, _tenants(plan_obj, settings), environment_note(env_recorded)
        ) + render_plan(
            plan_obj, color=color_out, show_unchanged=show_unchanged, show_diff=not no_diff
        )
        click.echo(escape.in_github_log(text), file=out, nl=False, color=color_out)

    if saved:
        plan_obj, result_meta, local = _saved_plan(target, client, settings)
    else:
        plan_obj, result_meta, local = _fresh_plan(settings, client, params, show_plan, fmt, color)
    show_plan(plan_obj)
    tests = _TestOptions(run_tests, test_timeout, None if saved else target)
    if not plan_obj.has_changes:
        _nothing_to_apply(plan_obj, result_meta, settings, tests, fmt, color)
        _record_commit(settings, client, plan_obj, result_meta)
        return
    if not auto_approve and not saved:
        _confirm(plan_obj, result_meta, client, settings, fmt, color)
    _write(
        plan_obj, result_meta, client, settings, local, fail_fast, fmt, color, out, color_out, tests
    )
    _record_commit(settings, client, plan_obj, result_meta)  # _write exits on a failure


def _record_commit(settings, client, plan_obj, meta) -> None:
    """Where the next plan diffs from to recognise renames (applying/deployedcommit.py)."""
    from ..applying.deployedcommit import record_deployed_commit

    said = record_deployed_commit(settings, client, plan_obj, meta)
    if said:
        click.echo(escape.line(said), err=True)


def _saved_plan(target, client, settings):
    """A plan file saved with `plan --out`, checked against the environment and the server
    before anything."""
    from ..planning.pipeline import check_saved_plan
    from ..report.planfile import load_plan_file
    from ..settings.environments import check_saved

    plan_obj, meta = load_plan_file(target)
    check_saved(meta.get("environment"), settings)
    _refuse_other_tenant(meta, settings)
    plan_obj = check_saved_plan(plan_obj, client, meta, parallelism=settings.parallelism)
    return plan_obj, meta, []  # no scanned flows: a saved plan carries its sources


def _refuse_other_tenant(meta, settings) -> None:
    """A saved plan writes to the tenants it was made for. A tenant named now (--tenant,
    KESTRA_TENANT) that is not one of them is refused, as another server is: the user meant
    that tenant, and the plan would write elsewhere without a word."""
    from ..errors import PlanError

    origin = settings.origin.get("tenant", "default")
    planned = sorted(meta["options"]["tenants"])
    if origin.startswith(("flag", "env")) and settings.tenant not in planned:
        raise PlanError(
            f"the saved plan was made for tenant {', '.join(planned)}, not {settings.tenant} "
            f"({'--tenant' if origin.startswith('flag') else origin.removeprefix('env ')})",
            hint="apply it without naming another tenant, or make a plan for this one",
        )


def _fresh_plan(settings, client, params, show_plan, fmt, color):
    """Plan now; a plan with errors applies nothing, and says so in the asked format."""
    result = plan_for(settings, client, params)
    print_target(result.target)
    print_warnings(result.warnings)
    plan_obj = result.plan
    if plan_obj.errors:
        # Nothing is applied; the report still comes out in the asked format (a CI step
        # parsing --format json must not get an empty stdout) with every change not attempted.
        show_plan(plan_obj)
        if fmt != "text":  # the report on stdout is for a file; say why on stderr
            for error in plan_obj.errors:
                click.secho(f"error: {escape.line(error)}", fg="red", err=True)
        _report_apply(
            _not_attempted(plan_obj, "the plan has errors"), plan_obj, result.meta, fmt, color
        )
        sys.exit(EXIT_FAILURE)
    # The scanned flows, whose parses apply reuses.
    return plan_obj, result.meta, result.local


def _confirm(plan_obj, meta, client, settings, fmt, color) -> None:
    from ..report.plantext import target_words

    if not sys.stdin.isatty():
        from ..errors import ConfigError

        raise ConfigError(
            "apply needs confirmation but there is no terminal to ask on",
            hint="review the plan, then pass --auto-approve (CI) or apply a saved plan file",
        )
    where = target_words(client.display_url, _tenants(plan_obj, settings))
    if not click.confirm(f"Apply these changes to {where}?", err=True):
        click.echo("Apply cancelled.", err=True)
        if fmt != "text":
            _report_apply(_not_attempted(plan_obj, "cancelled"), plan_obj, meta, fmt, color)
        sys.exit(EXIT_FAILURE)


def _write(plan_obj, meta, client, settings, local, fail_fast, fmt, color, out, color_out, tests):
    """Apply with a progress line, Ctrl-C handled, the flow tests (--run-tests), then the
    report and the exit code."""
    from ..applying.apply import apply_plan

    progress = _apply_progress(plan_obj, use_color(color, sys.stderr), out, color_out)
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
                local=local,
            )
        finally:
            progress.close()
    if tests.run and not outcome.interrupted:
        outcome.tests = _run_tests(plan_obj, outcome, meta, settings, tests)
    _report_apply(outcome, plan_obj, meta, fmt, color)
    if outcome.interrupted:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not outcome.ok or (outcome.tests is not None and not outcome.tests.ok):
        sys.exit(EXIT_FAILURE)


def _nothing_to_apply(plan_obj, meta, settings, tests, fmt, color) -> None:
    """The server matches git: the report (with --run-tests: that no suite changed)."""
    from ..applying.apply import ApplyResult

    outcome = ApplyResult()
    if tests.run:
        outcome.tests = _run_tests(plan_obj, outcome, meta, settings, tests)
    _report_apply(outcome, plan_obj, meta, fmt, color)


class _TestOptions:
    """--run-tests, --test-timeout, and the directory argument (for the rollback command)."""

    def __init__(self, run: bool, timeout: float, directory):
        self.run, self.timeout, self.directory = run, timeout, directory


def _rollback_args(settings, directory, targets: list[str]) -> list[str]:
    """What makes `kestra-sync apply` at the previous commit deploy what this one did: the
    directory, the config file when it is not the one found from here, the environment, the
    tenant chosen by flag, and the targets of a partial apply."""
    from ..settings.config import find_config_file

    args = [] if directory is None else [str(directory)]
    config = settings.config_file
    found = find_config_file(Path.cwd())
    if config is not None and (found is None or Path(found).resolve() != Path(config).resolve()):
        args += ["--config", str(config)]
    if settings.environment:
        args += ["--env", settings.environment]
    if str(settings.origin.get("tenant", "")).startswith("flag"):
        args += ["--tenant", settings.tenant]
    for target in targets:
        args += ["--target", target]
    return args


def _run_tests(plan_obj, outcome, meta, settings, tests):
    """Run the suites of what this apply changed (applying/testrun.py), on a client whose
    request timeout lets a suite run as long as --test-timeout."""
    from dataclasses import replace

    from ..applying.testrun import TestRun, rollback_command, run_suites, suites_to_run

    todo = suites_to_run(plan_obj.changes, {o.change.ref: o for o in outcome.outcomes})
    args = _rollback_args(settings, tests.directory, plan_obj.targets)
    run = TestRun([], tests.timeout, rollback_command(meta.get("git"), args))
    if not todo:
        return run
    click.echo(
        f"Running {len(todo)} flow test suite(s) (--test-timeout {tests.timeout:g} s)...", err=True
    )
    client = make_client(replace(settings, timeout=max(settings.timeout, tests.timeout)))
    try:
        run.suites = run_suites(
            todo,
            lambda tenant: client if tenant == client.tenant else client.with_tenant(tenant),
            timeout=tests.timeout,
            parallelism=settings.parallelism,
        )
    finally:
        client.close()
    return run


def _tenants(plan_obj, settings) -> list[str]:
    found = sorted({s.tenant for s in plan_obj.scopes} | {c.ref.tenant for c in plan_obj.changes})
    return found or list(settings.directories())


def _not_attempted(plan_obj, why: str):
    from ..applying.apply import ApplyResult, Outcome
    from ..planning.plan import CHANGING

    changes = [c for c in plan_obj.changes if c.action in CHANGING]
    return ApplyResult([Outcome(c, error=f"not attempted: {why}") for c in changes])


# Options that change what a plan contains. A saved plan is applied exactly as it was made (and
# reviewed), with the options it recorded; as Terraform does, giving one of these with a plan
# file is an error rather than silently ignored or silently applied.
_PLAN_CHANGING = {
    "namespaces": "--namespace",
    "include_children": "--include-children",
    "delete": "--delete/--no-delete",
    "allow_empty_namespace": "--allow-empty-namespace",
    "max_deletes": "--max-deletes",
    "tenant": "--tenant",
    "targets": "--target",
    "ownership_label": "--ownership-label",
}


def _refuse_plan_options(params) -> None:
    given = [flag for name, flag in _PLAN_CHANGING.items() if params.get(name) not in (None, ())]
    if given:
        raise click.UsageError(
            f"{', '.join(given)} cannot be used with a saved plan: it is applied with the "
            "options it was made with; make a new plan with them instead"
        )


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


def _apply_progress(plan_obj, color: bool, out, color_out: bool):
    """A redrawn status line on a terminal (stderr), a line per change on ``out``."""
    import shutil

    from ..planning.plan import CHANGING
    from ..report.applytext import ApplyProgress

    stream = sys.stderr
    tty = stream.isatty() and os.environ.get("TERM") != "dumb"
    total = sum(1 for c in plan_obj.changes if c.action in CHANGING)
    width = shutil.get_terminal_size().columns
    return ApplyProgress(
        total,
        stream,
        tty=tty,
        color=color_out if out is not stream else color,
        width=width,
        out=out,
        out_tty=out.isatty(),
    )


def _report_apply(outcome, plan_obj, meta, fmt, color) -> None:
    from ..applying.apply import ApplyResult
    from ..report.applytext import outcomes_to_list, render_apply

    outcome = outcome or ApplyResult()
    if fmt == "json":
        from ..report.planfile import dumps, plan_to_dict

        data = plan_to_dict(plan_obj, meta)
        data["apply"] = {
            # snake_case keys, as everywhere in the document (format_version 2)
            "summary": {k.replace(" ", "_"): v for k, v in outcome.counts().items()},
            "interrupted": outcome.interrupted,
            "outcomes": outcomes_to_list(outcome),
        }
        if outcome.tests is not None:
            data["apply"]["tests"] = outcome.tests.to_dict()
        click.echo(dumps(data), nl=False)
    elif fmt == "markdown":
        from ..report.markdown import render_apply_markdown

        click.echo(render_apply_markdown(outcome), nl=False)
    else:
        colored = use_color(color)
        text = render_apply(outcome, color=colored)
        click.echo(escape.in_github_log(text), nl=False, color=colored)
