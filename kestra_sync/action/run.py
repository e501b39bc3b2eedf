"""The GitHub Action's entry point: ``python -m kestra_sync.action.run``, run by ``action.yml``.

A thin layer over the CLI: it runs ``kestra-sync validate|plan|apply`` in a child process (so
the exit codes and flags are exactly the CLI's, and ``args`` passes extra flags through), then
turns the result into what GitHub shows:

- outputs in ``$GITHUB_OUTPUT`` (counts, ``has-changes``, ``plan-file``, ``exit-code``),
- Markdown in ``$GITHUB_STEP_SUMMARY``,
- annotations (``::error file=…,line=…::…``), at most 10 errors and 10 warnings per step
  because GitHub drops the rest silently; the summary lists every problem,
- on pull requests, when ``comment: true`` and a token is given, one sticky plan comment.

Inputs come from ``INPUT_<NAME>`` environment variables (hyphens become underscores) that
``action.yml`` sets through ``env:``, never by interpolating ``${{ inputs.* }}`` into a shell
script. Secrets: the password and tokens are masked with ``::add-mask::`` first, handed to the
CLI only through ``KESTRA_PASSWORD`` / ``KESTRA_API_TOKEN`` (never on a command line), and
redacted from anything written to a summary, an output or a comment.

Text that comes from the repository or the server (flow sources in diffs, error messages) is
echoed to the log between ``::stop-commands::`` markers so that it cannot issue workflow
commands of its own.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from typing import TextIO

from ..applying.testrun import PASSING
from ..report.escape import md_code
from .child import (  # noqa: F401  (CliRun: for tests)
    CliRun,
    child_env,
    cli_failure,
    extra_args,
    hide_server,
    run_cli,
)

# The plumbing and the rendering live in their own modules; names tests and callers use are
# re-exported here.
from .github_io import (  # noqa: F401
    CONNECTION_ENV,
    INPUTS,
    SECRET_INPUTS,
    SETUP_INPUTS,
    Annotation,
    Context,
    InputProblem,
    Inputs,
    Runner,
    input_env_name,
    parse_annotation,
)
from .render import (
    apply_result_from_dict,
    comment,
    failure_banner,
    in_action_words,
    meta_line,
    plan_from_dict,
    validate_markdown,
)

COMMANDS = ("validate", "plan", "apply", "drift")


# `path[:line[:col]]: severity: message` lines: plan's warnings on stderr (cli._print_warnings)
# and validate's complete list after its capped annotations (report.diagnostics.format_text_line).
_DIAG_LINE = re.compile(
    r"^(?P<path>[^\s:][^:]*?)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: "
    r"(?P<sev>warning|error): (?P<msg>.+)$"
)


# Action output name -> plan action counted (plan and apply both report the plan's counts).
PLAN_OUTPUTS = (
    ("creates", "create"),
    ("updates", "update"),
    ("deletes", "delete"),
    ("unchanged", "unchanged"),
    ("unmanaged", "unmanaged"),
)


def _set_plan_outputs(runner, plan) -> None:
    counts = plan.counts()
    for name, key in PLAN_OUTPUTS:
        runner.set_output(name, counts[key])
    runner.set_output("has-changes", plan.has_changes)


def plan_flags(inputs: Inputs) -> list[str]:
    flags = []
    delete = inputs.optional_flag("delete")
    if delete is not None:
        flags.append("--delete" if delete else "--no-delete")
    max_deletes = inputs.get("max-deletes")
    if max_deletes:
        if not max_deletes.isdigit():
            raise InputProblem(f"input `max-deletes` must be a whole number, not {max_deletes!r}")
        flags += ["--max-deletes", max_deletes]
    return flags


def diagnostics_from_text(text: str) -> list[Annotation]:
    found = []
    for line in text.splitlines():
        match = _DIAG_LINE.match(line.strip())
        if match:
            found.append(
                Annotation(
                    match.group("sev"),
                    match.group("msg"),
                    file=match.group("path"),
                    line=int(match.group("line")) if match.group("line") else None,
                    col=int(match.group("col")) if match.group("col") else None,
                )
            )
    return found


def parse_json(text: str) -> dict | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "changes" in data else None


# --- the commands --------------------------------------------------------------------------------
# Each command runs the CLI, annotates, sets outputs, and leaves in the Context why it failed
# (if it did) and its report; main() writes the summary (the failure first) and the comment.


def do_validate(ctx: Context) -> int:
    """`validate --format github` prints its first 10 errors and 10 warnings as annotations,
    then every diagnostic as a `path:line:col: severity: message` line: the annotations are
    re-emitted (GitHub attaches them to the files), the full list goes to the summary."""
    inputs, runner = ctx.inputs, ctx.runner
    args = ["validate"]
    if inputs.get("directory"):
        args += ["--directory", inputs.get("directory")]
    args += ["--format", "github", *extra_args(inputs)]
    run = run_cli(args, child_env(ctx.env, inputs), runner)
    annotations: list[Annotation] = []
    other: list[str] = []
    for line in run.stdout.splitlines():
        parsed = parse_annotation(line)
        if parsed:  # errors, warnings, and notices such as "n more not annotated"
            annotations.append(parsed)
        else:
            other.append(line)
    runner.untrusted("\n".join(other))
    problems = diagnostics_from_text("\n".join(other)) or [
        a for a in annotations if a.kind in ("error", "warning")
    ]
    errors = sum(a.kind == "error" for a in problems)
    if run.returncode not in (0, 1) or (run.returncode == 1 and not problems):
        # Not a verdict on the flows: a usage error, a crash, or a server error.
        ctx.failure = "kestra-sync could not validate the flows."
        ctx.failure_detail = runner.redact(cli_failure(run))
        failure = Annotation("error", ctx.failure_detail, title="kestra-sync validate")
        annotations.append(failure)
        problems.append(failure)
    elif run.returncode == 1:
        ctx.failure = f"{errors} error(s) in the flows; each is listed below and annotated."
    runner.annotate(annotations)
    runner.set_output("errors", sum(a.kind == "error" for a in problems))
    runner.set_output("warnings", sum(a.kind != "error" for a in problems))
    runner.set_output("exit-code", run.returncode)
    # Paths as the annotations give them: from the repository root, not the working directory.
    for a in problems:
        a.file = runner.repo_path(a.file)
    ctx.markdown = validate_markdown(problems, run.returncode)
    return run.returncode


def _plan_file(inputs: Inputs, env: dict[str, str]) -> str:
    default = os.path.join(env.get("RUNNER_TEMP") or tempfile.gettempdir(), "kestra-sync-plan.json")
    return os.path.abspath(inputs.get("plan-file") or default)


def _plain_name(name: str) -> bool:
    """An environment name the config could hold (nothing Markdown would interpret)."""
    return bool(re.fullmatch(r"[A-Za-z0-9_-]+", name))


def _first(errors: list[str], most: int = 3) -> str:
    shown = "; ".join(errors[:most])
    return shown + (f" (and {len(errors) - most} more)" if len(errors) > most else "")


def _no_plan(runner, ctx, run, annotations, command: str, failure: str) -> int:
    """The CLI failed before it printed a plan: its message as an error annotation and the
    job summary's failure, the step's outputs set, and the CLI's exit code (1 at least)."""
    message = runner.redact(cli_failure(run))
    ctx.failure = failure
    annotations.append(Annotation("error", message, title=command))
    runner.annotate(annotations)
    runner.set_output("has-changes", False)
    ctx.failure_detail = message
    ctx.markdown = _failure_details(command)
    return run.returncode or 1


