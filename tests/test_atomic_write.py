"""Files kestra-sync writes (a saved plan, pulled flows) are replaced atomically with the usual
permissions: a failure leaves the old file whole, never an empty or partial one."""

from __future__ import annotations

import os
import stat

import pytest

from kestra_sync.commands.common import write_file
from kestra_sync.errors import InputError


def test_a_plan_that_cannot_be_written_leaves_the_old_file_whole(tmp_path):
    out = tmp_path / "plan.json"
    out.write_text("the previous plan\n")
    # A lone surrogate: what a file name that is not UTF-8 becomes in Python.
    with pytest.raises(InputError, match="plan.json: cannot write"):
        write_file(out, '{"path": "flows/caf\udce9.yml"}')
    assert out.read_text() == "the previous plan\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]  # no temporary left


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_written_file_gets_0666_minus_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_file(tmp_path / "plan.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plan.json").stat().st_mode) == 0o640
    assert (tmp_path / "plan.json").read_text() == "{}\n"
