"""`command: drift`, for a scheduled workflow: the server's edits to what git manages become
one pull request (or one issue), kept up to date, and closed once the drift is gone.

1. ``kestra-sync pull --branch BRANCH --format json`` commits the drift to BRANCH on top of
   the checked-out commit (the branch is fetched from `origin` first, so an unchanged drift
   is recognised and not pushed again);
2. with drift: BRANCH is force-pushed to `origin` (the branch is the Action's own, rebuilt
   on every run) and one pull request from it is opened or updated; in issue mode nothing
   is pushed and one issue, with the diffs, is opened or updated;
3. without drift: the open pull request or issue is closed with a comment, and the branch
   deleted from `origin` when the Action opened the pull request (its marker says so).

A failure of the CLI (the server unreachable, uncommitted changes) changes nothing on GitHub
and fails the step. git runs with the checkout's own credentials (`actions/checkout` keeps
them for `origin` unless `persist-credentials: false`): the token is never written to a
remote URL or a command line.
"""

from __future__ import annotations

import json
import re
import subprocess

from .github_io import Annotation, Context, InputProblem
from .render_drift import drift_body, drift_title, gone_comment

REPORTS = ("pull-request", "issue")
BRANCH_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]*")
DEFAULT_BRANCH = "kestra-sync/drift"
NO_DRIFT = "### kestra-sync drift\n\nNo drift: the server matches git for what git manages.\n"
BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


def do_drift(ctx: Context) -> int:
    from ..report.github_comment import CommentError, marker_for

    inputs, runner = ctx.inputs, ctx.runner
    report = inputs.get("drift-report") or "pull-request"
    if report not in REPORTS:
        raise InputProblem(f"input `drift-report` must be pull-request or issue, not {report!r}")
    branch = inputs.get("drift-branch") or DEFAULT_BRANCH
    if not BRANCH_NAME.fullmatch(branch) or ".." in branch or branch.endswith((".", "/", ".lock")):
        raise InputProblem(
            f"input `drift-branch` must be a plain branch name such as {DEFAULT_BRANCH} "
            "(letters, digits, '.', '_', '-', '/')"
        )
    token, repo, base = inputs.get("github-token"), ctx.env.get("GITHUB_REPOSITORY", ""), _base(ctx)
    if not token or not repo:
        raise InputProblem("command: drift needs `github-token` and GITHUB_REPOSITORY")
    document, code = _read_drift(ctx, branch, fetch=report == "pull-request")
    if document is None:
        return code or 1
    drifted = _reported(document, report)
    runner.set_output("drift", drifted)
    marker = marker_for("drift", branch)
    body = runner.publish(drift_body(document, marker, report, ctx.environment, ctx.run_link()))
    ctx.markdown = body.split("\n", 1)[1] if drifted else NO_DRIFT + _unwritten(ctx, document)
    try:
        thread = _thread(ctx, token, repo)
        found = thread.open_pull(branch) if report == "pull-request" else thread.open_issue(marker)
        if drifted:
            return _publish(ctx, thread, found, document, body, branch, base)
        return _close(ctx, thread, found, marker, branch)
    except (CommentError, GitError) as err:
        ctx.failure = f"the drift {report} could not be written: {runner.redact(str(err))}"
        return 1


def _read_drift(ctx: Context, branch: str, *, fetch: bool) -> tuple[dict | None, int]:
    """`pull --branch` in a child process: its JSON document (None: the step fails, and
    nothing is changed on GitHub) and its exit code."""
    from .run import cli_failure, hide_server, run_cli

    hide_server(ctx, None)  # the body and the summary are published
    if fetch:
        _fetch_branch(ctx, branch)
    run = run_cli(_pull_args(ctx, branch), _pull_env(ctx), ctx.runner)
    document = _parse(run.stdout)
    ctx.runner.set_output("exit-code", run.returncode)
    if run.returncode == 0 and document is not None:
        return document, 0
    ctx.failure = "the drift could not be read: no pull request or issue was changed."
    ctx.failure_detail = ctx.runner.redact(cli_failure(run))
    ctx.markdown = "### kestra-sync drift\n\nSee the error above and the job log.\n"
    return None, run.returncode


def _unwritten(ctx: Context, document: dict) -> str:
    """Nothing a commit can carry, but something differs (a KV value): say so."""
    if not document["items"]:
        return ""
    text = (
        f"{len(document['items'])} item(s) differ on the server that no commit carries (KV "
        "values are not written back): edit them in git by hand, or set "
        "`drift-report: issue` to have them reported in an issue."
    )
    ctx.runner.annotate([Annotation("warning", text, title="kestra-sync drift")])
    return "\n" + text + "\n"


