"""`kestra-sync pull`: write a server's flows into a directory."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import (
    EXIT_FAILURE,
    kestra_version_option,
    make_client,
    print_target,
    server_options,
    settings_from,
)


@click.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    required=True,
    metavar="NS",
    help="Namespace to pull (repeatable).",
)
@click.option(
    "--include-children/--no-include-children",
    default=None,
    help="Also pull the child namespaces (ns.*).",
)
@click.option(
    "--layout",
    type=click.Choice(["nested", "dotted"]),
    help="File layout for new files [default: the configured layout, else nested].",
)
@click.option("--overwrite", is_flag=True, help="Replace local files whose content differs.")
@server_options
@kestra_version_option
def pull(namespaces, layout, overwrite, **params):
    """Write the server's flows, namespace files and KV pairs into DIRECTORY, byte for byte, to
    adopt kestra-sync on a server that already has flows. Files go to `<namespace
    folder>/_files` (or the configured `namespace_files:` directory), KV pairs to
    `<namespace folder>/kv.yml` (without TTLs). A `plan` right after a `pull` shows no
    changes."""
    from ..flows import scan
    from ..pull import write_flows
    from ..target import resolve

    settings = settings_from(params)
    client = make_client(settings)
    # Pull writes what the server holds, whatever its version; saying which version it runs
    # (and whether a pinned one differs) tells the user which rules the next plan follows.
    print_target(resolve(settings, client))
    directory = settings.directory
    layout = layout or (settings.layout if settings.layout != "none" else "nested")
    existing = scan(directory, tenant=settings.tenant).flows if directory.exists() else []
    by_ref = {}  # overlapping namespaces (acme and acme.sub with children) list flows twice
    for namespace in namespaces:
        for flow in client.namespace_flows(namespace, include_children=settings.include_children):
            by_ref.setdefault(flow.ref, flow)
    remote = list(by_ref.values())
    result = write_flows(remote, directory, layout=layout, existing=existing, overwrite=overwrite)
    for ref, path in result.written:
        click.echo(f"wrote      {path}  ({ref})")
    for ref, path in result.unchanged:
        click.echo(f"unchanged  {path}  ({ref})")
    for ref, path in result.conflicts:
        click.echo(f"conflict   {path}  ({ref}): differs from the server; kept", err=True)
    for ref, path, other in result.occupied:
        click.echo(
            f"conflict   {path}  ({ref}): the file holds {other}; kept, {ref} not written",
            err=True,
        )
    for ref, paths in result.duplicates:
        shown = ", ".join(str(p) for p in paths)
        click.echo(f"conflict   {ref} is defined in {len(paths)} files: {shown}; kept", err=True)
    click.echo(
        f"Pulled {len(remote)} flow(s): {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged, {result.kept} kept because they differ.",
        err=True,
    )
    files_kept = _pull_files(client, settings, namespaces, by_ref, layout, overwrite)
    if result.occupied or result.duplicates:
        click.echo(
            "hint: keep one file per flow, named <id>.yml after the flow it holds, then pull again",
            err=True,
        )
    if result.conflicts:
        click.echo(
            "hint: review those files, or pass --overwrite to take the server's version", err=True
        )
    if result.kept or files_kept:
        sys.exit(EXIT_FAILURE)


def _pull_files(client, settings, namespaces, flows_by_ref, layout, overwrite) -> int:
    """Namespace files and KV pairs of the pulled namespaces (those named, and with
    --include-children the children that hold flows): one export request each for the files,
    the KV listing plus one GET per key. Returns how many were kept."""
    from ..pullfiles import files_root, write_kv_file, write_namespace_files

    wanted = set(namespaces) | {ref.namespace for ref in flows_by_ref}
    kept = 0
    for namespace in sorted(wanted):
        root = files_root(settings.directory, namespace, layout, settings.namespace_files)
        files = client.export_namespace_files(namespace)
        confine = root if namespace in settings.namespace_files else settings.directory
        result = write_namespace_files(files, root, overwrite=overwrite, confine=confine)
        for path in result.written:
            click.echo(f"wrote      {path}  ({namespace} file)")
        for path in result.unchanged:
            click.echo(f"unchanged  {path}  ({namespace} file)")
        for path in result.conflicts:
            click.echo(
                f"conflict   {path}  ({namespace} file): differs from the server; kept", err=True
            )
        for remote in result.refused:
            click.echo(
                f"refused    {namespace} file {remote}: it would be written outside {root}",
                err=True,
            )
        if files:
            click.echo(
                f"Pulled {len(files)} namespace file(s) of {namespace}: "
                f"{len(result.written)} written, {len(result.unchanged)} unchanged, "
                f"{len(result.conflicts) + len(result.refused)} kept.",
                err=True,
            )
        kept += len(result.conflicts) + len(result.refused)
        values = {key: value for key, (_, value) in client.namespace_kv(namespace).items()}
        if values:
            path, status = write_kv_file(
                values, settings.directory, namespace, layout, overwrite=overwrite
            )
            if status == "conflict":
                click.echo(
                    f"conflict   {path}  ({namespace} KV): differs from the server; kept", err=True
                )
                kept += 1
            else:
                click.echo(f"{status:<10} {path}  ({namespace} KV, {len(values)} key(s))")
    return kept
