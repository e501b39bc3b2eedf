"""What the GitHub Action shows: the job summary's Markdown (the plan and apply reports come from
``report.markdown``; validate's table and failures are here) and the sticky pull-request comment."""

from __future__ import annotations

import json

from .ghaction_io import Annotation, Context

PR_EVENTS = ("pull_request", "pull_request_target")
MAX_SUMMARY_ROWS = 1000  # the job summary is capped at 1 MiB per step

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
            status=o["status"],
            result=o.get("result") or "",
            revision=o.get("revision"),
            error=o.get("error") or "",
        )
        for o in (data.get("apply") or {}).get("outcomes", [])
    ]
    return ApplyResult(outcomes)


def failure_markdown(title: str, message: str) -> str:
    fence = "````" if "```" in message else "```"
    return f"### {title}\n\n**Failed.**\n\n{fence}text\n{message}\n{fence}\n"


def meta_line(data: dict) -> str:
    parts = []
    if data.get("server"):
        parts.append(f"Server `{data['server']}`")
    git = data.get("git") or {}
    if git.get("commit"):
        parts.append(f"commit `{git['commit'][:12]}`" + (" (dirty)" if git.get("dirty") else ""))
    return " · ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


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
            where = f"`{_cell(a.file)}`" if a.file else ""
            lines.append(f"| {icon} | {where} | {a.line or ''} | {_cell(a.message)} |")
        if len(problems) > MAX_SUMMARY_ROWS:
            lines.append("")
            lines.append(f"_…and {len(problems) - MAX_SUMMARY_ROWS} more; see the job log._")
    return "\n".join(lines) + "\n"


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
