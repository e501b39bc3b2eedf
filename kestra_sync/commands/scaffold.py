"""`kestra-sync init`: a starting kestra-sync.yml from what the repository holds (the flow
directory and the layout its files already follow), and on request the pre-commit entry and a
GitHub workflow. Nothing is overwritten."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..settings.placement import looks_like_flow
from ..source.walk import TESTS_DIR

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
    files: list[Path] = []
    seen = 0
    for current, dirs, names in os.walk(root):
        # A namespace's `_tests` holds test suites, which name an id and a namespace too.
        dirs[:] = sorted(
            d for d in dirs if d not in SKIP_DIRS and d != TESTS_DIR and not d.startswith(".")
        )
        for name in sorted(names):
            seen += 1
            path = Path(current) / name
            if path.suffix in (".yml", ".yaml") and looks_like_flow(path):
                files.append(path)
        if seen > MAX_FILES:
            break
    if not files:
        return Detected(Path("flows"), "nested", 0, False)
    refs = [(file, _ref(file)) for file in files]
    by_layout = _layout_root(refs, root)
    if by_layout is not None:
        top, layout = by_layout
        return Detected(
            top.relative_to(root) if top != root else Path("."), layout, len(files), True
        )
    common = Path(os.path.commonpath([str(f.parent) for f in files]))
    if len(files) > 1 or common != root:
        # A single flow in flows/ns/ would make flows/ns the "directory": prefer a folder
        # named flows on the way up when there is one.
        for parent in (common, *common.parents):
            if parent.name == "flows" and root in (parent, *parent.parents):
                common = parent
                break
    directory = common.relative_to(root) if common != root else Path(".")
    return Detected(directory, "none", len(files), True)


def _ref(file: Path) -> tuple[str, str] | None:
    from ..source.flowscan import load_flow

    flow, _ = load_flow(file)
    if flow is None or flow.namespace is None or flow.id is None:
        return None
    return flow.namespace, flow.id


def _layout_root(refs: list[tuple[Path, tuple[str, str] | None]], root: Path):
    """(directory, layout) when every flow sits where one layout rule puts it below one
    directory inside ``root``: `out/acme/a.yml` of namespace acme is the nested layout of
    `out`, not a flow directory `out/acme` without a layout (whose `_files` would then sit at
    its top). None otherwise."""
    from ..rules.validate import expected_layout_path

    for layout in ("nested", "dotted"):
        tops: set[Path] = set()
        for file, ref in refs:
            if ref is None:
                return None
            parts = tuple(expected_layout_path(ref[0], ref[1], layout).split("/"))
            stem = file.with_suffix("").parts
            if stem[-len(parts) :] != parts:
                tops = set()
                break
            tops.add(Path(*stem[: -len(parts)]))
        if len(tops) == 1:
            top = tops.pop()
            if top == root or root in top.parents:
                return top, layout
    return None


def ignore_lines(directory: Path, also: list[Path]) -> list[str]:
    """What `.kestraignore` in ``directory`` must exclude so that validate, which reads every
    ``*.yml`` there as a flow, accepts the tree: the YAML that is not a flow (as the scan
    finds it, under the ignore file already there) and the files init is about to write there
    (this config). A folder holding no flow at all is excluded whole (`/charts/`), so the
    list stays short."""
    from ..source.ignorefile import IGNORE_FILE, IgnoreRules
    from ..source.walk import DASHBOARDS_DIR, FLOW_SUFFIXES, walk_flow_files

    rules = IgnoreRules.load(directory / IGNORE_FILE)
    # The dashboards' folder is never read as flows (source.flowscan): nothing to exclude.
    rules.rules += IgnoreRules.parse(f"/{DASHBOARDS_DIR}/").rules
    found, _ = walk_flow_files(directory, rules)
    flows: set[tuple[str, ...]] = set()
    others: list[tuple[str, ...]] = []
    for path in found:
        rel = path.relative_to(directory).parts
        if looks_like_flow(path):
            flows.update(rel[:i] for i in range(1, len(rel)))
        else:
            others.append(rel)
    for path in also:
        try:
            rel = path.resolve().relative_to(directory.resolve()).parts
        except ValueError:
            continue
        if path.suffix in FLOW_SUFFIXES and not any(p.startswith(".") for p in rel[:-1]):
            others.append(rel)
    lines = set()
    for rel in others:
        folder = next((rel[:i] for i in range(1, len(rel)) if rel[:i] not in flows), None)
        lines.add("/" + "/".join(folder) + "/" if folder else "/" + "/".join(rel))
    return sorted(lines)


def config_text(detected: Detected, kestra_version: str | None = None) -> str:
    """``kestra_version``: the rule-table version of the server init reached (its
    ``GET /api/v1/configs``), recorded so that validate without a server follows that
    version's rules instead of every version's."""
    version = (
        f'kestra_version: "{kestra_version}"   # the server\'s, read by init: validate follows its rules'
        if kestra_version
        else '# kestra_version: "1.3"              # or KESTRA_VERSION: the rules validate follows'
    )
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
# dashboards_dir: _dashboards         # the tenant's dashboards, one YAML each (Kestra 1.0+), in {detected.directory.as_posix()}/
{version}
"""


PRE_COMMIT = """repos:
  - repo: https://github.com/kestra-sync/kestra-sync   # where kestra-sync is published
    rev: v0.1.0
    hooks:
      - id: kestra-sync-validate
"""


def git_root(start: Path) -> Path | None:
    """The top of the git repository holding ``start`` (the folder with ``.git``, a directory
    or, in a worktree or submodule, a file), or None outside a repository."""
    start = start.absolute()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def pre_commit_text(prefix: str) -> str:
    """The pre-commit entry. pre-commit reads its config at the git root and passes every
    staged file of the repository: from a sub-folder (``kestra/``), only that folder's files
    go to the hook (validate then finds the config nearest to each file)."""
    if not prefix:
        return PRE_COMMIT
    return PRE_COMMIT + f"        files: ^{re.escape(prefix)}/\n"


def workflow_text(flows: str, config_path: str, working_directory: str = "") -> str:
    """The GitHub workflow. GitHub reads workflows only from the git root's .github/, so
    ``flows`` and ``config_path`` are relative to the git root, and the action runs in
    ``working_directory`` (the folder that holds kestra-sync.yml) when it is not the root."""
    flows = flows.rstrip("/")
    where = f"\n          working-directory: {working_directory}" if working_directory else ""
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
          command: plan{where}
          server: ${{{{ secrets.KESTRA_URL }}}}
          username: ${{{{ secrets.KESTRA_USERNAME }}}}
          password: ${{{{ secrets.KESTRA_PASSWORD }}}}
          api-token: ${{{{ secrets.KESTRA_API_TOKEN }}}}
          comment: true
"""
