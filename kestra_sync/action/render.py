"""What the GitHub Action shows: the job summary's Markdown (the plan and apply reports come from
``report.markdown``; validate's table and failures are here) and the sticky pull-request comment."""

from __future__ import annotations

import json
import re

from ..report.escape import block, line, md_code, md_fence, md_text
from .github_io import Annotation, Context

PR_EVENTS = ("pull_request", "pull_request_target")
MAX_SUMMARY_ROWS = 1000  # the job summary is capped at 1 MiB per step

# --- the plan JSON back into objects the Markdown renderers take --------------------------------


def plan_from_dict(data: dict):
    from ..models import FlowRef
    from ..planning.plan import Change, Plan, Scope
    from ..planning.renames import rename_from_dict

    # The kind too (a KV pair's delete must never read as a flow's).
    changes = [
        Change(
            action=c["action"],
            ref=FlowRef(c["tenant"], c["namespace"], c["id"], c.get("kind") or "flow"),
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
    return Plan(
        changes=changes,
        errors=list(data.get("errors", [])),
        scopes=scopes,
        # The namespaces that left git, and the renames: the summary and the comment show them.
        other_namespaces={t: list(ns) for t, ns in (data.get("other_namespaces") or {}).items()},
        retire_commands=dict(data.get("retire_commands") or {}),
        renames=[rename_from_dict(r) for r in data.get("renames") or []],
    )


def apply_result_from_dict(data: dict):
    from ..applying.apply import ApplyResult, Outcome
    from ..models import FlowRef
    from ..planning.plan import Change

    outcomes = [
        Outcome(
            change=Change(
                action=o["action"],
                ref=FlowRef(o["tenant"], o["namespace"], o["id"], o.get("kind") or "flow"),
                path=o.get("path"),
            ),
            status=o["status"].replace("_", " "),  # JSON's not_attempted
            result=o.get("result") or "",
            revision=o.get("revision"),
            error=o.get("error") or "",
        )
        for o in (data.get("apply") or {}).get("outcomes", [])
    ]
    result = ApplyResult(outcomes)
    tests = (data.get("apply") or {}).get("tests")
    if isinstance(tests, dict):
        from ..applying.testrun import TestRun

        result.tests = TestRun.from_dict(tests)
    return result


def failure_banner(command: str, why: str, detail: str = "") -> str:
    """The first thing in the summary (and comment) of a failed step: what failed and why.
    ``detail`` is the CLI's own text, shown verbatim in a code block (it may hold Markdown)."""
    lines = ["> [!CAUTION]", f"> **kestra-sync {command} failed:** {md_text(why)}"]
    if detail:
        detail = block(detail)
        fence = md_fence(detail)
        lines += [">", f"> {fence}text", *[f"> {ln}" for ln in detail.splitlines()], f"> {fence}"]
    return "\n".join(lines) + "\n"


def meta_line(data: dict, *, show_server: bool = False) -> str:
    parts = []
    if data.get("server") and show_server:
        parts.append(f"Server {md_code(data['server'])}")
    git = data.get("git") or {}
    if git.get("commit"):
        parts.append(
            f"commit {md_code(git['commit'][:12])}" + (" (dirty)" if git.get("dirty") else "")
        )
    return " · ".join(parts)


# The CLI's hints name its flags; in the Action the user wrote inputs. Flags that are inputs
# are named as inputs, the others as something to put in `args`.
_FLAG_INPUTS = {
    "--server": "server",
    "-s": "server",
    "--tenant": "tenant",
    "--env": "env",
    "--username": "username",
    "--password": "password",
    "--token": "api-token",
    "--max-deletes": "max-deletes",
    "--out": "plan-file",
    "--directory": "directory",
}
_FLAG_VALUES = {"--delete": "`delete: true`", "--no-delete": "`delete: false`"}
_FLAG = re.compile(r"(\bpass )?(?<![\w`-])(--[a-z][a-z-]*|-s\b)(?:[ =](\d+\b|https?://[^\s)`]+))?")


def _as_input(m: re.Match) -> str:
    verb, flag, value = m.group(1), m.group(2), m.group(3)
    if flag in _FLAG_VALUES:
        words = _FLAG_VALUES[flag] + (f" {value}" if value else "")
    elif flag in _FLAG_INPUTS:
        name = _FLAG_INPUTS[flag]
        words = f"`{name}: {value}`" if value else f"the `{name}` input"
    else:
        words = f"`{flag}{' ' + value if value else ''}` in the `args` input"
        return ("add " if verb else "") + words
    return ("set " if verb else "") + words


def in_action_words(text: str) -> str:
    """Rewrite CLI flags in a message (outside `code spans`) as the action inputs to use:
    "pass --server http://host:8080" becomes "set `server: http://host:8080`"."""
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):
        parts[i] = _FLAG.sub(_as_input, parts[i])
    return "".join(parts)


def validate_markdown(problems: list[Annotation], returncode: int) -> str:
    lines = ["### kestra-sync validate", ""]
    if returncode == 0 and not problems:
        lines.append("✅ **All flows are valid.**")
        return "\n".join(lines) + "\n"
    errors = sum(a.kind == "error" for a in problems)
    lines.append(f"**{errors} error(s), {len(problems) - errors} warning(s).**")
    lines.append("")
    if problems:
        lines += ["| | File | Line | Problem |", "|---|---|---|---|"]
        for a in problems[:MAX_SUMMARY_ROWS]:
            icon = "❌" if a.kind == "error" else "⚠️"
            where = md_code(a.file) if a.file else ""
            lines.append(f"| {icon} | {where} | {a.line or ''} | {md_text(a.message)} |")
        if len(problems) > MAX_SUMMARY_ROWS:
            lines.append("")
            lines.append(f"_…and {len(problems) - MAX_SUMMARY_ROWS} more; see the job log._")
    return "\n".join(lines) + "\n"


def comment(ctx: Context, markdown: str, kind: str = "plan") -> None:
    """The sticky PR comment; every failure here is a warning, never a failed plan.
    With `comment: on-changes` a comment is only created for a plan that changes something (or
    fails); an existing one is still updated, so a stale plan never stays on display.
    ``kind``: "plan", or "apply" for an apply's flow test results (a comment of its own, so the
    plan's stays)."""
    from ..report.github_comment import CommentError, marker_for, upsert_comment

    inputs, runner, env = ctx.inputs, ctx.runner, ctx.env
    mode = inputs.comment_mode()
    if mode == "off":
        return
    event = env.get("GITHUB_EVENT_NAME", "")
    if event not in PR_EVENTS:
        runner.annotate(
            [
                Annotation(
                    "warning",
                    f"comment: {inputs.get('comment')} does nothing on a "
                    f"{event or 'non pull-request'} event: the plan comment goes on pull "
                    "requests only (the plan is in the job summary). Set `comment` only in "
                    "workflows that run on pull_request.",
                    title="kestra-sync plan",
                )
            ]
        )
        return
    token = inputs.get("github-token")
    if not token:
        runner.annotate([Annotation("warning", "comment is on but no github-token: no comment.")])
        return
    number = pr_number(env)
    repo = env.get("GITHUB_REPOSITORY", "")
    if not number or not repo:
        runner.annotate(
            [Annotation("warning", "Cannot comment: no pull-request number in the event.")]
        )
        return
    # One comment per environment (and tenant) unless the workflow names its own key.
    default_key = f"{ctx.environment}:{ctx.tenant}" if ctx.environment else ctx.tenant
    marker = marker_for(kind, inputs.get("comment-key") or default_key)
    link = ctx.run_link()
    body = f"{marker}\n{markdown}" + (f"\n<sub>[workflow run]({link})</sub>\n" if link else "")
    create = mode == "always" or ctx.changed or bool(ctx.failure)
    try:
        action, url = upsert_comment(
            env.get("GITHUB_API_URL", ""),
            repo,
            number,
            token,
            marker,
            runner.publish(body),
            create=create,
        )
    except CommentError as err:
        runner.annotate([Annotation("warning", f"Could not comment on the pull request: {err}")])
        return
    if action == "skipped":
        runner.echo(f"No {kind} comment: no changes (comment: on-changes) and no earlier comment.")
        return
    runner.echo(f"{kind.capitalize()} comment {action}: {line(url)}")  # GitHub's reply: one line
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
