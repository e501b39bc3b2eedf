"""Dashboards: a tenant's custom dashboards, one YAML document each, as Kestra stores them.

In git, the folder ``_dashboards/`` at the top of each flow directory (kestra-sync.yml
``dashboards_dir``), one ``*.yml``/``*.yaml`` per dashboard, any file name::

    id: operations            # the dashboard's id on the server
    title: Operations
    charts:
      - id: executions_per_day
        type: io.kestra.plugin.core.dashboard.chart.TimeSeries
        ...

A dashboard belongs to a tenant, not to a namespace: its ``FlowRef`` has the namespace ""
and the tenant's whole list is read once (a listing, then one GET per dashboard for its
source). The server keeps the YAML byte for byte (``AbstractJdbcDashboardRepository.save``
stores the body as ``source_code``), so, as for flows, the plan compares sources and shows a
diff of them, and pull writes back the exact text.

Offline checks follow Kestra's model (``Dashboard.java``, ``Chart.java``, develop 8ecd83370):
``id`` and ``title`` are required, a chart needs an ``id`` of letters, digits, ``_`` and ``-``
and a ``type``; a core chart type must be one the version has (``knowledge.DASHBOARD_CHART_TYPES``);
two charts with one id are refused (the chart-data endpoint serves only the first of them).
Dashboards are deployable by id from Kestra 1.0 on (``knowledge.DASHBOARD_IDS``).
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AlreadyExistsError, NotFoundError, PlanError
from ..models import ERROR, WARNING, Diagnostic, FlowRef
from ..rules import knowledge as K
from ..rules.validate import DASHBOARD_NEEDS_IDS
from ..source.flowscan import MAX_CODE_POINTS, MAX_READ_BYTES
from ..source.ignorefile import IgnoreRules
from ..source.walk import DASHBOARDS_DIR, FLOW_SUFFIXES, shown_path, walk_files
from ..source.yamlindex import parse_yaml
from .base import (
    TENANT_LEVEL,
    Described,
    KindBase,
    KindClient,
    KindUnsupported,
    LocalItem,
    LocalScan,
    RemoteItem,
    Written,
    not_regular_is_an_error,
    source_diff,
)

if TYPE_CHECKING:
    from ..models import Change
    from .pulling import Pulled, PullScope, PullTarget

KIND = "dashboard"
# The versioned finding (rules.validate.judge_resources judges it for the target version).
NEEDS_IDS = DASHBOARD_NEEDS_IDS
# kestra-sync's own rule: the id names the file pull writes and a URL path segment.
DASHBOARD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
CHART_ID = re.compile(K.DASHBOARD_CHART_ID)
# DashboardController.DASHBOARD_ID_PATTERN: a source with no line starting `id:` is served
# with `id: <id>` prepended (b3fa5ead6), so it would never read back as written.
ID_LINE = re.compile(r"^id:", re.MULTILINE)


def digest(source: str) -> str:
    return "sha256:" + hashlib.sha256(source.encode("utf-8")).hexdigest()


def dashboards_dir(settings: Any) -> str:
    return getattr(settings, "dashboards_dir", None) or DASHBOARDS_DIR


def _is_yaml(name: str) -> bool:
    return name.endswith(FLOW_SUFFIXES)


def _inside(path: Path, directory: Path) -> bool:
    real, root = os.path.realpath(path), os.path.realpath(directory)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _outside(path: Path, directory: Path) -> Diagnostic:
    """A dashboards folder, or a link in it, that leads outside the flow directory: never read
    (.kestraignore does not apply to the folder, so the walker's hint to add the link there
    would not help)."""
    return Diagnostic(
        shown_path(path),
        f"symbolic link to {shown_path(os.path.realpath(path))}, outside the flow directory "
        f"{shown_path(directory)}: kestra-sync only reads what the flow directory holds; move "
        "the dashboards inside it",
        ERROR,
        code="link-outside",
    )


class Dashboards(KindBase):
    name = KIND
    noun = "dashboard"
    level = TENANT_LEVEL  # `--target dashboard:ID`, one scope per tenant (namespace "")
    target_example = "operations"
    # Every tenant with a dashboards folder allows deletes (with --delete): never used.
    undeclared_note = "not in git"

    # -- git --------------------------------------------------------------------------------

    def scan(self, settings: Any) -> LocalScan:
        scan = LocalScan()
        folder_name = dashboards_dir(settings)
        for tenant, directory in settings.directories().items():
            folder = Path(directory) / folder_name
            if not folder.is_dir():
                continue
            if not _inside(folder, Path(directory)):
                scan.diagnostics.append(_outside(folder, Path(directory)))
                continue  # the tenant's dashboards are unknown: none is planned, none deleted
            # Every YAML in the folder is read (.kestraignore does not apply): a file skipped
            # would be a dashboard --delete removes from the server.
            files, problems = walk_files(
                folder,
                IgnoreRules(),
                wanted=_is_yaml,
                enter=lambda name: not name.startswith("."),
                boundary=Path(directory),
            )
            scan.diagnostics += [
                _outside(Path(problem.path), Path(directory))
                if problem.code == "link-outside"
                else not_regular_is_an_error(
                    problem,
                    "its dashboard is unknown; replace it with a regular file, or remove it",
                    "dashboard-not-a-file",
                )
                for problem in problems
            ]
            scan.namespaces.add((tenant, ""))
            for file in files:
                self._load(scan, tenant, file)
            if files:
                scan.diagnostics.append(
                    Diagnostic(
                        str(folder),
                        f"{len(files)} dashboard(s)",
                        WARNING,
                        code=NEEDS_IDS,
                        versioned=True,
                    )
                )
        return scan

    def _load(self, scan: LocalScan, tenant: str, file: Path) -> None:
        shown = str(file)

        def problem(message: str, line: int | None = None, severity: str = ERROR) -> None:
            scan.diagnostics.append(Diagnostic(shown, message, severity, line, None, "dashboard"))

        source = _read_source(file, problem)
        if source is None:
            return
        parsed = parse_yaml(source)
        errors = [p for p in parsed.problems if p.severity == "error" or p.code == "duplicate-key"]
        for p in errors:
            # The reader speaks of flows; its rules hold for a dashboard too.
            problem(
                f"invalid YAML: {p.message.replace('one flow per', 'one dashboard per')}", p.line
            )
        if errors:
            return
        dashboard_id = check_dashboard(parsed.data, source, problem, parsed.position)
        if dashboard_id is None:
            return
        ref = FlowRef(tenant, "", dashboard_id, KIND)
        other = next((i.path for i in scan.items if i.ref == ref), None)
        if other is not None:
            problem(f"dashboard id {dashboard_id!r} is also declared in {other}")
            return
        scan.items.append(LocalItem(ref, shown, source, digest(source)))

    # -- server -----------------------------------------------------------------------------

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        sources = client.tenant_dashboards()
        return [
            RemoteItem(FlowRef(tenant, "", dashboard_id, KIND), source, digest(source))
            for dashboard_id, source in sorted(sources.items())
        ]

    def write(self, client: KindClient, change: Change) -> Written:
        """A create that meets an existing id updates it, an update of one deleted since the
        plan creates it again: a re-run converges."""
        source, dashboard_id = change.payload, change.ref.id
        _same_id(source, dashboard_id)
        if change.action == "create":
            try:
                client.create_dashboard(source)
                return Written("created")
            except AlreadyExistsError:
                client.update_dashboard(dashboard_id, source)
                return Written("updated")
        try:
            client.update_dashboard(dashboard_id, source)
        except NotFoundError:
            client.create_dashboard(source)
            return Written("created")
        return Written("updated")

    def delete(self, client: KindClient, change: Change) -> Written:
        existed = client.delete_dashboard(change.ref.id)
        return Written("deleted" if existed else "already deleted")

    def pull_read(self, client: KindClient, scope: PullScope) -> list[RemoteItem]:
        """The tenant's dashboards (with `--all` or `--dashboards`). A server before 1.0 makes
        up their ids, so they cannot be deployed from git: not pulled (said once)."""
        if scope.version is not None and scope.version not in K.DASHBOARD_IDS.versions:
            raise KindUnsupported(
                f"skipped    dashboards: Kestra {scope.version} makes up their ids, so they "
                "cannot be deployed from git (Kestra 1.0 or later)"
            )
        return super().pull_read(client, scope)

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        """Each dashboard into the dashboards folder, its source byte for byte: one git
        already has is written over the file that declares it, a new one goes to `<id>.yml`."""
        from .pulling import Pulled, PullFile, PullGroup

        settings = target.settings
        sources = {item.ref.id: item.payload for item in items}
        existing = {i.ref.id: i.path for i in self.scan(settings).items}
        folder = target.directory / dashboards_dir(settings)
        paths, refused = dashboard_targets(sources, folder, target.directory, existing)
        group = PullGroup(lines=[f"refused    {line}" for line in refused], kept=len(refused))
        for dashboard_id, path in sorted(paths.items()):
            group.files.append(PullFile(path, sources[dashboard_id].encode("utf-8"), "dashboard"))
        group.summary = lambda written, unchanged, kept: (
            f"Pulled {len(sources)} dashboard(s) of tenant {settings.tenant}: {written} "
            f"written, {unchanged} unchanged, {kept} kept."
        )
        return Pulled([group])

    # -- reports ----------------------------------------------------------------------------

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described:
        if local is None:
            assert remote is not None
            return Described([f"dashboard {_title(remote.payload)}"])
        if remote is None:
            return Described([f"dashboard {_title(local.payload)}"])
        label = f"server dashboard {local.ref.id}"
        diff = source_diff(remote.payload, local.payload, label, local.path)
        if diff is None:
            return Described(["source changed (too large to show)"])
        if not diff:
            return Described(["line endings, trailing spaces or final newline changed"])
        return Described([], diff)

    # -- saved plan -------------------------------------------------------------------------

    def encode(self, payload: Any) -> Any:
        return payload

    def decode(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise ValueError("a dashboard's payload must be its YAML source")
        return data

    def payload_digest(self, payload: Any) -> str:
        return digest(payload)

    def file_bytes(self, payload: Any) -> bytes | None:
        """A dashboard's file is its YAML source, byte for byte."""
        return str(payload).encode("utf-8")


