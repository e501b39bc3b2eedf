"""`kestra-sync pull`: write a server's flows into a directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import (
    EXIT_FAILURE,
    echo_line,
    json_on_error,
    kestra_version_option,
    make_client,
    print_target,
    server_options,
    settings_from,
)

if TYPE_CHECKING:
    from ..models import FlowRef, RemoteFlow


@click.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Namespace to pull (repeatable).",
)
@click.option(
    "--all",
    "all_namespaces",
    is_flag=True,
    help="Pull every namespace of the tenant (one request lists them).",
)
@click.option(
    "--dashboards/--no-dashboards",
    "with_tenant_kinds",
    default=None,
    help="Also pull what belongs to the tenant rather than to a namespace: its dashboards, "
    "into the dashboards folder (`_dashboards/`) [default: with --all only].",
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
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace local files whose content differs (and a FIFO, broken link or the like "
    "standing where a file goes).",
)
@click.option(
    "--branch",
    metavar="NAME",
    help="Commit the server's drift (its edits to what git manages) to branch NAME, on top "
    "of the current commit, without touching the working tree; a re-run updates the branch.",
)
@click.option(
    "--commit-message",
    metavar="TEXT",
    help="--branch: the commit's subject line (the files are listed below it).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    help="--branch: json prints what was committed as one JSON document on stdout.",
)
@server_options
@kestra_version_option
@json_on_error("pull")
def pull(
    namespaces,
    all_namespaces,
    with_tenant_kinds,
    layout,
    overwrite,
    branch,
    commit_message,
    fmt,
    **params,
):
    """Write the server's flows, namespace files and KV pairs into DIRECTORY, byte for byte, to
    adopt kestra-sync on a server that already has flows. Files go to `<namespace
    folder>/_files` (or the configured `namespace_files:` directory), KV pairs to
    `<namespace folder>/kv.yml` (without TTLs), and with --all (or --dashboards) the tenant's
    dashboards to `_dashboards/<id>.yml`. A `plan` right after a `pull` shows no
    changes. With a `tenants:` map, it pulls the tenant --tenant names (needed when the map has
    several) into that tenant's directory. Without a kestra-sync.yml, it ends with the
    `kestra-sync init` command that writes one.

    With --branch NAME: the drift instead (what the server holds differently for the flows,
    namespace files and KV pairs git manages, as `plan` compares them), committed to branch
    NAME on top of the current commit; the working tree and the index are left alone."""
    from ..errors import KestraSyncError
    from ..pull.flows import check_server_names
    from ..rules.kestraversion import resolve
    from ..source.flowscan import scan

    if branch is not None:
        picked = with_tenant_kinds is not None
        return _pull_branch(namespaces, all_namespaces or picked, layout, overwrite, branch, params)
    if commit_message is not None or fmt != "text":
        raise click.UsageError("--commit-message and --format go with --branch")
    if bool(namespaces) == all_namespaces:
        raise click.UsageError("give --namespace NS (repeatable) or --all")
    settings = _one_tenant(settings_from(params))
    client = make_client(settings)
    # Pull writes what the server holds, whatever its version; saying which version it runs
    # (and whether a pinned one differs) tells the user which rules the next plan follows.
    target = resolve(settings, client)
    print_target(target)
    if all_namespaces:
        # Every namespace with flows; each is pulled on its own (children are listed too).
        namespaces = tuple(client.distinct_namespaces())
        params["include_children"] = False
    directory = settings.directory
    layout = layout or (settings.layout if settings.layout != "none" else "nested")
    existing = scan(directory, tenant=settings.tenant).flows if directory.exists() else []
    children = settings.include_children and not all_namespaces
    tenant_kinds = all_namespaces if with_tenant_kinds is None else with_tenant_kinds

    # Everything is read before anything is written: a read that fails (a reply over
    # --max-reply-mb, a namespace the token may not read, the server gone) leaves the
    # directory as it was. The namespace files are held in memory meanwhile, as a plan holds
    # them; each export is capped by --max-reply-mb.
    try:
        by_ref, empty = _read_flows(client, namespaces, children)
        remote = list(by_ref.values())
        check_server_names(remote)  # before the other reads: a bad name refuses the whole pull
        pulled = _pull_kinds(client, settings, layout, target, namespaces, by_ref, tenant_kinds)
        # Read now too, for the hint printed at the end (one request lists the namespaces).
        known = client.distinct_namespaces() if empty and not children else []
    except KestraSyncError as err:
        if "nothing was written" not in err.message:  # a refusal says it already
            err.message += ": nothing was written"
        raise

    result, files_kept = _write_all(
        remote, existing, pulled, settings, layout=layout, overwrite=overwrite
    )
    _closing_hints(result, known if empty and not children else None, empty)
    if settings.config_file is None and result.written:
        _suggest_config(directory, layout)
    if result.kept or files_kept:
        sys.exit(EXIT_FAILURE)


def _pull_kinds(client, settings, layout, target, namespaces, by_ref, tenant_kinds: bool):
    """Every other kind's items, read and turned into the files they become in git
    (``pull.kinds``): the namespaces named, and with --include-children the children that
    hold flows; the tenant's own kinds (dashboards) with --all or --dashboards. A server
    entry that cannot be written refuses the whole pull here, before anything is written."""
    from ..kinds.pulling import PullScope, PullTarget
    from ..pull.kinds import files_of, read_kinds, refusals

    wanted = sorted(set(namespaces) | {ref.namespace for ref in by_ref})
    scope = PullScope(
        settings.tenant,
        wanted,
        with_tenant=tenant_kinds,
        version=target.version,
        say=lambda line: echo_line(line, err=True),
    )
    pulled = files_of(read_kinds(client, scope), PullTarget(settings, layout))
    _refuse_whole_pull(refusals(pulled, settings.directory))
    return pulled


def _write_all(remote, existing, pulled, settings, *, layout, overwrite):
    """Write what was read: the flows, then every other kind's files (``pulled``). -> (the
    flows' result, how many other items were kept). A write that fails says which files
    were written before it."""
    from ..pull.flows import PullWriteError, write_flows
    from ..pull.kinds import write_pulled

    shown: list[Path] = []  # written, and printed as such
    try:
        result = write_flows(
            remote, settings.directory, layout=layout, existing=existing, overwrite=overwrite
        )
        shown += [path for _, path in result.written]
        _report_flows(result, len(remote))
        files_kept = write_pulled(pulled, settings.directory, overwrite, shown, echo_line)
    except PullWriteError as err:
        for path in err.written:
            echo_line(f"wrote      {path}")
        count = len(shown) + len(err.written)
        err.message += (
            f"; {count} file(s) were written before it (the `wrote` lines above), nothing after"
            if count
            else "; nothing was written"
        )
        raise
    return result, files_kept


def _refuse_whole_pull(refused: list[str]) -> None:
    """A file that would land outside the directory (through a link), a KV value kv.yml cannot
    hold: each is named, and the pull writes nothing, so that what it does write always plans
    as no change and nothing is half pulled."""
    from ..errors import InputError

    if refused:
        for line in refused:
            echo_line(f"refused    {line}", err=True)
        raise InputError(
            f"pull refused {len(refused)} server entr{'y' if len(refused) == 1 else 'ies'} "
            "(above): nothing was written",
            hint="remove the symbolic link that leads out of the directory, or rename or change "
            "the entry on the server, then pull again",
        )


def _pull_branch(namespaces, all_namespaces, layout, overwrite, branch, params) -> None:
    """--branch: the scope is what git manages, as for `plan`; no option that picks files."""
    from .pull_branch import pull_to_branch

    picked = namespaces or all_namespaces or layout or overwrite
    if picked or params.get("include_children") is not None:
        raise click.UsageError(
            "--branch takes what git manages (as plan does): no --namespace, --all, "
            "--dashboards, --include-children, --layout or --overwrite"
        )
    ctx = click.get_current_context()
    settings = _one_tenant(settings_from(params))
    client = make_client(settings)
    pull_to_branch(settings, client, branch, ctx.params["commit_message"], ctx.params["fmt"])


def _read_flows(client, namespaces, children: bool):
    """The server's flows of the namespaces by reference, and the namespaces that have none."""
    # overlapping namespaces (acme and acme.sub with children) list flows twice
    by_ref: dict[FlowRef, RemoteFlow] = {}
    empty: list[str] = []
    for namespace in namespaces:
        found = client.namespace_flows(namespace, include_children=children)
        if not found:
            empty.append(namespace)
        for flow in found:
            by_ref.setdefault(flow.ref, flow)
    return by_ref, empty


