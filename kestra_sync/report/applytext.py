"""Apply results for people: one line per change as it finishes, then done / failed / not
attempted, listing every change that did not happen so nothing is lost in a long log."""

from __future__ import annotations

import click

from ..apply import DONE, FAILED, NOT_ATTEMPTED, ApplyResult, Outcome

MARK = {DONE: "ok", FAILED: "FAILED", NOT_ATTEMPTED: "skipped"}
COLOUR = {DONE: "green", FAILED: "red", NOT_ATTEMPTED: "yellow"}


def outcome_line(outcome: Outcome, *, color: bool = False) -> str:
    change = outcome.change
    text = f"{MARK[outcome.status]:<7} {change.action:<6} {change.ref}"
    if outcome.status == DONE:
        text += f": {outcome.result}"
        if outcome.revision is not None:
            text += f" (revision {outcome.revision})"
    elif outcome.error:
        text += f": {outcome.error}"
    return click.style(text, fg=COLOUR[outcome.status]) if color else text


def render_apply(result: ApplyResult, *, color: bool = False) -> str:
    counts = result.counts()
    lines = [
        f"Apply: {counts[DONE]} done, {counts[FAILED]} failed, {counts[NOT_ATTEMPTED]} not attempted."
    ]
    for status, title in ((FAILED, "Failed"), (NOT_ATTEMPTED, "Not attempted")):
        outcomes = result.by_status(status)
        if outcomes:
            lines.append(f"{title}:")
            lines.extend("  " + outcome_line(o, color=color) for o in outcomes)
    if not result.ok:
        lines.append(
            "Nothing else was changed. Fix the cause and run the same command again: "
            "what is already applied will show as unchanged."
        )
    if not result.outcomes:
        lines = ["Apply: nothing to do, the server matches git."]
    return "\n".join(lines) + "\n"


def outcomes_to_list(result: ApplyResult) -> list[dict]:
    return [
        {
            "action": o.change.action,
            "tenant": o.change.ref.tenant,
            "namespace": o.change.ref.namespace,
            "id": o.change.ref.id,
            "path": o.change.path,
            "status": o.status,
            "result": o.result,
            "revision": o.revision,
            "error": o.error,
        }
        for o in result.outcomes
    ]