def do_plan(ctx: Context) -> int:
    from ..report.markdown import render_plan_markdown
    from ..report.plantext import render_plan, summary_line
    from ..settings.environments import note as environment_note

    inputs, runner, env = ctx.inputs, ctx.runner, ctx.env
    plan_file = _plan_file(inputs, env)
    if os.path.isfile(plan_file):  # never leave an old plan behind for a later upload step
        os.remove(plan_file)
    args = ["plan"]
    if inputs.get("directory"):
        args.append(inputs.get("directory"))
    args += [*plan_flags(inputs), "--format", "json", "--out", plan_file, "--detailed-exitcode"]
    args += extra_args(inputs)
    fail_on_changes = inputs.flag("fail-on-changes")
    run = run_cli(args, child_env(env, inputs), runner)
    data = parse_json(run.stdout)
    runner.set_output("exit-code", run.returncode)
    annotations = diagnostics_from_text(run.stderr)
    hide_server(ctx, data)

    if data is None:  # no plan at all: the CLI failed before making one
        return _no_plan(runner, ctx, run, annotations, "kestra-sync plan", "no plan was made.")

    plan = plan_from_dict(data)
    runner.untrusted(render_plan(plan))
    in_action_terms(plan)
    _set_plan_outputs(runner, plan)
    ctx.changed = plan.has_changes
    if os.path.isfile(plan_file):
        runner.set_output("plan-file", plan_file)
        if not plan.errors:
            runner.echo(
                f"The plan is saved as {plan_file} (output `plan-file`). The runner deletes it "
                "after the job: to review or apply it later, upload it with "
                "actions/upload-artifact and pass it back as `plan-file` with `command: apply`."
            )
    annotations += [Annotation("error", e, title="kestra-sync plan") for e in plan.errors]
    if plan.errors:
        ctx.failure = f"the plan has errors: {_first(plan.errors)}"
    elif run.returncode == 2 and fail_on_changes:
        ctx.failure = (
            f"the plan has changes and `fail-on-changes` is true ({summary_line(plan.counts())})"
        )
    runner.annotate(annotations)

    title = "kestra-sync plan" + (
        f" · tenant {md_code(ctx.tenant)}" if ctx.tenant != "main" else ""
    )
    title += f" · environment {md_code(ctx.environment)}" if _plain_name(ctx.environment) else ""
    markdown = render_plan_markdown(
        plan, title=title, note=environment_note(data.get("environment"))
    )
    meta = meta_line(data, show_server=inputs.flag("show-server"))
    if meta:
        markdown = markdown.replace("\n\n", f"\n\n{meta}\n\n", 1)
    ctx.markdown = markdown

    if run.returncode == 2:  # --detailed-exitcode: changes present
        return 2 if fail_on_changes else 0
    return run.returncode


