"""The GitHub Action's entry point: ``python -m kestra_sync.ghaction``, run by ``action.yml``.

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
import shlex
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from typing import TextIO

# The plumbing and the rendering live in their own modules; names tests and callers use are
# re-exported here.
from .ghaction_io import (  # noqa: F401
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
from .ghaction_render import (
    apply_result_from_dict,
    comment,
    failure_markdown,
    meta_line,
    plan_from_dict,
    validate_markdown,
)

COMMANDS = ("validate", "plan", "apply")


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


# --- running the CLI -----------------------------------------------------------------------------


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: list[str], env: dict[str, str], runner: Runner) -> CliRun:
    """``python -m kestra_sync ARGS``; stderr is streamed to the log as it comes (apply
    progress), with workflow commands off; stdout is captured."""
    runner.echo(f"$ kestra-sync {shlex.join(args)}")
    token = uuid.uuid4().hex
    runner.echo(f"::stop-commands::{token}")
    err_lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-m", "kestra_sync", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as proc:

        def pump() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                err_lines.append(line)
                runner.out.write(runner.redact(line))
                runner.out.flush()

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        proc.wait()
        thread.join(timeout=10)
    runner.echo(f"::{token}::")
    return CliRun(proc.returncode, stdout, "".join(err_lines))


def child_env(env: dict[str, str], inputs: Inputs) -> dict[str, str]:
    """The CLI's environment: connection inputs as KESTRA_* variables (secrets never on the
    command line), no INPUT_* copies of secrets, and no GitHub files (the action owns them)."""
    child = {
        k: v
        for k, v in env.items()
        if not k.startswith("INPUT_") and k not in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
    }
    for name, var in CONNECTION_ENV:
        if inputs.get(name):
            child[var] = inputs.get(name)
    child.setdefault("PYTHONIOENCODING", "utf-8")
    return child


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


def extra_args(inputs: Inputs) -> list[str]:
    try:
        return shlex.split(inputs.get("args"))
    except ValueError as err:
        raise InputProblem(f"input `args` cannot be split into arguments: {err}") from None


def cli_failure(run: CliRun) -> str:
    """The CLI's own `error: ...` (+ hint) lines, else its last stderr line."""
    lines = [ln.strip() for ln in run.stderr.splitlines() if ln.strip()]
    picked = [ln for ln in lines if ln.startswith(("error:", "hint:", "Error:"))]
    if picked:
        return "\n".join(picked)
    return lines[-1] if lines else f"kestra-sync exited with code {run.returncode}"


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
    if run.returncode not in (0, 1) or (run.returncode == 1 and not problems):
        # Not a verdict on the flows: a usage error, a crash, or a server error.
        failure = Annotation("error", cli_failure(run), title="kestra-sync validate")
        annotations.append(failure)
        problems.append(failure)
    runner.annotate(annotations)
    errors = sum(a.kind == "error" for a in problems)
    runner.set_output("errors", errors)
    runner.set_output("warnings", len(problems) - errors)
    runner.set_output("exit-code", run.returncode)
    if inputs.flag("summary", True):
        runner.summary(validate_markdown(problems, run.returncode))
    return run.returncode


def do_plan(ctx: Context) -> int:
    from .report.markdown import render_plan_markdown
    from .report.plantext import render_plan

    inputs, runner, env = ctx.inputs, ctx.runner, ctx.env
    plan_file = inputs.get("plan-file") or os.path.join(
        env.get("RUNNER_TEMP") or tempfile.gettempdir(), "kestra-sync-plan.json"
    )
    plan_file = os.path.abspath(plan_file)
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

    if data is None:  # no plan at all: the CLI failed before making one
        message = runner.redact(cli_failure(run))
        annotations.append(Annotation("error", message, title="kestra-sync plan"))
        runner.annotate(annotations)
        runner.set_output("has-changes", False)
        markdown = failure_markdown("kestra-sync plan", message)
        if inputs.flag("summary", True):
            runner.summary(markdown)
        comment(ctx, markdown)
        return run.returncode or 1

    plan = plan_from_dict(data)
    runner.untrusted(render_plan(plan))
    _set_plan_outputs(runner, plan)
    if os.path.isfile(plan_file):
        runner.set_output("plan-file", plan_file)
    annotations += [Annotation("error", e, title="kestra-sync plan") for e in plan.errors]
    runner.annotate(annotations)

    title = "kestra-sync plan" + (f" · tenant `{ctx.tenant}`" if ctx.tenant != "main" else "")
    markdown = render_plan_markdown(plan, title=title)
    meta = meta_line(data)
    if meta:
        markdown = markdown.replace("\n\n", f"\n\n{meta}\n\n", 1)
    if inputs.flag("summary", True):
        runner.summary(markdown)
    comment(ctx, markdown)

    if run.returncode == 2:  # --detailed-exitcode: changes present
        return 2 if fail_on_changes else 0
    return run.returncode


def do_apply(ctx: Context) -> int:
    from .report.markdown import render_apply_markdown
    from .report.plantext import summary_line

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
    args += ["--auto-approve", "--format", "json", *extra_args(inputs)]
    run = run_cli(args, child_env(env, inputs), runner)
    data = parse_json(run.stdout)
    runner.set_output("exit-code", run.returncode)
    annotations = diagnostics_from_text(run.stderr)
    if data is None:
        message = runner.redact(cli_failure(run))
        annotations.append(Annotation("error", message, title="kestra-sync apply"))
        runner.annotate(annotations)
        runner.set_output("has-changes", False)
        if inputs.flag("summary", True):
            runner.summary(failure_markdown("kestra-sync apply", message))
        return run.returncode or 1

    plan = plan_from_dict(data)
    result = apply_result_from_dict(data)
    _set_plan_outputs(runner, plan)
    apply_counts = result.counts()
    runner.set_output("applied", apply_counts["done"])
    runner.set_output("failed", apply_counts["failed"])
    runner.set_output("not-attempted", apply_counts["not attempted"])
    if plan_file:
        runner.set_output("plan-file", os.path.abspath(plan_file))
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
    if inputs.flag("summary", True):
        markdown = render_apply_markdown(result)
        extra = [summary_line(plan.counts())]
        meta = meta_line(data)
        if meta:
            extra.append(meta)
        markdown = markdown.replace("\n\n", "\n\n" + "\n\n".join(extra) + "\n\n", 1)
        runner.summary(markdown)
    return run.returncode


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
        for name in ("summary", "comment", "fail-on-changes", "delete"):
            inputs.optional_flag(name)
        if command not in COMMANDS:
            raise InputProblem(
                f"input `command` must be one of {', '.join(COMMANDS)}, not {command!r}"
            )
        return {"validate": do_validate, "plan": do_plan, "apply": do_apply}[command](ctx)
    except InputProblem as err:
        runner.annotate([Annotation("error", str(err), title="kestra-sync action")])
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
