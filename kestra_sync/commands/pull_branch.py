"""`kestra-sync pull --branch NAME`: commit the server's drift (its edits to what git manages)
to a branch, for a reviewer to merge, without touching the working tree or the index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

SYMLINK = 0o120000


def pull_to_branch(settings, client, branch: str, message: str | None, fmt: str) -> None:
    """Plan as `plan` does (environments, tenants, overlays), take its updates as the drift,
    and commit the server's version of each to ``branch`` on top of HEAD."""
    from ..errors import PlanError
    from ..planning.pipeline import make_plan
    from ..pull.drift import drift_of
    from ..pull.gitbranch import (
        check_branch_name,
        commit_files,
        open_repository,
        refuse_uncommitted,
    )
    from .common import print_target, print_warnings

    repo = open_repository(settings.directory)
    check_branch_name(repo, branch)
    refuse_uncommitted(repo, _compared_paths(settings))  # before the server is asked
    settings.delete = False  # drift writes back, never deletes: no delete cap to trip
    result = make_plan(settings, client, name_leftovers=False)
    print_target(result.target)  # stderr: which Kestra version's rules read git's side
    print_warnings(result.warnings)
    if result.plan.errors:
        raise PlanError(
            "the server could not be compared with git in full: "
            + "; ".join(result.plan.errors[:3]),
            hint="nothing was committed; run it again once the server answers",
        )
    drift = drift_of(result.plan)
    files = _files_to_commit(repo, drift)
    outcome = commit_files(repo, branch, files, _message(message, drift))
    if fmt == "json":
        click.echo(json.dumps(_document(outcome, drift), indent=2))
    _report(outcome, drift, json_out=fmt == "json")


def _compared_paths(settings) -> list[Path]:
    """Every folder the plan reads git's side from, and the config that shapes it."""
    paths = [Path(d) for d in settings.directories().values()]
    paths += [Path(d) for d in settings.namespace_files.values()]
    if settings.config_file is not None:
        paths.append(Path(settings.config_file))
    return paths


def _files_to_commit(repo: Any, drift) -> dict[str, bytes]:
    """Root-relative path -> the server's bytes. A drifted file git does not hold as a plain
    file (untracked, a symbolic link, outside the repository) is reported, not written."""
    from ..pull.gitbranch import mode_of, repo_path

    files: dict[str, bytes] = {}
    for item in drift.items:
        where = repo_path(repo, item.path)
        if where is not None:
            item.path = where
        if item.content is None:
            continue
        mode = None if where is None else mode_of(repo, where)
        if where is None or mode is None or mode == SYMLINK:
            item.note = (
                "outside the repository"
                if where is None
                else ("not tracked by git" if mode is None else "a symbolic link in git")
            ) + ": not written"
            item.content = None
            continue
        files[where] = item.content
    return files


def _message(subject: str | None, drift) -> str:
    from ..pull.gitbranch import WRITTEN_BY
    from ..report.escape import line

    written = drift.written
    head = subject or f"Take the Kestra server's edits to {len(written)} file(s)"
    body = [f"- {line(item.path)}: {line(item.ref)}" for item in written]
    return (
        head
        + f"\n\n{WRITTEN_BY}: the server's version of\n"
        + ("what git manages, where the two differ.\n\n" + "\n".join(body) + "\n")
    )


def _document(outcome, drift) -> dict:
    return {
        "status": outcome.status,
        "branch": outcome.branch,
        "commit": outcome.commit,
        "base": outcome.base,
        "items": [
            {
                "kind": item.ref.kind,
                "tenant": item.ref.tenant,
                "namespace": item.ref.namespace,
                "id": item.ref.id,
                "path": item.path,
                "written": item.content is not None,
                "note": item.note,
                "diff": item.diff,
            }
            for item in drift.items
        ],
        "missing": drift.missing,
        "server_only": drift.server_only,
    }


def _report(outcome, drift, *, json_out: bool) -> None:
    """One line per drifted item, then what was committed (on stderr with --format json)."""
    from .pull import _echo

    for item in drift.items:
        if item.content is not None:
            _echo(f"drift      {item.path}  ({item.ref})", err=json_out)
        else:
            _echo(f"not written {item.path}  ({item.ref}): {item.note}", err=True)
    if drift.missing or drift.server_only:
        _echo(
            f"not drift written back: {drift.missing} in git but not on the server (apply "
            f"creates them), {drift.server_only} on the server only (pull --namespace adopts "
            "them)",
            err=True,
        )
    short = (outcome.commit or "")[:12]
    if outcome.status == "no-drift":
        text = "No drift to commit: the server matches git for what git manages"
        left = f" (branch {outcome.branch} left as it is)." if drift.items else "."
        _echo(text + left, err=json_out)
    elif outcome.status == "unchanged":
        _echo(
            f"Branch {outcome.branch} already holds this drift ({short}): nothing committed.",
            err=json_out,
        )
    else:
        _echo(
            f"Committed the server's edits to {len(drift.written)} file(s) to branch "
            f"{outcome.branch} ({short}), on top of {outcome.base[:12]}; the working tree "
            "was not touched.",
            err=json_out,
        )