def do_apply(ctx: Context) -> int:
    from ..report.markdown import render_apply_markdown
    from ..report.plantext import summary_line

    inputs, runner, env = ctx.inputs, ctx.runner, ctx.env
    plan_file = inputs.get("plan-file")
    args = ["apply"]
    if plan_file:
        if not os.path.isfile(plan_file):
            raise InputProblem(f"input `plan-file`: {plan_file} is not a file")
        if inputs.get("delete") or inputs.get("max-deletes") or inputs.get("directory"):
            runner.annotate(
                [
                    Annotation(
                        "warning",
                        "delete, max-deletes and directory are ignored when applying a saved "
                        "plan: it is applied exactly as it was made.",
                    )
                ]
            )
        args.append(plan_file)
    else:
        if inputs.get("directory"):
            args.append(inputs.get("directory"))
        args += plan_flags(inputs)
    args += ["--auto-approve", "--format", "json", *test_flags(inputs), *extra_args(inputs)]
    run = run_cli(args, child_env(env, inputs), runner)
    data = parse_json(run.stdout)
    runner.set_output("exit-code", run.returncode)
    annotations = diagnostics_from_text(run.stderr)
    hide_server(ctx, data)
    if data is None:
        return _no_plan(runner, ctx, run, annotations, "kestra-sync apply", "nothing was applied.")

    plan = plan_from_dict(data)
    in_action_terms(plan)
    result = apply_result_from_dict(data)
    _set_plan_outputs(runner, plan)
    ctx.changed = plan.has_changes
    apply_counts = result.counts()
    runner.set_output("applied", apply_counts["done"])
    runner.set_output("failed", apply_counts["failed"])
    runner.set_output("not-attempted", apply_counts["not attempted"])
    if plan_file:
        runner.set_output("plan-file", os.path.abspath(plan_file))
    if plan.errors:  # refused before writing anything, e.g. more deletes than max-deletes
        ctx.failure = f"nothing was applied: the plan has errors: {_first(plan.errors)}"
        annotations += [Annotation("error", e, title="kestra-sync apply") for e in plan.errors]
    elif apply_counts["failed"] or apply_counts["not attempted"]:
        ctx.failure = (
            f"{apply_counts['failed']} change(s) failed and {apply_counts['not attempted']} "
            f"were not attempted ({apply_counts['done']} done); a re-run picks up from here."
        )
    if result.tests is not None:
        ctx.tests_ran = True
        _report_tests(ctx, result.tests, annotations)
    for o in result.outcomes:
        if o.status == "failed":
            annotations.append(
                Annotation(
                    "error",
                    f"{o.change.action} {o.change.ref} failed: {o.error}",
                    file=o.change.path,
                    title="kestra-sync apply",
                )
            )
    runner.annotate(annotations)
    markdown = render_apply_markdown(result)
    extra = [summary_line(plan.counts())]
    meta = meta_line(data, show_server=inputs.flag("show-server"))
    if meta:
        extra.append(meta)
    ctx.markdown = markdown.replace("\n\n", "\n\n" + "\n\n".join(extra) + "\n\n", 1)
    return run.returncode


