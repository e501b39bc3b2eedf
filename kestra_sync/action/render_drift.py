"""The drift pull request's (or issue's) title and body, and the comment that closes it.

Every name and path comes from git or the server: shown as code spans (``md_code``), notes as
escaped text (``md_text``), diffs in a fence longer than any backtick run they hold, with
control characters made visible (``block``), so nothing from a flow can mention someone,
link, or end the block.
"""

from __future__ import annotations

import html

from ..kinds import facts_of
from ..report.escape import block, line, md_code, md_fence, md_text

DIFF_BUDGET = 40_000  # characters of diffs in a body (GitHub takes 65,536 in all)


def drift_title(document: dict, environment: str) -> str:
    written = sum(item["written"] for item in document["items"])
    where = f" ({environment})" if environment else ""
    return (
        f"Kestra server edits{where}: {written or len(document['items'])} file(s) differ from git"
    )


def drift_body(document: dict, marker: str, report: str, environment: str, link: str) -> str:
    items = document["items"]
    where = f" of environment {md_code(environment)}" if environment else ""
    lines = [
        marker,
        "### Kestra server edits not in git",
        "",
        f"The Kestra server{where} holds {len(items)} change(s) to what git manages that git "
        "does not have (edits made in the Kestra UI or through its API).",
        "",
        _what_to_do(report, document["branch"]),
        "",
        "| Kind | Name | File | Note |",
        "|---|---|---|---|",
    ]
    lines += [_row(item) for item in items]
    lines += _others(document)
    lines += _diffs(items, report)
    if link:
        lines += ["", f"<sub>Checked by the scheduled drift workflow: [run]({link})</sub>"]
    return "\n".join(lines) + "\n"


def _what_to_do(report: str, branch: str) -> str:
    if report == "pull-request":
        return (
            "This pull request commits the server's version. **Merge it** to make git match "
            "the server; **close it** and run apply to put git's version back on the server. "
            f"It is updated on every run while the drift lasts (branch {md_code(branch)} is "
            "rebuilt each time) and closed when the drift is gone."
        )
    return (
        "Take the server's version with "
        f"`kestra-sync pull --branch {branch}` (a branch to merge), or run apply to put git's "
        "version back. This issue is updated on every run while the drift lasts and closed "
        "when it is gone."
        if _plain(branch)
        else "Take the server's version with `kestra-sync pull --branch NAME` (a branch to "
        "merge), or run apply to put git's version back."
    )


def _plain(name: str) -> bool:
    return all(c.isalnum() or c in "/._-" for c in name)


def _row(item: dict) -> str:
    ref = f"{item['namespace']}/{item['id']}" if item["kind"] == "flow" else item["id"]
    # A tenant's dashboard has no namespace: its id alone.
    name = ref if item["kind"] == "flow" or not item["namespace"] else f"{item['namespace']} {ref}"
    note = "" if item["written"] else md_text(item["note"])
    facts = facts_of(item["kind"])
    kind = facts.noun if facts is not None else "item"
    return f"| {kind} | {md_code(name)} | {md_code(item['path'])} | {note} |"


def _others(document: dict) -> list[str]:
    missing, server_only = document.get("missing", 0), document.get("server_only", 0)
    if not (missing or server_only):
        return []
    return [
        "",
        f"Not part of this report: {missing} in git but not on the server (apply creates "
        f"them), {server_only} on the server only (`kestra-sync pull --namespace` adopts them).",
    ]


def _diffs(items: list[dict], report: str) -> list[str]:
    """The diffs, folded; in a pull request GitHub shows them itself, so only in an issue."""
    if report == "pull-request":
        return []
    out, budget = [], DIFF_BUDGET
    for item in items:
        diff = block(item["diff"])
        if not diff:
            continue
        if len(diff) > budget:
            out += ["", f"_Diff of {md_code(item['path'])} left out (too long): see the job log._"]
            continue
        budget -= len(diff)
        fence = md_fence(diff)
        out += [
            "",
            f"<details><summary>{html.escape(line(item['path']))}</summary>",
            "",
            f"{fence}diff",
            diff.rstrip("\n"),
            fence,
            "",
            "</details>",
        ]
    return out


def gone_comment(link: str) -> str:
    text = "The drift is gone: the server matches git again for what git manages. Closing."
    return text + (f"\n\n<sub>[run]({link})</sub>" if link else "")
