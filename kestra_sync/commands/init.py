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
    already follow. An existing file is never overwritten: it is named and left alone, and
    a config that already applies here (in this folder or above it) is used as it is.
    .pre-commit-config.yaml and the workflow go to the git root, where pre-commit and GitHub
    read them."""
    from .scaffold import config_text, git_root, pre_commit_text, workflow_text

    here = Path(".").resolve()
    existing, detected = _existing_or_detected(here)
    top = git_root(here) or here
    prefix = "" if top == here else here.relative_to(top).as_posix()
    config_path = existing or Path("kestra-sync.yml")
    todo = [] if existing else [(config_path, config_text(detected, _server_version()))]
    hook = pre_commit_text(prefix)
    if pre_commit:
        todo.append((top / ".pre-commit-config.yaml", hook))
    if workflow:
        flows = (here / detected.directory).resolve()
        text = workflow_text(_from(top, flows), _from(top, (here / config_path).resolve()), prefix)
        todo.append((top / ".github/workflows/kestra-sync.yml", text))
    ignore_path, lines = _ignore_file(detected, todo)
    written, kept = _write_missing(todo)
    if existing:
        kept.insert(0, existing)
    for path in written:
        extra = (
            f" (excludes {len(lines)} YAML path(s) that are not flows)"
            if path == ignore_path
            else ""
        )
        click.echo(f"wrote      {_shown(path, here)}{extra}")
    for path in kept:
        click.echo(f"kept       {_shown(path, here)} (it exists; not changed)")
    if lines and ignore_path in kept:
        click.echo(
            f"hint: {ignore_path.as_posix()} does not exclude this YAML, which is not a flow; "
            "add these lines so validate accepts the tree:\n" + "\n".join(lines),
            err=True,
        )
    if pre_commit and top / ".pre-commit-config.yaml" in kept:
        click.echo(
            f"hint: add this to {_shown(top / '.pre-commit-config.yaml', here)}:\n" + hook,
            err=True,
        )
    click.echo("Next: kestra-sync validate, then KESTRA_URL=... kestra-sync plan")


def _existing_or_detected(here: Path):
    """(the config that already applies here, or None; the flow directory and layout). An
    existing config is respected: its directory and layout, never a scan of the folder."""
    from ..settings.config import find_config_file, load_settings
    from .scaffold import Detected, detect

    existing = find_config_file(here)
    if existing is None:
        detected = detect(here)
        if detected.found:
            click.echo(
                f"Found {detected.flows} flow file(s) under {detected.directory.as_posix()}/ "
                f"(layout: {detected.layout})."
            )
        else:
            click.echo("Found no flow file; proposing flows/ with the nested layout.")
        _name_enterprise_files(here / detected.directory)
        return None, detected
    settings = load_settings({}, env={}, config_file=existing, cwd=here)
    directory = next(iter(settings.directories().values()))
    found = detect((here / directory).resolve()) if (here / directory).is_dir() else None
    count = found.flows if found is not None else 0
    shown = _shown(existing.resolve(), here)
    click.echo(
        f"Using {shown}: directory {Path(directory).as_posix()}/ (layout: {settings.layout}), "
        f"{count} flow file(s)."
    )
    return _shown_path(existing.resolve(), here), Detected(
        Path(directory), settings.layout, count, count > 0
    )


def _ignore_file(detected, todo: list) -> tuple[Path | None, list[str]]:
    """validate reads every *.yml of the flow directory as a flow: when that directory also
    holds other YAML (flows in sibling folders make it the repository root, where this
    config and docker-compose.yml live), exclude them, or the config written would fail."""
    from .scaffold import ignore_lines

    if not detected.found:
        return None, []
    ignore_path = detected.directory / IGNORE_FILE
    lines = ignore_lines(detected.directory, [path for path, _ in todo])
    if lines:
        todo.append((ignore_path, IGNORE_HEADER + "".join(f"{line}\n" for line in lines)))
    return ignore_path, lines


def _name_enterprise_files(directory: Path) -> None:
    from .scaffold import enterprise_files

    apps, settings = enterprise_files(directory)
    if apps or settings:
        click.echo(
            f"Also found {apps} app(s) in _apps/ and {settings} namespace.yml file(s): plan and "
            "apply manage them on Kestra Enterprise only."
        )


def _write_missing(todo: list) -> tuple[list[Path], list[Path]]:
    from ..errors import InputError

    written, kept = [], []
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
    return written, kept


def _from(top: Path, path: Path) -> str:
    """``path`` as the workflow names it: relative to the git root."""
    try:
        return path.relative_to(top).as_posix()
    except ValueError:
        return path.as_posix()


def _shown_path(path: Path, here: Path) -> Path:
    return Path(_shown(path, here))


def _shown(path: Path, here: Path) -> str:
    """A path as the user would type it from here (``../.pre-commit-config.yaml`` from a
    sub-folder)."""
    import os

    path = path if path.is_absolute() else here / path
    return Path(os.path.relpath(path, here)).as_posix()


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