def _closing_hints(result, known, empty) -> None:
    """What to do about files left as they were; ``known`` (the server's namespaces) when an
    empty namespace may be a parent of the flows' ones."""
    if result.occupied or result.duplicates:
        echo_line(
            "hint: keep one file per flow, named <id>.yml after the flow it holds, then pull again",
            err=True,
        )
    if result.misplaced:
        echo_line(
            "hint: rename those flows on the server (an id other than kv, namespace or "
            "kv.<env>; a namespace without a _files, _tests or _apps part), then pull again",
            err=True,
        )
    if result.conflicts:
        echo_line(
            "hint: review those files, or pass --overwrite to take the server's version", err=True
        )
    if known is not None:
        _hint_parent_namespaces(known, empty)


def _one_tenant(settings):
    """With a `tenants:` map, pull from one tenant into its directory (a directory named on
    the command line or KESTRA_SYNC_DIRECTORY wins). Several tenants: which one is the user's
    choice, not a guess."""
    from ..errors import ConfigError

    if settings.namespace_map:
        # The server holds the mapped namespaces and rewritten sources: written back to git
        # as they are, they would no longer be git's.
        raise ConfigError(
            f"environment {settings.environment} maps namespaces (namespace_map): pull cannot "
            "write its flows back to git unmapped",
            hint="pull from an environment without namespace_map (--env NAME)",
        )
    _refuse_overlays(settings)
    if not settings.tenants:
        return settings
    if len(settings.tenants) > 1:
        names = ", ".join(sorted(settings.tenants))
        raise ConfigError(
            f"{settings.config_file} maps several tenants ({names}): pull reads one at a time",
            hint="add --tenant NAME (it writes into that tenant's directory)",
        )
    ((tenant, directory),) = settings.tenants.items()
    settings.tenant = tenant
    if not settings.origin.get("directory", "default").startswith(("flag", "env")):
        settings.directory = directory
    return settings


