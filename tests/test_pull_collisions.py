"""pull's one writer refuses, before writing anything, two items bound for one file."""

from __future__ import annotations

from pathlib import Path

from kestra_sync.kinds.pulling import Pulled, PullFile, PullGroup
from kestra_sync.pull.kinds import _claimed_twice


def pulled(*files: tuple[str, str]) -> list[Pulled]:
    return [Pulled([PullGroup([PullFile(Path(path), b"x", what) for path, what in files])])]


def test_two_items_for_one_file_are_refused():
    found = _claimed_twice(pulled(("f/a/kv.yml", "a KV pairs"), ("f/a/kv.yml", "a file")))
    assert found == [
        "f/a/kv.yml: both a KV pairs and a file would be written there; rename one on the server"
    ]


def test_two_files_that_differ_only_in_case_are_refused():
    # On macOS and Windows the second would overwrite the first (and every clone there).
    found = _claimed_twice(pulled(("f/a/_apps/Report.yml", "app"), ("f/a/_apps/report.yml", "app")))
    assert found == [
        "f/a/_apps/report.yml and f/a/_apps/Report.yml differ only in case: on macOS and "
        "Windows one would overwrite the other; rename one on the server"
    ]


def test_distinct_files_pass():
    assert _claimed_twice(pulled(("f/a/_apps/one.yml", "app"), ("f/a/_apps/two.yml", "app"))) == []
