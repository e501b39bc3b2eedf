"""End to end, through the real CLI against the emulator: the guarantees every kind gets from
the one planning pipeline (issue 19, issue 20 items 1, 3 and 4)."""

from __future__ import annotations

from tests.e2e.test_plan import Project, line_with, server_source

LOG = "io.kestra.plugin.core.log.Log"
BLOCK = f"id: note\nnamespace: company.team\ntasks:\n  - id: log\n    type: {LOG}\n    message: |\n      total:\n      done\n"


def test_trailing_spaces_inside_a_block_scalar_are_deployed(tmp_path, emulator):
    """`message: |` keeps the spaces at the end of its lines: Kestra stores and runs them. The
    plan called such an edit "No changes" and never deployed it."""
    p = Project(tmp_path, emulator)
    path = p.write(BLOCK)
    assert p.run("apply", "--auto-approve").returncode == 0

    edited = BLOCK.replace("      total:\n", "      total:   \n")
    path.write_text(edited, encoding="utf-8")
    planned = p.plan("--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    line_with(planned.stdout, "~ note", "update")
    line_with(planned.stdout, "+      total:   ⏎")

    done = p.run("apply", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_source(emulator, "company.team", "note") == edited

    # Trailing spaces outside any scalar change nothing Kestra runs: still no change.
    path.write_text(edited.replace("id: note\n", "id: note  \n"), encoding="utf-8")
    assert p.plan("--detailed-exitcode").returncode == 0
