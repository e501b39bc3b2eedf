"""The apply progress display: one redrawn line on a terminal, numbered plain lines elsewhere
(the plain path is also checked end to end in test_apply.py)."""

import io

from kestra_sync.applying.apply import DONE, FAILED, NOT_ATTEMPTED, Outcome
from kestra_sync.models import FlowRef
from kestra_sync.planning.plan import CREATE, UPDATE, Change
from kestra_sync.report.applytext import ApplyProgress, progress_line


def outcome(flow_id, status=DONE, action=CREATE, **kw):
    return Outcome(Change(action, FlowRef("main", "ns", flow_id)), status, **kw)


def test_progress_line_counts_and_failures_and_never_wraps():
    assert progress_line(12, 40) == "[12/40] applying..."
    assert progress_line(12, 40, failed=2) == "[12/40] applying... 2 failed"
    assert progress_line(40, 40) == "[40/40] applied"
    assert len(progress_line(12, 40, failed=2, width=16)) == 15


def test_on_a_terminal_one_line_is_redrawn_and_failures_stay_above_it():
    stream = io.StringIO()
    progress = ApplyProgress(3, stream, tty=True)
    progress.start()
    progress(outcome("a", result="created", revision=1))
    progress(outcome("b", FAILED, action=UPDATE, error="PUT ...: 500 boom"))
    progress(outcome("c", NOT_ATTEMPTED, error="not attempted: it depends on ns/b"))
    progress.close()
    text = stream.getvalue()
    assert text.count("\n") == 2  # only the two problems become lines of their own
    assert "\r\x1b[KFAILED  update ns/b: PUT ...: 500 boom\n" in text
    assert "\r\x1b[Kskipped create ns/c: not attempted: it depends on ns/b\n" in text
    frames = [f for f in text.split("\r") if f.startswith("[")]
    assert [f.removesuffix("\x1b[K") for f in frames] == [
        "[0/3] applying...",
        "[1/3] applying...",
        "[2/3] applying... 1 failed",
        "[3/3] applied 1 failed",
    ]
    assert text.endswith("\r\x1b[K")  # cleared: the summary starts on a clean line


def test_in_a_log_every_change_is_a_numbered_line_without_control_characters():
    stream = io.StringIO()
    progress = ApplyProgress(2, stream, tty=False)
    progress.start()
    progress(outcome("a", result="created", revision=1))
    progress(outcome("b", FAILED, error="boom"))
    progress.close()
    assert stream.getvalue() == (
        "[1/2] ok      create ns/a: created (revision 1)\n[2/2] FAILED  create ns/b: boom\n"
    )


def test_nothing_to_apply_draws_nothing():
    stream = io.StringIO()
    progress = ApplyProgress(0, stream, tty=True)
    progress.start()
    progress.close()
    assert stream.getvalue() == ""