def test_flags(inputs: Inputs) -> list[str]:
    """`run-tests` and `test-timeout` as the CLI's flags."""
    if not inputs.flag("run-tests"):
        if inputs.get("test-timeout"):
            raise InputProblem("input `test-timeout` needs `run-tests: true`")
        return []
    timeout = inputs.get("test-timeout")
    if timeout and not timeout.isdigit():
        raise InputProblem(
            f"input `test-timeout` must be a whole number of seconds, not {timeout!r}"
        )
    return ["--run-tests", *(["--test-timeout", timeout] if timeout else [])]


def _report_tests(ctx: Context, tests, annotations: list[Annotation]) -> None:
    """The step's outputs and annotations for the flow tests run after the deploy; a failed
    test fails the step (the deploy stays: the failure says how to roll back)."""
    counts = tests.counts()
    ctx.runner.set_output("tests-passed", counts["passed"])
    ctx.runner.set_output("tests-failed", counts["failed"])
    for suite in tests.suites:
        if not suite.passed:
            why = suite.error or "; ".join(
                f"{c.id}: {c.message or c.state}" for c in suite.cases if c.state not in PASSING
            )
            annotations.append(
                Annotation(
                    "error",
                    f"flow test {suite.name} (flow {suite.flow_id}) {suite.state}: {why}",
                    title="kestra-sync apply --run-tests",
                )
            )
    if not tests.ok and not ctx.failure:
        ctx.failure = (
            f"{counts['failed']} flow test suite(s) failed after the deploy, which was not "
            f"undone; to roll back, deploy the previous commit: {tests.rollback}"
        )


def _failure_details(title: str) -> str:
    """The report of a run that produced no plan: the CLI's message is in the banner above."""
    return f"### {title}\n\nSee the error above and the job log.\n"


def in_action_terms(plan) -> None:
    """Plan errors and notes name CLI flags; the user of the Action wrote inputs."""
    plan.errors = [in_action_words(e) for e in plan.errors]
    for change in plan.changes:
        change.note = in_action_words(change.note)


def main(env: dict[str, str] | None = None, stdout: TextIO | None = None) -> int:
    env = dict(os.environ if env is None else env)
    runner = Runner(env, stdout)
    inputs = Inputs.from_env(env)
    for name in SECRET_INPUTS:  # before anything else is printed
        runner.mask(inputs.get(name))
    for var in ("KESTRA_PASSWORD", "KESTRA_API_TOKEN"):  # set at job level instead of inputs
        runner.mask(env.get(var, ""))
    ctx = Context(env, inputs, runner)
    command = inputs.get("command", "plan")
    try:
        # Check every true/false input before running anything.
        for name in ("summary", "fail-on-changes", "delete", "show-server"):
            inputs.optional_flag(name)
        inputs.comment_mode()
        if command not in COMMANDS:
            raise InputProblem(
                f"input `command` must be one of {', '.join(COMMANDS)}, not {command!r}"
            )
        from .drift import do_drift

        commands = {"validate": do_validate, "plan": do_plan, "apply": do_apply, "drift": do_drift}
        code = commands[command](ctx)
    except InputProblem as err:
        ctx.failure, ctx.markdown, code = str(err), "", 1
    except Exception as err:  # a bug here must still end in an annotation, not a bare traceback
        import traceback

        runner.untrusted(traceback.format_exc())
        ctx.failure = (
            f"the action itself failed ({type(err).__name__}: {runner.redact(str(err))}); "
            "the traceback is in the log. Please report it."
        )
        ctx.failure_detail, code = "", 1
    if code and not ctx.failure:
        ctx.failure = f"kestra-sync {command} exited with code {code}."
    report = ctx.markdown
    if code:
        label = command if command in COMMANDS else "action"  # not a bad input's value
        report = failure_banner(label, ctx.failure, ctx.failure_detail) + "\n" + report
        if not runner.errors_annotated:  # every failure says why, in an annotation too
            runner.annotate([Annotation("error", ctx.failure, title=f"kestra-sync {label}")])
    if inputs.get("summary") in ("", "true", "True", "TRUE") and report:
        runner.summary(report)
    if command == "plan" and ctx.markdown:
        comment(ctx, report)
    elif command == "apply" and ctx.markdown and ctx.tests_ran:
        comment(ctx, report, kind="apply")  # the flow tests' results, on the pull request
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