def _read_source(file: Path, problem: Any) -> str | None:
    """The file's text, or None after saying why it cannot be a dashboard: too large for
    Kestra's YAML reader (the limit flows have: it is not even read), not UTF-8 (where), or
    unreadable."""
    try:
        size = file.stat().st_size
        if size > MAX_READ_BYTES:
            problem(
                f"the file is too large ({size:,} bytes): Kestra's YAML reader refuses "
                f"documents over {MAX_CODE_POINTS:,} characters"
            )
            return None
        raw = file.read_bytes()
    except OSError as err:
        problem(f"cannot read the file: {err.strerror or err}")
        return None
    if raw.startswith(codecs.BOM_UTF8):
        problem(
            "the file starts with a UTF-8 byte order mark, which the server would keep as part "
            "of the dashboard's source (and its first line would not read `id:`): save the "
            "file as UTF-8 without BOM",
            1,
        )
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        problem(
            f"the file is not valid UTF-8 (byte 0x{raw[err.start]:02x} at offset {err.start}): "
            "Kestra reads dashboards as UTF-8; re-save the file as UTF-8",
            line,
        )
        return None


def _same_id(source: str, dashboard_id: str) -> None:
    """The server takes a created dashboard's id from its YAML: one that names another id than
    the change (a saved plan edited by hand) would create a dashboard nobody reviewed."""
    data = parse_yaml(source).data
    named = data.get("id") if isinstance(data, dict) else None
    if named != dashboard_id:
        raise PlanError(
            f"dashboard {dashboard_id}: its YAML names the id {named!r}: it is not sent",
            hint="make the plan again (kestra-sync plan --out ...) from git",
        )


