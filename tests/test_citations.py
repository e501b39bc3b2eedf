"""Citations point at what a maintainer can open.

The project was started from research notes kept outside this repository (api-facts.md,
versions.md, anchors.md, python-anchors.md, kestra-openapi.yml). A comment, docstring, test or page
that cites one of them sends the reader nowhere; cite Kestra's source (file and commit) or a page
under docs/ (docs/kestra-api.md, docs/kestra-versions.md, docs/anchors.md) instead.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

# Copies of other people's files (flows, fixtures) may say anything.
EXEMPT_DIRS = ("tests/data/",)
# A note's name, unless it is one of this repository's own pages: `kestra-versions.md` and
# `docs/anchors.md` are allowed, and so is a bare `anchors.md` inside docs/ (a sibling link).
_NOTES = re.compile(
    r"api-facts(?:\.md)?"
    r"|python-anchors"
    r"|(?<![\w/.-])versions\.md"
    r"|(?<![\w/.-])anchors\.md"
    r"|shared/kestra"
)
_OPENAPI_NOTE = "kestra-openapi.yml"


def note_citations(path: str, text: str, tracked: frozenset[str] = frozenset()) -> list[str]:
    """``line: excerpt`` for every citation of a note that is not in the repository."""
    found = []
    in_docs = path.startswith("docs/")
    openapi_here = any(
        name.endswith("/" + _OPENAPI_NOTE) or name == _OPENAPI_NOTE for name in tracked
    )
    for number, line in enumerate(text.splitlines(), 1):
        hits = [m for m in _NOTES.finditer(line) if not (in_docs and m.group() == "anchors.md")]
        if hits or (_OPENAPI_NOTE in line and not openapi_here):
            found.append(f"{number}: {line.strip()[:120]}")
    return found


def _tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [name for name in out.decode().split("\0") if name]


def test_no_tracked_file_cites_a_note_outside_the_repository():
    tracked = _tracked_files()
    names = frozenset(tracked)
    problems = []
    for name in tracked:
        if name == THIS or name.startswith(EXEMPT_DIRS):
            continue
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # binary, or deleted in the working tree
        problems += [f"{name}:{hit}" for hit in note_citations(name, text, names)]
    assert not problems, (
        "cite Kestra's source (file and commit) or a docs/ page instead of notes that are not "
        "in this repository:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize(
    "line",
    [
        "# Kestra keeps the revision (api-facts.md §7).",
        "# see api-facts §5",
        "# why not kestrapy: python-anchors A.3",
        "Sources: ../shared/kestra/versions.md",
        '    Removal("runIf", "when", "versions.md §2"),',
        "# kestractl batches by 100 (anchors.md §2.2)",
        "# 2.0's KV listing (kestra-openapi.yml)",
    ],
)
def test_a_citation_of_a_note_is_found(line):
    assert note_citations("kestra_sync/client/api.py", line) == [f"1: {line.strip()}"]


@pytest.mark.parametrize(
    "path, line",
    [
        ("kestra_sync/client/api.py", "# the same source keeps the revision (docs/kestra-api.md)"),
        (
            "kestra_sync/emulator/flowroutes.py",
            "# filters on export since 0.23 (docs/kestra-versions.md)",
        ),
        ("kestra_sync/kinds/nsfiles.py", "``gitDirectory`` is ``_files``, docs/anchors.md)"),
        ("docs/kestra-api.md", "Competing tools: [anchors.md](anchors.md)."),
        (
            "README.md",
            "Where each release was cut: [docs/kestra-versions.md](docs/kestra-versions.md).",
        ),
    ],
)
def test_the_repositorys_own_pages_may_be_cited(path, line):
    assert note_citations(path, line) == []


def test_a_vendored_openapi_file_of_that_name_may_be_cited():
    line = "# KVEntry (tests/data/openapi/kestra-openapi.yml)"
    assert note_citations("kestra_sync/emulator/kvstore.py", line) == [f"1: {line}"]
    tracked = frozenset({"tests/data/openapi/kestra-openapi.yml"})
    assert note_citations("kestra_sync/emulator/kvstore.py", line, tracked) == []
