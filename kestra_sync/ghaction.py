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
from dataclasses import dataclass, field
from typing import Any, TextIO

# Inputs this entry point reads (see action.yml; a test checks the two lists match).
INPUTS = (
    "command",
    "directory",
    "server",
    "tenant",
    "username",
    "password",
    "api-token",
    "delete",
    "max-deletes",
    "plan-file",
    "fail-on-changes",
    "args",
    "summary",
    "comment",
    "comment-key",
    "github-token",
)
# Inputs only action.yml itself uses (Python set-up, working directory).
SETUP_INPUTS = ("python-version", "working-directory")
SECRET_INPUTS = ("password", "api-token", "github-token")
# Connection inputs, handed to the CLI as the environment variables it reads (config.ENV).
CONNECTION_ENV = (
    ("server", "KESTRA_URL"),
    ("tenant", "KESTRA_TENANT"),
    ("username", "KESTRA_USERNAME"),
    ("password", "KESTRA_PASSWORD"),
    ("api-token", "KESTRA_API_TOKEN"),
)
COMMANDS = ("validate", "plan", "apply")
MAX_ANNOTATIONS = 10  # per kind and step (GitHub keeps 10 errors + 10 warnings per step)
PR_EVENTS = ("pull_request", "pull_request_target")
MAX_SUMMARY_ROWS = 1000  # the job summary is capped at 1 MiB per step

# `path[:line[:col]]: severity: message` lines: plan's warnings on stderr (cli._print_warnings)
# and validate's complete list after its capped annotations (report.diagnostics.format_text_line).
_DIAG_LINE = re.compile(
    r"^(?P<path>[^\s:][^:]*?)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: "
    r"(?P<sev>warning|error): (?P<msg>.+)$"
)
# A workflow command for an annotation, as printed by `validate --format github`.
_ANNOTATION = re.compile(r"^::(?P<kind>error|warning|notice)(?: (?P<props>[^:]*))?::(?P<msg>.*)$")


class InputProblem(Exception):
    """An action input that cannot be used."""


# --- workflow-command plumbing -------------------------------------------------------------------


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


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


@dataclass
class Annotation:
    kind: str  # error | warning | notice
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    title: str | None = None

    def command(self) -> str:
        props = []
        for key, value in (
            ("file", self.file),
            ("line", self.line),
            ("col", self.col),
            ("title", self.title),
        ):
            if value not in (None, ""):
                props.append(f"{key}={escape_property(str(value))}")
        head = f"::{self.kind}" + (" " + ",".join(props) if props else "")
        return f"{head}::{escape_data(self.message)}"


def parse_annotation(line: str) -> Annotation | None:
    match = _ANNOTATION.match(line.rstrip("\r\n"))
    if not match:
        return None
    props: dict[str, str] = {}
    for part in (match.group("props") or "").split(","):
        key, sep, value = part.partition("=")
        if sep:
            props[key.strip()] = unescape(value)

    def number(key: str) -> int | None:
        value = props.get(key, "")
        return int(value) if value.isdigit() else None

    return Annotation(
        match.group("kind"),
        unescape(match.group("msg")),
        file=props.get("file"),
        line=number("line"),
        col=number("col"),
        title=props.get("title"),
    )


