"""`kestra-sync init`: a starting kestra-sync.yml from what the repository holds (the flow
directory and the layout its files already follow), and on request the pre-commit entry and a
GitHub workflow. Nothing is overwritten."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .placement import looks_like_flow

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", ".github", ".tox", "__pycache__", ".cache"}
MAX_FILES = 20_000  # a scan of a huge monorepo stops here; the guess is made from what was seen


@dataclass
class Detected:
    directory: Path  # relative to the root
    layout: str  # none, nested or dotted
    flows: int
    found: bool  # False: no flow found, the default directory is proposed


def detect(root: Path) -> Detected:
    """The deepest directory that holds every flow found under ``root``, and the layout rule
    all of them already follow (``none`` when they follow neither)."""
    from .flows import load_flow

    files: list[Path] = []
    seen = 0
    for current, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            seen += 1
            path = Path(current) / name
            if path.suffix in (".yml", ".yaml") and looks_like_flow(path):
                files.append(path)
        if seen > MAX_FILES:
            break
    if not files:
        return Detected(Path("flows"), "nested", 0, False)
    common = Path(os.path.commonpath([str(f.parent) for f in files]))
    if len(files) > 1 or common != root:
        # A single flow in flows/ns/ would make flows/ns the "directory": prefer a folder
        # named flows on the way up when there is one.
        for parent in (common, *common.parents):
            if parent.name == "flows" and root in (parent, *parent.parents):
                common = parent
                break
    layouts: Counter[str] = Counter()
    for file in files:
        flow, _ = load_flow(file)
        if flow is None or flow.namespace is None or flow.id is None:
            continue
        stem = file.relative_to(common).with_suffix("").as_posix()
        if stem == "/".join(flow.namespace.split(".")) + f"/{flow.id}":
            layouts["nested"] += 1
        if stem == f"{flow.namespace}/{flow.id}":
            layouts["dotted"] += 1
    layout = next((name for name in ("nested", "dotted") if layouts[name] == len(files)), "none")
    directory = common.relative_to(root) if common != root else Path(".")
    return Detected(directory, layout, len(files), True)


def config_text(detected: Detected) -> str:
    found = (
        f"# {detected.flows} flow file(s) found under {detected.directory.as_posix()}/"
        if detected.found
        else "# no flow found yet: put flow files under this directory"
    )
    return f"""# kestra-sync configuration (https://github.com/kestra-sync/kestra-sync#configuration)
# Secrets never go here: set KESTRA_PASSWORD or KESTRA_API_TOKEN in the environment.
{found}
directory: {detected.directory.as_posix()}
layout: {detected.layout}   # none, nested (<dir>/<ns as folders>/<id>.yml) or dotted (<dir>/<ns>/<id>.yml)
# url: https://kestra.example.com     # or KESTRA_URL
# tenant: main
# delete: true                        # remove server flows that git no longer has
# ownership_label: system.readOnly=true  # ...but only those git put there
# max_deletes: 10
"""


PRE_COMMIT = """repos:
  - repo: https://github.com/kestra-sync/kestra-sync   # where kestra-sync is published
    rev: v0.1.0
    hooks:
      - id: kestra-sync-validate
"""


def workflow_text(detected: Detected, config_path: str) -> str:
    flows = detected.directory.as_posix().rstrip("/")
    return f"""# Validate and plan Kestra flows on every pull request (written by `kestra-sync init`).
# Secrets: KESTRA_URL, and KESTRA_USERNAME + KESTRA_PASSWORD or KESTRA_API_TOKEN.
# `kestra-sync/kestra-sync@v0` stands for where the kestra-sync action is published.
name: Kestra flows

on:
  pull_request:
    paths: ["{flows}/**", "{config_path}"]

permissions:
  contents: read
  pull-requests: write # for the plan comment

jobs:
  plan:
    if: github.event.pull_request.head.repo.full_name == github.repository
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - uses: kestra-sync/kestra-sync@v0
        with:
          command: plan
          server: ${{{{ secrets.KESTRA_URL }}}}
          username: ${{{{ secrets.KESTRA_USERNAME }}}}
          password: ${{{{ secrets.KESTRA_PASSWORD }}}}
          api-token: ${{{{ secrets.KESTRA_API_TOKEN }}}}
          comment: true
"""