def _refuse_overlays(settings) -> None:
    """Pull writes into kv.yml and _files/, which every environment shares. When the selected
    environment has its own overlay (kv.<env>.yml, _files.<env>/), its server's values would
    overwrite the shared ones (the other environments' next plan would deploy them) while the
    overlay still wins for this one, so the plan after the pull would not be a no-op."""
    from ..errors import ConfigError
    from ..source.environments import find_overlays
    from ..source.walk import files_overlay_env, kv_overlay_env

    if settings.environment is None:
        return
    found = find_overlays(settings, [])
    own = [
        path
        for _, _, path in found.kv + found.files
        if (kv_overlay_env(path.name) or files_overlay_env(path.name)) == settings.environment
    ]
    if own:
        raise ConfigError(
            f"environment {settings.environment} has its own values in {own[0]}"
            + (f" and {len(own) - 1} more overlay(s)" if len(own) > 1 else "")
            + ": pull would write its server's values into the files every environment "
            "shares (kv.yml, _files/); nothing was written",
            hint="pull from an environment without overlays (--env NAME), and update the "
            "overlay by hand",
        )


def _report_flows(result, pulled: int) -> None:
    for ref, path in result.written:
        echo_line(f"wrote      {path}  ({ref})")
    for ref, path in result.unchanged:
        echo_line(f"unchanged  {path}  ({ref})")
    for ref, path in result.conflicts:
        echo_line(f"conflict   {path}  ({ref}): differs from the server; kept", err=True)
    for ref, path, other in result.occupied:
        echo_line(
            f"conflict   {path}  ({ref}): the file holds {other}; kept, {ref} not written",
            err=True,
        )
    for ref, path in result.misplaced:
        echo_line(
            f"refused    {path}  ({ref}): the scan reads that file as the namespace's KV pairs, "
            "settings, files, tests or apps, not as a flow; not written",
            err=True,
        )
    for ref, paths in result.duplicates:
        listed = ", ".join(str(p) for p in paths)
        echo_line(f"conflict   {ref} is defined in {len(paths)} files: {listed}; kept", err=True)
    echo_line(
        f"Pulled {pulled} flow(s): {len(result.written)} written, "
        f"{len(result.unchanged)} unchanged, {result.kept} kept (above).",
        err=True,
    )


def _hint_parent_namespaces(known: list[str], empty: list[str]) -> None:
    """`pull --namespace company` when only company.team has flows: say so, instead of a
    silent "Pulled 0 flow(s)". ``known``: the tenant's namespaces."""
    for namespace in empty:
        below = sorted(n for n in known if n.startswith(namespace + "."))
        if below:
            shown = ", ".join(below[:5]) + (f" and {len(below) - 5} more" if len(below) > 5 else "")
            echo_line(
                f"hint: namespace {namespace} has no flows of its own, but its children do "
                f"({shown}): add --include-children",
                err=True,
            )
        elif namespace not in known:
            echo_line(f"hint: namespace {namespace} has no flows on this server", err=True)


def _suggest_config(directory: Path, layout: str) -> None:
    """No kestra-sync.yml found: say how to get one, so the next validate enforces the layout
    the files were written in. pull writes nothing outside DIR, so it does not write it itself;
    `init` (run where the config belongs) detects this directory and layout."""
    echo_line(
        f"hint: no kestra-sync.yml: run `kestra-sync init` to write one (it finds "
        f"{directory.as_posix()}/ and the {layout} layout), so validate enforces the layout "
        "from now on",
        err=True,
    )
