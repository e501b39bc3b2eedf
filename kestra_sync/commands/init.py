"""`kestra-sync init`: write a starting kestra-sync.yml (and on request the pre-commit entry
and a GitHub workflow) for the repository in the current directory."""

from __future__ import annotations

from pathlib import Path

import click

from .common import write_file


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
    from ..init import PRE_COMMIT, config_text, detect, workflow_text

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
    todo = [(Path("kestra-sync.yml"), config_text(detected))]
    if pre_commit:
        todo.append((Path(".pre-commit-config.yaml"), PRE_COMMIT))
    if workflow:
        todo.append(
            (Path(".github/workflows/kestra-sync.yml"), workflow_text(detected, "kestra-sync.yml"))
        )
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
        click.echo(f"wrote      {path.as_posix()}")
    for path in kept:
        click.echo(f"kept       {path.as_posix()} (it exists; not changed)")
    if Path(".pre-commit-config.yaml") in kept:
        click.echo("hint: add this to .pre-commit-config.yaml:\n" + PRE_COMMIT, err=True)
    click.echo("Next: kestra-sync validate, then KESTRA_URL=... kestra-sync plan")