def _reported(document: dict, report: str) -> bool:
    """Whether there is drift to report: files on the branch (committed now or already), or
    for an issue anything that differs (a KV value too, which no branch carries)."""
    if report == "issue":
        return bool(document["items"])
    return document["status"] != "no-drift"


def _publish(ctx, thread, found, document, body, branch, base) -> int:
    pull = ctx.inputs.get("drift-report") != "issue"
    if pull:  # a no-op when origin has that commit already (fetched, nothing committed)
        _git(
            ctx,
            "push",
            "--force",
            "--quiet",
            "origin",
            f"{_ref(branch)}:{_ref(branch)}",
            check=True,
        )
    title = drift_title(document, ctx.environment)
    if found:
        item, word = thread.update(found["number"], title, body), "updated"
    else:
        head = branch if pull else None
        item, word = thread.open_new(title, body, head=head, base=base), "opened"
    kind = "pull request" if pull else "issue"
    ctx.runner.echo(f"Drift {kind} {word}: {_line(item.get('html_url', ''))}")
    ctx.runner.set_output("drift-url", item.get("html_url", ""))
    ctx.runner.set_output("drift-number", item.get("number", ""))
    return 0


def _close(ctx, thread, found, marker: str, branch: str) -> int:
    if not found:
        ctx.runner.echo("No drift: the server matches git for what git manages.")
        return 0
    thread.close(found["number"], gone_comment(ctx.run_link()))
    ctx.runner.echo(f"No drift any more: closed {_line(found.get('html_url', ''))}")
    ours = (found.get("body") or "").lstrip().startswith(marker)
    if "head" in found and ours:  # a pull request this Action opened: its branch goes too
        _git(ctx, "push", "--quiet", "origin", "--delete", _ref(branch), check=True)
        ctx.runner.echo(f"Deleted branch {_line(branch)} from origin.")
    return 0


def _fetch_branch(ctx: Context, branch: str) -> None:
    """The drift branch as `origin` has it, so that a drift already pushed is recognised (no
    new commit, no push). None yet is fine. A shallow checkout stays shallow."""
    shallow = _git(ctx, "rev-parse", "--is-shallow-repository") == "true"
    depth = ["--depth=1"] if shallow else []
    _git(ctx, "fetch", "--no-tags", "--quiet", *depth, "origin", f"+{_ref(branch)}:{_ref(branch)}")


def _ref(branch: str) -> str:
    return f"refs/heads/{branch}"


def _base(ctx: Context) -> str:
    """The branch the pull request goes into: the one the workflow runs on."""
    ref = ctx.env.get("GITHUB_REF", "")
    if not ref.startswith("refs/heads/"):
        raise InputProblem(
            f"command: drift runs on a branch (a schedule or workflow_dispatch runs on the "
            f"default branch), not on {ref or 'an unknown ref'}"
        )
    return ref[len("refs/heads/") :]


def _pull_args(ctx: Context, branch: str) -> list[str]:
    from .run import extra_args

    args = ["pull"]
    if ctx.inputs.get("directory"):
        args.append(ctx.inputs.get("directory"))
    return [*args, "--branch", branch, "--format", "json", *extra_args(ctx.inputs)]


def _pull_env(ctx: Context) -> dict[str, str]:
    """The CLI's environment, with the bot as the commit's author unless git has one."""
    from .run import child_env

    env = child_env(ctx.env, ctx.inputs)
    configured = subprocess.run(
        ["git", "config", "user.email"], capture_output=True, text=True, check=False, env=env
    ).stdout.strip()
    if not configured:
        for who in ("AUTHOR", "COMMITTER"):
            env.setdefault(f"GIT_{who}_NAME", BOT[0])
            env.setdefault(f"GIT_{who}_EMAIL", BOT[1])
    return env


class GitError(Exception):
    """A git command failed (its message redacted by the caller)."""


def _git(ctx: Context, *args: str, check: bool = False) -> str:
    """Run git in the working directory; its output. ``check``: a failure raises GitError
    with git's last line (the caller redacts it)."""
    from .run import child_env

    done = subprocess.run(
        ["git", *args],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**child_env(ctx.env, ctx.inputs), "GIT_TERMINAL_PROMPT": "0"},  # never wait
    )
    if check and done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise GitError(f"git {args[0]} failed: {_line(last)}")
    return done.stdout.strip()


def _parse(stdout: str) -> dict | None:
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "status" in data else None


def _thread(ctx: Context, token: str, repo: str):
    from .github_drift import DriftThread

    return DriftThread(ctx.env.get("GITHUB_API_URL", ""), repo, token)


def _line(text: object) -> str:
    from ..report.escape import line

    return line(text)