class Runner:
    """Where the action writes: the log (stdout), outputs, summary; with secret redaction."""

    def __init__(self, env: dict[str, str], stdout: TextIO | None = None):
        self.env = env
        self.out = stdout or sys.stdout
        self.secrets: list[str] = []
        self.outputs: dict[str, str] = {}

    # log ---------------------------------------------------------------------------------------
    def echo(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def mask(self, value: str) -> None:
        """``::add-mask::`` each secret (and each of its lines) before anything else runs."""
        if not value:
            return
        for part in {value, *[p for p in value.splitlines() if p.strip()]}:
            self.echo(f"::add-mask::{escape_data(part)}")
            if len(part) >= 3:
                self.secrets.append(part)
        self.secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def untrusted(self, text: str) -> None:
        """Echo text from files or servers with workflow commands switched off meanwhile."""
        if not text:
            return
        token = uuid.uuid4().hex
        self.echo(f"::stop-commands::{token}")
        self.out.write(self.redact(text) if text.endswith("\n") else self.redact(text) + "\n")
        self.echo(f"::{token}::")

    def annotate(self, annotations: list[Annotation], *, more_hint: str = "see the job summary"):
        """Emit at most MAX_ANNOTATIONS per kind, then one notice saying how many were left."""
        shown: dict[str, int] = {}
        left: dict[str, int] = {}
        for a in annotations:
            if shown.get(a.kind, 0) >= MAX_ANNOTATIONS:
                left[a.kind] = left.get(a.kind, 0) + 1
                continue
            shown[a.kind] = shown.get(a.kind, 0) + 1
            file = self.repo_path(a.file)
            a = Annotation(a.kind, self.redact(a.message), file, a.line, a.col, a.title)
            self.echo(a.command())
        if left:
            counts = ", ".join(f"{n} more {kind}(s)" for kind, n in sorted(left.items()))
            self.echo(Annotation("notice", f"{counts} not annotated: {more_hint}").command())

    def repo_path(self, path: str | None) -> str | None:
        """GitHub attaches an annotation to a file by its path from the repository root; the
        CLI prints paths from the working directory (the `working-directory` input)."""
        if not path:
            return path
        workspace = self.env.get("GITHUB_WORKSPACE")
        full = os.path.abspath(path)
        if workspace:
            try:
                relative = os.path.relpath(full, os.path.abspath(workspace))
            except ValueError:  # another drive on Windows
                relative = path
            if not relative.startswith(".."):
                path = relative
        return path.replace("\\", "/")

    # files -------------------------------------------------------------------------------------
    def set_output(self, name: str, value: Any) -> None:
        if isinstance(value, bool):
            value = "true" if value else "false"
        value = self.redact(str(value))
        self.outputs[name] = value
        path = self.env.get("GITHUB_OUTPUT")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as f:
            if "\n" in value or "\r" in value:
                delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
                f.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                f.write(f"{name}={value}\n")

    def summary(self, markdown: str) -> None:
        path = self.env.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as f:
            f.write(self.redact(markdown).rstrip("\n") + "\n\n")


# --- inputs --------------------------------------------------------------------------------------


def input_env_name(name: str) -> str:
    return "INPUT_" + name.upper().replace("-", "_")


@dataclass
class Inputs:
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Inputs:
        return cls({name: env.get(input_env_name(name), "").strip() for name in INPUTS})

    def get(self, name: str, default: str = "") -> str:
        if name not in INPUTS:  # a typo here would silently read nothing
            raise KeyError(f"undeclared action input {name!r}")
        return self.values.get(name) or default

    def flag(self, name: str, default: bool = False) -> bool:
        """YAML 1.2 core booleans, as GitHub's getBooleanInput."""
        value = self.get(name)
        if not value:
            return default
        if value in ("true", "True", "TRUE"):
            return True
        if value in ("false", "False", "FALSE"):
            return False
        raise InputProblem(f"input `{name}` must be true or false, not {value!r}")

    def optional_flag(self, name: str) -> bool | None:
        return self.flag(name) if self.get(name) else None


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


# --- the plan JSON back into objects the Markdown renderers take --------------------------------


def plan_from_dict(data: dict):
    from .models import FlowRef
    from .plan import Change, Plan, Scope

    changes = [
        Change(
            action=c["action"],
            ref=FlowRef(c["tenant"], c["namespace"], c["id"]),
            path=c.get("path"),
            server_revision=c.get("server_revision"),
            diff=c.get("diff") or "",
            summary=list(c.get("summary") or []),
            formatting_only=bool(c.get("formatting_only")),
            note=c.get("note") or "",
        )
        for c in data.get("changes", [])
    ]
    scopes = [
        Scope(s["tenant"], s["namespace"], bool(s.get("include_children")))
        for s in data.get("scopes", [])
    ]
    return Plan(changes=changes, errors=list(data.get("errors", [])), scopes=scopes)


def apply_result_from_dict(data: dict):
    from .apply import ApplyResult, Outcome
    from .models import FlowRef
    from .plan import Change

    outcomes = [
        Outcome(
            change=Change(
                action=o["action"],
                ref=FlowRef(o["tenant"], o["namespace"], o["id"]),
                path=o.get("path"),
            ),
            status=o["status"].replace("_", " "),  # JSON's not_attempted
            result=o.get("result") or "",
            revision=o.get("revision"),
            error=o.get("error") or "",
        )
        for o in (data.get("apply") or {}).get("outcomes", [])
    ]
    return ApplyResult(outcomes)


# --- the commands --------------------------------------------------------------------------------


@dataclass
class Context:
    env: dict[str, str]
    inputs: Inputs
    runner: Runner

    @property
    def tenant(self) -> str:
        return self.inputs.get("tenant") or self.env.get("KESTRA_TENANT") or "main"

    def run_link(self) -> str:
        server, repo, run_id = (
            self.env.get("GITHUB_SERVER_URL", "https://github.com"),
            self.env.get("GITHUB_REPOSITORY"),
            self.env.get("GITHUB_RUN_ID"),
        )
        return f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else ""


def _failure_markdown(title: str, message: str) -> str:
    fence = "````" if "```" in message else "```"
    return f"### {title}\n\n**Failed.**\n\n{fence}text\n{message}\n{fence}\n"


def _meta_line(data: dict) -> str:
    parts = []
    if data.get("server"):
        parts.append(f"Server `{data['server']}`")
    git = data.get("git") or {}
    if git.get("commit"):
        parts.append(f"commit `{git['commit'][:12]}`" + (" (dirty)" if git.get("dirty") else ""))
    return " · ".join(parts)


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
        runner.summary(validate_markdown(problems, run))
    return run.returncode


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def validate_markdown(problems: list[Annotation], run: CliRun) -> str:
    lines = ["### kestra-sync validate", ""]
    if run.returncode == 0 and not problems:
        lines.append("✅ **All flows are valid.**")
        return "\n".join(lines) + "\n"
    errors = sum(a.kind == "error" for a in problems)
    lines.append(f"**{errors} error(s), {len(problems) - errors} warning(s).**")
    lines.append("")
    if problems:
        lines += ["| | File | Line | Problem |", "|---|---|---|---|"]
        for a in problems[:MAX_SUMMARY_ROWS]:
            icon = "❌" if a.kind == "error" else "⚠️"
            where = f"`{_cell(a.file)}`" if a.file else ""
            lines.append(f"| {icon} | {where} | {a.line or ''} | {_cell(a.message)} |")
        if len(problems) > MAX_SUMMARY_ROWS:
            lines.append("")
            lines.append(f"_…and {len(problems) - MAX_SUMMARY_ROWS} more; see the job log._")
    return "\n".join(lines) + "\n"


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
        markdown = _failure_markdown("kestra-sync plan", message)
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
    meta = _meta_line(data)
    if meta:
        markdown = markdown.replace("\n\n", f"\n\n{meta}\n\n", 1)
    if inputs.flag("summary", True):
        runner.summary(markdown)
    comment(ctx, markdown)

    if run.returncode == 2:  # --detailed-exitcode: changes present
        return 2 if fail_on_changes else 0
    return run.returncode


def comment(ctx: Context, markdown: str) -> None:
    """The sticky PR comment; every failure here is a warning, never a failed plan."""
    from .report.github_comment import CommentError, marker_for, upsert_comment

    inputs, runner, env = ctx.inputs, ctx.runner, ctx.env
    if not inputs.flag("comment"):
        return
    event = env.get("GITHUB_EVENT_NAME", "")
    if event not in PR_EVENTS:
        runner.echo(f"Not commenting: the event is {event or 'unknown'}, not a pull request.")
        return
    token = inputs.get("github-token")
    if not token:
        runner.annotate([Annotation("warning", "comment: true but no github-token: no comment.")])
        return
    number = pr_number(env)
    repo = env.get("GITHUB_REPOSITORY", "")
    if not number or not repo:
        runner.annotate(
            [Annotation("warning", "Cannot comment: no pull-request number in the event.")]
        )
        return
    marker = marker_for("plan", inputs.get("comment-key") or ctx.tenant)
    link = ctx.run_link()
    body = f"{marker}\n{markdown}" + (f"\n<sub>[workflow run]({link})</sub>\n" if link else "")
    try:
        action, url = upsert_comment(
            env.get("GITHUB_API_URL", ""), repo, number, token, marker, runner.redact(body)
        )
    except CommentError as err:
        runner.annotate([Annotation("warning", f"Could not comment on the pull request: {err}")])
        return
    runner.echo(f"Plan comment {action}: {url}")
    runner.set_output("comment-url", url)


def pr_number(env: dict[str, str]) -> int | None:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            event = json.load(f)
    except (OSError, ValueError):
        return None
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    return number if isinstance(number, int) else None


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
            runner.summary(_failure_markdown("kestra-sync apply", message))
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
        meta = _meta_line(data)
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
