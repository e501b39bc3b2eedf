"""Apply results for people: one line per change as it finishes, then done / failed / not
attempted, listing every change that did not happen so nothing is lost in a long log."""

from __future__ import annotations

from typing import TextIO

import click

from ..applying.apply import DONE, FAILED, NOT_ATTEMPTED, ApplyResult, Outcome
from . import escape

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
    text = escape.line(text)  # names and server messages: no control character gets through
    return click.style(text, fg=COLOUR[outcome.status]) if color else text


def progress_line(finished: int, total: int, failed: int = 0, width: int = 80) -> str:
    """The one status line a terminal shows while applying, e.g. ``[12/40] applying... 1 failed``,
    cut to ``width - 1`` columns so it never wraps (a wrapped line cannot be redrawn with \\r)."""
    text = f"[{finished}/{total}] applying..."
    if finished >= total:
        text = f"[{finished}/{total}] applied"
    if failed:
        text += f" {failed} failed"
    return text[: max(10, width - 1)]


class ApplyProgress:
    """``on_outcome`` for apply_plan. On a terminal: a single line on ``stream`` redrawn in place
    (``\\r``), with each failure printed above it so none scrolls away unseen. Elsewhere (CI
    logs, pipes): one plain numbered line per finished change, ``[3/40] ok create ns/id: ...``.

    The per-change lines go to ``out`` (stdout for `apply > apply.log`; default ``stream``),
    the redrawn status line to ``stream`` (stderr). When ``out`` is the same terminal that shows
    the status line (``out_tty``), only the changes that did not succeed get a line."""

    def __init__(
        self,
        total: int,
        stream: TextIO,
        *,
        tty: bool,
        color: bool = False,
        width: int = 80,
        out: TextIO | None = None,
        out_tty: bool | None = None,
    ):
        self.total, self.stream, self.tty, self.color, self.width = total, stream, tty, color, width
        self.out = stream if out is None else out
        # Only the changes that need attention are lines of their own when the terminal that
        # shows the status line also shows them.
        self.brief = tty and (out is None or bool(out_tty))
        self.finished = self.failed = 0

    def _draw(self) -> None:
        self.stream.write(
            "\r" + progress_line(self.finished, self.total, self.failed, self.width) + "\x1b[K"
        )
        self.stream.flush()

    def start(self) -> None:
        if self.tty and self.total:
            self._draw()

    def __call__(self, outcome: Outcome) -> None:
        self.finished += 1
        self.failed += outcome.status == FAILED
        line = outcome_line(outcome, color=self.color)
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        if not self.brief:
            self.out.write(f"[{self.finished}/{self.total}] {line}\n")
            self.out.flush()
        elif outcome.status != DONE:
            self.out.write(line + "\n")
            self.out.flush()
        if self.tty:
            self._draw()

    def close(self) -> None:
        """Clear the status line so the summary starts on a clean line."""
        if self.tty and self.total:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def render_apply(result: ApplyResult, *, color: bool = False) -> str:
    counts = result.counts()
    headline = f"Apply: {counts[DONE]} done, {counts[FAILED]} failed, {counts[NOT_ATTEMPTED]} not attempted."
    fg = "green" if result.ok else "red"
    lines = [click.style(headline, fg=fg, bold=True) if color else headline]
    for status, title in ((FAILED, "Failed"), (NOT_ATTEMPTED, "Not attempted")):
        outcomes = result.by_status(status)
        if status == NOT_ATTEMPTED and result.interrupted:
            continue  # counted in the headline: after Ctrl-C, hundreds of lines would bury it
        if outcomes:
            lines.append(f"{title}:")
            lines.extend("  " + outcome_line(o, color=color) for o in outcomes)
    if result.interrupted:
        lines.append(
            f"Interrupted: the changes in flight finished, no other was started "
            f"({counts[NOT_ATTEMPTED]} not attempted)."
        )
    if not result.ok:
        lines.append(
            "Nothing else was changed. Fix the cause and run the same command again: "
            "what is already applied will show as unchanged."
        )
    if not result.outcomes:
        lines = ["Apply: nothing to do, the server matches git."]
    if result.tests is not None:
        lines += render_tests(result.tests, color=color)
    return "\n".join(lines) + "\n"


def render_tests(run, *, color: bool = False) -> list[str]:
    """The flow tests run after the deploy (applying/testrun.py): a line per suite, one per
    test case, and when one failed, that the deploy stays and how to roll it back."""
    if not run.suites:
        return ["Tests: none to run (this apply changed no flow with a test suite, and no suite)."]
    counts = run.counts()
    headline = f"Tests: {counts['passed']} suite(s) passed, {counts['failed']} failed."
    lines = [
        click.style(headline, fg="green" if run.ok else "red", bold=True) if color else headline
    ]
    for suite in run.suites:
        mark = "PASS" if suite.passed else "FAIL"
        text = f"  {mark} {suite.name} (flow {suite.flow_id}): {suite.state}"
        if suite.error:
            text += f": {suite.error}"
        text = escape.line(text)
        lines.append(click.style(text, fg="green" if suite.passed else "red") if color else text)
        for case in suite.cases:
            words = f"      {case.state:<8} {case.id}" + (
                f": {case.message}" if case.message else ""
            )
            if case.url and case.state not in ("SUCCESS", "SKIPPED"):
                words += f" ({case.url})"
            lines.append(escape.line(words))
    if not run.ok:
        lines += [
            "A failed test does not undo the deploy: the flows above stay as applied.",
            f"To roll back, deploy the previous commit with the same options: {run.rollback}",
        ]
    return lines


def outcomes_to_list(result: ApplyResult) -> list[dict]:
    return [
        {
            "action": o.change.action,
            "kind": o.change.kind,
            "tenant": o.change.ref.tenant,
            "namespace": o.change.ref.namespace,
            "id": o.change.ref.id,
            "path": o.change.path,
            "status": o.status.replace(" ", "_"),  # done, failed, not_attempted
            "result": o.result,
            "revision": o.revision,
            "error": o.error,
        }
        for o in result.outcomes
    ]
