"""`kestra-sync init`: write a starting kestra-sync.yml (and on request the pre-commit entry
and a GitHub workflow) for the repository in the current directory."""

from __future__ import annotations

from pathlib import Path

import click

from ..source.ignorefile import IGNORE_FILE
from .common import write_file

IGNORE_HEADER = (
    "# Not Kestra flows: validate reads every *.yml of the flow directory as a flow, so\n"
    "# `kestra-sync init` excluded the YAML it found here that is not one (gitignore syntax).\n"
)


@click.command()
@click.option(
    "--pre-commit", "pre_commit", is_flag=True, help="Also write .pre-commit-config.yaml."
)
@click.option(
    "--workflow",
    is_flag=True,
    help="Also write .github/workflows/kestra-sync.yml (validate and plan on pull requests).",
)
def init(pre_commit, workflow):
    """Write kestra-sync.yml here, with the flow directory and the layout the flow files
    already follow. An existing file is never overwritten: it is named and left alone."""
    from ..errors import InputError
    from ..settings.scaffold import PRE_COMMIT, config_text, detect, ignore_lines, workflow_text

    root = Path(".")
    detected = detect(root.resolve())
    if detected.found:
        click.echo(
            f"Found {detected.flows} flow file(s) under {detected.directory.as_posix()}/ "
            f"(layout: {detected.layout})."
        )
    else:
        click.echo("Found no flow file; proposing flows/ with the nested layout.")
    written = []
    kept = []
    todo = [(Path("kestra-sync.yml"), config_text(detected, _server_version()))]
    if pre_commit:
        todo.append((Path(".pre-commit-config.yaml"), PRE_COMMIT))
    if workflow:
        todo.append(
            (Path(".github/workflows/kestra-sync.yml"), workflow_text(detected, "kestra-sync.yml"))
        )
    # validate reads every *.yml of the flow directory as a flow: when that directory also
    # holds other YAML (flows in sibling folders make it the repository root, where this
    # config and docker-compose.yml live), exclude them, or the config written would fail.
    ignore_path, lines = None, []
    if detected.found:
        ignore_path = detected.directory / IGNORE_FILE
        lines = ignore_lines(detected.directory, [path for path, _ in todo])
        if lines:
            todo.append((ignore_path, IGNORE_HEADER + "".join(f"{line}\n" for line in lines)))
    for path, text in todo:
        if path.exists():
            kept.append(path)
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"{path.parent}: cannot create: {err.strerror}") from None
        write_file(path, text)
        written.append(path)
    for path in written:
        extra = (
            f" (excludes {len(lines)} YAML path(s) that are not flows)"
            if path == ignore_path
            else ""
        )
        click.echo(f"wrote      {path.as_posix()}{extra}")
    for path in kept:
        click.echo(f"kept       {path.as_posix()} (it exists; not changed)")
    if lines and ignore_path in kept:
        click.echo(
            f"hint: {ignore_path.as_posix()} does not exclude this YAML, which is not a flow; "
            "add these lines so validate accepts the tree:\n" + "\n".join(lines),
            err=True,
        )
    if Path(".pre-commit-config.yaml") in kept:
        click.echo("hint: add this to .pre-commit-config.yaml:\n" + PRE_COMMIT, err=True)
    click.echo("Next: kestra-sync validate, then KESTRA_URL=... kestra-sync plan")


def _server_version() -> str | None:
    """The rule-table version of the server KESTRA_URL names (credentials from the
    environment), or None: no URL, or no answer (said, and init goes on)."""
    import os

    from ..errors import KestraSyncError
    from ..rules import knowledge
    from ..settings.config import load_settings
    from .common import make_client

    if not os.environ.get("KESTRA_URL"):
        return None
    try:
        settings = load_settings({}, env=os.environ)
        reported = make_client(settings).server_version()
    except KestraSyncError as err:
        click.echo(f"note: could not read the server's Kestra version ({err.message})", err=True)
        return None
    version = knowledge.supported_version(reported)
    if version is not None:
        click.echo(f"The server runs Kestra {reported}: recording kestra_version: {version}.")
    return version