def _title(source: str) -> str:
    data = parse_yaml(source).data
    title = data.get("title") if isinstance(data, dict) else None
    return repr(title) if isinstance(title, str) else "(no title)"


def check_dashboard(data: Any, source: str, problem: Any, position: Any) -> str | None:
    """The dashboard's id after checking it against Kestra's model, or None when it cannot be
    deployed (each problem said through ``problem(message, line, severity)``)."""
    if not isinstance(data, dict):
        problem("a dashboard must be a YAML mapping with `id`, `title` and `charts`")
        return None
    dashboard_id = data.get("id")
    line = position(("id",))[0] if "id" in data else None
    if dashboard_id is not None and not isinstance(dashboard_id, str):
        problem(
            f"the dashboard's `id` must be text, not {type(dashboard_id).__name__} "
            f"{dashboard_id!r}: quote it (`id: '{dashboard_id}'`), so that git and the "
            "server read the same id",
            line,
        )
        return None
    if not isinstance(dashboard_id, str) or not dashboard_id.strip():
        problem("the dashboard has no `id` (Kestra requires one: add `id: my-dashboard`)", line)
        return None
    if not DASHBOARD_ID.fullmatch(dashboard_id):
        problem(
            f"dashboard id {dashboard_id!r}: kestra-sync needs letters, digits, '.', '_' and "
            "'-' (the id names the file pull writes and the URL of the dashboard)",
            line,
        )
        return None
    if not ID_LINE.search(source):
        problem(
            "write the id as a plain top-level `id: ...` line at the start of a line: Kestra "
            "adds such a line to a source that has none when it is read back",
            line,
        )
        return None
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        problem("the dashboard has no `title` (Kestra requires one)", line)
    for key in sorted(set(map(str, data)) - set(K.DASHBOARD_KEYS)):
        problem(
            f"`{key}` is not a dashboard key ({', '.join(K.DASHBOARD_KEYS)})",
            position((key,))[0],
            WARNING,
        )
    ok = isinstance(title, str) and bool(title.strip())
    return dashboard_id if _check_charts(data.get("charts"), problem, position) and ok else None


