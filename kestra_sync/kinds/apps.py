"""Apps (Kestra Enterprise): the forms and pages Kestra builds over a flow, one YAML document
each, kept in the namespace folder's ``_apps/`` (``flows/company/team/_apps/request.yml``).

The model (docs/enterprise-kinds.md, from Kestra's app plugin reference): ``id`` (letters,
digits, ``_`` and ``-``), ``namespace``, ``type`` (``io.kestra.plugin.ee.apps.Execution``...),
``displayName``; an Execution app also names the ``flowId`` it runs. The scan checks those
offline, and that ``namespace:`` is the namespace of the folder the app is kept in.

The server keeps the source as sent (``ApiAppSource.source``): apps are compared by the SHA-256
of their text and a change shows a diff, as namespace files; pull writes the source back byte
for byte. The server names an app by a ``uid`` of its own, looked up by ``id`` in the
namespace's listing when an app is written or deleted (the plan compares by ``id``).
Server apps git does not declare are deleted only with ``--delete`` (the rules of every kind).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..models import ERROR, Diagnostic, FlowRef
from ..source.ignorefile import IGNORE_FILE, IgnoreRules
from ..source.walk import APPS_DIR, FLOW_SUFFIXES, is_files_dir, walk_files
from .base import (
    Described,
    KindBase,
    KindClient,
    LocalItem,
    LocalScan,
    RemoteItem,
    Written,
    bad_namespace,
    not_regular_is_an_error,
    source_diff,
)
from .yamlfile import folder_namespace, line_of, read_yaml

if TYPE_CHECKING:
    from ..models import Change
    from .pulling import Pulled, PullScope, PullTarget

KIND = "app"
APP_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]*")  # the app plugins' `id` pattern
FLOW_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")
EXECUTION_APP = "io.kestra.plugin.ee.apps.Execution"
DISPLAY_NAME_MAX = 150


def digest(source: str) -> str:
    return "sha256:" + hashlib.sha256(source.encode("utf-8")).hexdigest()


def _enter(name: str) -> bool:
    return not name.startswith(".") and not is_files_dir(name)


def _is_yaml(name: str) -> bool:
    return name.endswith(FLOW_SUFFIXES)


def check_app(data: Any, folder_ns: str) -> list[tuple[str, tuple]]:
    """What the app model refuses in ``data``: (message, key path for the line)."""
    if not isinstance(data, dict):
        return [("an app must be a YAML mapping with id, namespace, type and displayName", ())]
    out: list[tuple[str, tuple]] = []
    for key in ("id", "namespace", "type", "displayName"):
        if not isinstance(data.get(key), str) or not data[key]:
            out.append((f"`{key}` is required (text)", (key,)))
    app_id, namespace = data.get("id"), data.get("namespace")
    if isinstance(app_id, str) and app_id and not APP_ID.fullmatch(app_id):
        out.append((f"id {app_id!r}: an app id holds letters, digits, '_' and '-'", ("id",)))
    if isinstance(namespace, str) and namespace:
        why = bad_namespace(namespace)
        if why:
            out.append((why, ("namespace",)))
        elif folder_ns and namespace != folder_ns:
            out.append(
                (
                    f"namespace {namespace!r} is not {folder_ns!r}, the namespace of the folder "
                    "the app is kept in: move the file or fix `namespace:`",
                    ("namespace",),
                )
            )
    name = data.get("displayName")
    if isinstance(name, str) and len(name) > DISPLAY_NAME_MAX:
        out.append((f"displayName is longer than {DISPLAY_NAME_MAX} characters", ("displayName",)))
    if data.get("type") == EXECUTION_APP:
        flow_id = data.get("flowId")
        if not isinstance(flow_id, str) or not FLOW_ID.fullmatch(flow_id):
            out.append(("an Execution app needs `flowId`, the id of the flow it runs", ("flowId",)))
    return out


class Apps(KindBase):
    name = KIND
    noun = "app"
    target_example = "company.team/request"
    write_phase = 2  # an app runs a flow: written once the namespace's flows are
    retired_with_namespace = False  # Enterprise: an OSS server cannot list it

    @staticmethod
    def map_sources(scan: LocalScan, mapping: dict[str, str], map_source: Any) -> list:
        """For an environment's namespace_map (source.environments): an app names its
        namespace in its source, as a flow does, and is deployed where that says."""
        problems = []
        for item in scan.items:
            source, why = map_source(item.payload, mapping)
            if why:
                problems.append(Diagnostic(item.path, why, ERROR, code="app-namespace-map"))
            else:
                item.payload, item.digest = source, digest(source)
        return problems

    # -- git --------------------------------------------------------------------------------

    def scan(self, settings: Any) -> LocalScan:
        scan = LocalScan()
        for tenant, directory in settings.directories().items():
            directory = Path(directory)
            if not directory.is_dir():
                continue
            ignore = IgnoreRules.load(directory / IGNORE_FILE)
            files, problems = walk_files(directory, ignore, wanted=_is_yaml, enter=_enter)
            for problem in problems:
                # Outside `_apps/` the flow scan walks the same folders and says it.
                if APPS_DIR in Path(problem.path).parts:
                    scan.diagnostics.append(
                        not_regular_is_an_error(
                            problem,
                            "the app is unknown; replace it with a regular file, or remove it",
                            "app-not-a-file",
                        )
                    )
            for file in files:
                if APPS_DIR in file.relative_to(directory).parts[:-1]:
                    self._load(scan, tenant, directory, file)
        return scan

    def _load(self, scan: LocalScan, tenant: str, root: Path, file: Path) -> None:
        shown = str(file)

        def problem(message: str, line: int | None = None, code: str = "app-invalid") -> None:
            scan.diagnostics.append(Diagnostic(shown, message, ERROR, line, None, code))

        if file.parent.name != APPS_DIR:
            problem(f"apps are kept directly in a namespace's {APPS_DIR}/ folder, not below it")
            return
        read = read_yaml(file, problem)
        if read is None:
            return
        text, parsed = read
        folder_ns = folder_namespace(root, file.parent.parent)
        found = check_app(parsed.data, folder_ns)
        for message, path in found:
            problem(message, line_of(parsed, *path) if path else None)
        if found:
            return
        ref = FlowRef(tenant, parsed.data["namespace"], parsed.data["id"], KIND)
        other = next((i.path for i in scan.items if i.ref == ref), None)
        if other is not None:
            problem(f"app {ref.id!r} of {ref.namespace} is also declared in {other}")
            return
        scan.namespaces.add((tenant, ref.namespace))
        scan.items.append(LocalItem(ref, shown, text, digest(text)))

    # -- server -----------------------------------------------------------------------------

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        """The listing, then one GET per app (the listing carries no source)."""
        client.require_enterprise("apps")
        items = []
        for app in client.list_apps(namespace):
            app_id = app.get("id")
            if not isinstance(app_id, str):
                continue
            source = client.get_app_source(app["uid"])
            if source is not None:
                ref = FlowRef(tenant, namespace, app_id, KIND)
                items.append(RemoteItem(ref, source, digest(source)))
        return sorted(items, key=lambda i: i.ref)

    def write(self, client: KindClient, change: Change) -> Written:
        source = change.payload
        uid = client.app_uid(change.ref.namespace, change.ref.id)
        if uid is not None:
            try:
                client.update_app(uid, source)
                return Written("updated")
            except NotFoundError:  # deleted since it was listed: create it again
                pass
        client.create_app(source)
        return Written("created")

    def delete(self, client: KindClient, change: Change) -> Written:
        uid = client.app_uid(change.ref.namespace, change.ref.id)
        if uid is None or not client.delete_app(uid):
            return Written("already deleted")
        return Written("deleted")

    def pull_read(self, client: KindClient, scope: PullScope) -> list[RemoteItem]:
        from .namespaces import enterprise_for_pull

        enterprise_for_pull(client)
        return super().pull_read(client, scope)

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        """Each app into its namespace's `_apps/<id>.yml`, byte for byte; an app git already
        holds is written where it is."""
        from .pulling import Pulled, PullFile, PullGroup

        local = {i.ref: Path(i.path) for i in self.scan(target.settings).items}
        pulled, group = Pulled(), PullGroup()
        for item in sorted(items, key=lambda i: i.ref):
            namespace, app_id = item.ref.namespace, item.ref.id
            if not APP_ID.fullmatch(app_id):
                pulled.refused.append(
                    f"{namespace} app {app_id!r}: not an app id Kestra accepts, so no file name"
                )
                continue
            ref = FlowRef(target.settings.tenant, namespace, app_id, KIND)
            path = local.get(ref) or target.folder(namespace) / APPS_DIR / f"{app_id}.yml"
            group.files.append(PullFile(path, item.payload.encode("utf-8"), f"{namespace} app"))
        pulled.groups.append(group)
        return pulled

    # -- reports ----------------------------------------------------------------------------

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described:
        if local is None:
            assert remote is not None
            return Described([f"{len(remote.payload.splitlines())} lines"])
        new: str = local.payload
        if remote is None:
            return Described([f"{len(new.splitlines())} lines"])
        label = f"server {local.ref.namespace} app {local.ref.id}"
        text = source_diff(remote.payload, new, label, local.path)
        if text is None:
            return Described(["source changed (too large to show a diff)"])
        return Described([], text) if text else Described(["line endings or final newline"])

    # -- saved plan -------------------------------------------------------------------------

    def encode(self, payload: Any) -> Any:
        return payload

    def decode(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise ValueError("an app's payload must be its YAML source")
        return data

    def payload_digest(self, payload: Any) -> str:
        return digest(payload)

    def file_bytes(self, payload: Any) -> bytes | None:
        """An app's file is its YAML source, byte for byte (pull --branch writes it back)."""
        return str(payload).encode("utf-8")
