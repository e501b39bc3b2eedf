"""`pull` for dashboards: write each of the tenant's dashboards into the dashboards folder
(`_dashboards/` at the top of the flow directory), its source byte for byte, so that a `plan`
right after shows it unchanged. A dashboard git already has is written over the file that
declares it (when --overwrite allows); a new one goes to `<id>.yml`. An id that cannot name a
file is refused, and nothing is written outside the flow directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..kinds.dashboards import DASHBOARD_ID
from .flows import DIFFERS, SAME, inside, local_state, write_exact_or_stop


@dataclass
class DashboardsPullResult:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one line each: the id and why


def dashboard_targets(
    sources: dict[str, str], folder: Path, directory: Path, existing: dict[str, str]
) -> tuple[dict[str, Path], list[str]]:
    """(id -> the file each dashboard goes to, refusals). ``existing``: id -> the local file
    that declares it now (the dashboards scan)."""
    targets, refused = {}, []
    taken = {str(Path(p)).casefold(): i for i, p in existing.items()}
    for dashboard_id in sorted(sources):
        if dashboard_id in existing:
            target = Path(existing[dashboard_id])
        elif DASHBOARD_ID.fullmatch(dashboard_id):
            target = folder / f"{dashboard_id}.yml"
            other = taken.setdefault(str(target).casefold(), dashboard_id)
            if other != dashboard_id:
                # One file on macOS and Windows: the second would overwrite the first.
                refused.append(
                    f"dashboard {dashboard_id}: its file {target.name} differs only in case "
                    f"from that of {other!r}; rename one of them on the server, then pull again"
                )
                continue
        else:
            refused.append(
                f"dashboard {dashboard_id!r}: the id cannot name a file (letters, digits, '.', "
                "'_' and '-'); rename it on the server, then pull again"
            )
            continue
        if not inside(target, directory):
            refused.append(
                f"dashboard {dashboard_id}: {target} leads outside {directory} "
                "(a symbolic link on the way)"
            )
            continue
        targets[dashboard_id] = target
    return targets, refused


def write_dashboards(
    sources: dict[str, str], targets: dict[str, Path], *, overwrite: bool = False
) -> DashboardsPullResult:
    result = DashboardsPullResult()
    for dashboard_id, target in sorted(targets.items()):
        content = sources[dashboard_id].encode("utf-8")
        state = local_state(target, content.__eq__)
        if state == SAME:
            result.unchanged.append(target)
        elif state == DIFFERS and not overwrite:
            result.conflicts.append(target)
        else:
            write_exact_or_stop(target, content, result.written)
    return result
