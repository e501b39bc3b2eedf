"""Namespaces that left git: which part of the server's namespaces is the repository's
(its roots), and the command that removes the ones git no longer has."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from ..kinds.base import LocalScan
from ..models import LocalFlow


def repository_roots(
    local: Iterable[LocalFlow], scans: dict[str, LocalScan], managed: dict[str, list[str]]
) -> dict[str, set[str]]:
    """tenant -> the first segments of every namespace git holds something for (flows, files,
    KV) or that is managed: `company` for `company.growth`. A namespace under a root that git
    has no folder for is the repository's leftover (`company.marketing` after a rename); one
    under another root (`system`, another team's) is not this repository's to name."""
    roots: dict[str, set[str]] = {}

    def add(tenant: str, namespace: str) -> None:
        roots.setdefault(tenant, set()).add(namespace.split(".", 1)[0])

    for flow in local:
        if flow.namespace:
            add(flow.tenant, flow.namespace)
    for scan in scans.values():
        for tenant, namespace in scan.namespaces:
            if namespace:  # not a tenant's own resources (dashboards)
                add(tenant, namespace)
    for tenant, names in managed.items():
        for namespace in names:
            add(tenant, namespace)
    return roots


def under_roots(namespace: str, roots: set[str]) -> bool:
    return namespace.split(".", 1)[0] in roots


def retire_command(
    namespaces: list[str], tenant: str, *, environment: str | None, many_tenants: bool
) -> str:
    """The command that plans the removal of ``namespaces`` (their flows, files and KV
    pairs), every guard still applied: --delete (deletion is opt-in), each --namespace (a
    namespace git has no folder for is otherwise never read), --allow-empty-namespace (it
    has no flow left in git). --env and --tenant when the plan was made with several, so it
    reaches the same server and never another tenant's namespace of the same name. Each name
    is quoted for a POSIX shell (it comes from the server)."""
    words = ["kestra-sync", "plan"]
    if environment:
        words += ["--env", shlex.quote(environment)]
    if many_tenants or tenant != "main":
        words += ["--tenant", shlex.quote(tenant)]
    words.append("--delete")
    for namespace in namespaces:
        words += ["--namespace", shlex.quote(namespace)]
    words.append("--allow-empty-namespace")
    return " ".join(words)