def _check_charts(charts: Any, problem: Any, position: Any) -> bool:
    if charts is None:
        return True
    if not isinstance(charts, list):
        problem("`charts` must be a list of charts", position(("charts",))[0])
        return False
    ok, seen = True, dict[str, int]()
    for index, chart in enumerate(charts):
        line = position(("charts", index))[0]
        if not isinstance(chart, dict):
            problem(f"charts[{index}] must be a mapping with `id` and `type`", line)
            ok = False
            continue
        chart_id, chart_type = chart.get("id"), chart.get("type")
        if not isinstance(chart_id, str) or not CHART_ID.fullmatch(chart_id):
            problem(
                f"charts[{index}]: the chart id {chart_id!r} must be letters, digits, '_' and "
                "'-', starting with a letter or digit (Kestra's Chart.id)",
                line,
            )
            ok = False
        elif chart_id in seen:
            problem(
                f"chart id {chart_id!r} is used twice (first at charts[{seen[chart_id]}]): "
                "Kestra serves the data of the first only; give each chart its own id",
                line,
            )
            ok = False
        else:
            seen[chart_id] = index
        ok = _check_chart_type(index, chart_type, problem, line) and ok
    return ok


def _check_chart_type(index: int, chart_type: Any, problem: Any, line: int | None) -> bool:
    if not isinstance(chart_type, str) or not chart_type:
        problem(f"charts[{index}] has no `type`", line)
        return False
    package = K.DASHBOARD_CHART_PACKAGE
    known = ", ".join(sorted(K.DASHBOARD_CHART_TYPES))
    if chart_type.startswith(package):
        if chart_type[len(package) :] in K.DASHBOARD_CHART_TYPES:
            return True
        problem(f"charts[{index}]: Kestra has no chart type {chart_type!r} ({known})", line)
        return False
    if "." not in chart_type:
        problem(
            f"charts[{index}]: the type must be a full class name, e.g. {package}"
            f"{chart_type if chart_type in K.DASHBOARD_CHART_TYPES else 'TimeSeries'}",
            line,
        )
        return False
    problem(
        f"charts[{index}]: {chart_type} is not one of Kestra's core charts: a plugin's chart, "
        "not checked offline (the server checks it)",
        line,
        WARNING,
    )
    return True


def dashboard_targets(
    sources: dict[str, str], folder: Path, directory: Path, existing: dict[str, str]
) -> tuple[dict[str, Path], list[str]]:
    """`pull`: (id -> the file each dashboard goes to, refusals). ``existing``: id -> the local
    file that declares it now (the dashboards scan). An id that cannot name a file is refused,
    as is one whose file differs only in case from another's, or leads out of ``directory``."""
    from ..source.confine import inside

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
