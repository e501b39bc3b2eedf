"""Running the CLI from the Action: the child process (its environment, with connection
inputs as KESTRA_* variables and secrets never on the command line), its failure in the
Action's words, and the server URL kept out of what the job publishes. Every Action command
(validate, plan, apply, drift) runs the CLI through here."""

from __future__ import annotations

import shlex
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass

from .github_io import CONNECTION_ENV, Context, InputProblem, Inputs, Runner
from .render import in_action_words


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
                runner.out.write(runner.redact(_in_the_runner(line)))
                runner.out.flush()

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        proc.wait()
        thread.join(timeout=10)
    runner.echo(f"::{token}::")
    return CliRun(proc.returncode, stdout, "".join(err_lines))


def _in_the_runner(line: str) -> str:
    """The CLI ends a saved plan with "apply it with: kestra-sync apply /tmp/...": a file the
    runner deletes after the job. The action says what to do instead once the plan is read."""
    saved, sep, _ = line.partition("; apply it with: kestra-sync apply ")
    return saved + ".\n" if sep else line


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
    if inputs.get("env"):  # the environment of the config's `environments:`
        child["KESTRA_SYNC_ENV"] = inputs.get("env")
    child.setdefault("PYTHONIOENCODING", "utf-8")
    return child


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
        return in_action_words("\n".join(picked))
    return in_action_words(lines[-1]) if lines else f"kestra-sync exited with code {run.returncode}"


def hide_server(ctx: Context, data: dict | None) -> None:
    """Unless `show-server: true`, the server URL (from the input, KESTRA_URL, the config file
    or the plan) and its host are kept out of the summary and the comment."""
    if ctx.inputs.flag("show-server"):
        return
    urls = [ctx.inputs.get("server"), ctx.env.get("KESTRA_URL", ""), (data or {}).get("server")]
    try:
        from ..settings.config import load_settings

        urls.append(load_settings(env=child_env(ctx.env, ctx.inputs)).url)
    except Exception:  # a broken config is the CLI's to report; here it only hides less
        pass
    args = extra_args(ctx.inputs)
    for i, arg in enumerate(args):
        if arg in ("--server", "-s") and i + 1 < len(args):
            urls.append(args[i + 1])
        elif arg.startswith("--server="):
            urls.append(arg.split("=", 1)[1])
    for url in filter(None, urls):
        for value in server_forms(str(url)):
            ctx.runner.hide(value)


def server_forms(url: str) -> list[str]:
    """The ways a server URL shows up in messages: as given, as scheme://host:port (the
    client's `origin`), and the host itself when it cannot be an ordinary word."""
    from urllib.parse import urlsplit

    forms = [url, url.rstrip("/")]
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return forms
    host = parts.hostname or ""
    if host:
        forms += [f"{parts.scheme}://{host}", f"{parts.scheme}://{host}:{port}", parts.netloc]
        if "." in host or ":" in host:
            forms.append(host)
    return forms
