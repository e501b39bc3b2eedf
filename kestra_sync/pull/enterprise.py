"""`pull` for the Enterprise kinds: a namespace's apps into its `_apps/` folder, byte for byte
(an app git already holds is written where it is), and its settings and secret keys into its
`namespace.yml`, so that a `plan` right after shows none of them as changed.

A secret's value cannot be read from a server: namespace.yml lists each key with the
environment variable a later apply would read it from (the key, upper-cased), and since the
server has the key the plan leaves it as it is ("set") until `resend: always` says otherwise.
As everywhere in pull, a local file that differs is kept unless ``overwrite``, and nothing is
written outside the directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..client.enterprise import EnterpriseOnlyError
from ..errors import KestraSyncError
from ..kinds.apps import APP_ID, Apps
from ..kinds.namespaces import NamespaceSecrets, NamespaceSettings, from_server, is_credential
from ..kinds.namespaces import digest as settings_digest
from ..models import FlowRef
from ..rules.validate import expected_layout_path
from ..source.walk import APPS_DIR, NAMESPACE_FILE_NAMES
from .flows import DIFFERS, SAME, inside, local_state, write_exact_or_stop


@dataclass
class EnterpriseState:
    """What the server holds of the Enterprise kinds in one namespace."""

    namespace: str
    apps: dict[str, str] = field(default_factory=dict)  # app id -> source
    settings: dict = field(default_factory=dict)
    secret_keys: list[str] = field(default_factory=list)


def read_enterprise(client: Any, namespaces: list[str]) -> list[EnterpriseState] | None:
    """Every namespace's apps, settings and secret keys; None unless the server says it is
    Kestra Enterprise (an OSS server, or one whose configuration cannot be read: pull then
    writes what the other kinds hold, as before)."""
    try:
        if client.server_edition() != "EE":
            return None
    except KestraSyncError:
        return None
    try:
        return [_read_one(client, namespace) for namespace in sorted(namespaces)]
    except EnterpriseOnlyError:  # a server that does not say its edition, without the API
        return None


def _read_one(client: Any, namespace: str) -> EnterpriseState:
    state = EnterpriseState(namespace)
    for app in client.list_apps(namespace):
        source = client.get_app_source(app["uid"])
        if isinstance(app.get("id"), str) and source is not None:
            state.apps[app["id"]] = source
    state.settings = from_server(client.get_namespace(namespace))
    state.secret_keys = client.secret_keys(namespace)
    return state


def refused_enterprise(states: list[EnterpriseState]) -> list[str]:
    """Server entries pull may not write (an app id that is no file name)."""
    return [
        f"{s.namespace} app {app_id!r}: not an app id Kestra accepts, so no file name"
        for s in states
        for app_id in sorted(s.apps)
        if not APP_ID.fullmatch(app_id)
    ]


def _folder(directory: Path, namespace: str, layout: str) -> Path:
    return directory / Path(expected_layout_path(namespace, "x", layout)).parent


def env_name(key: str) -> str:
    """The environment variable namespace.yml names for a pulled secret key."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", key).upper()
    name = name if not name[:1].isdigit() else "_" + name
    # A key named like the deploy's own credentials (GITHUB_TOKEN is a common secret) cannot
    # be set from that variable (kinds.namespaces.is_credential): another name is proposed.
    return "SECRET_" + name if is_credential(name) else name


def namespace_yml(state: EnterpriseState) -> str:
    text = f"# Settings of namespace {state.namespace}, pulled from the server by kestra-sync.\n"
    body: dict[str, Any] = dict(state.settings)
    if state.secret_keys:
        text += (
            "# Secret values are never pulled (a server cannot give them back): each key names\n"
            "# the environment variable an apply reads its value from when it must be sent.\n"
        )
        body["secrets"] = [{"key": k, "env": env_name(k)} for k in state.secret_keys]
    return text + (yaml.safe_dump(body, sort_keys=False, allow_unicode=True) if body else "")


@dataclass
class Written:
    lines: list[tuple[str, Path, str]] = field(default_factory=list)  # (status, path, what)
    kept: int = 0


def write_enterprise(
    states: list[EnterpriseState], settings: Any, layout: str, overwrite: bool
) -> Written:
    out = Written()
    local_apps = {i.ref: Path(i.path) for i in Apps().scan(settings).items}
    local_settings = {i.ref.namespace: i for i in NamespaceSettings().scan(settings).items}
    local_secrets = {i.ref for i in NamespaceSecrets().scan(settings).items}
    directory, tenant = settings.directory, settings.tenant
    for state in states:
        folder = _folder(directory, state.namespace, layout)
        for app_id, source in sorted(state.apps.items()):
            ref = FlowRef(tenant, state.namespace, app_id, "app")
            path = local_apps.get(ref) or folder / APPS_DIR / f"{app_id}.yml"
            data = source.encode("utf-8")
            _write(out, path, data, data.__eq__, f"{state.namespace} app", directory, overwrite)
        if not (state.settings or state.secret_keys):
            continue
        found = [folder / n for n in NAMESPACE_FILE_NAMES if (folder / n).exists()]
        path = found[0] if found else folder / NAMESPACE_FILE_NAMES[0]
        local = local_settings.get(state.namespace)
        keys = {FlowRef(tenant, state.namespace, k, "secret") for k in state.secret_keys}
        # The file in git says the same: same settings, the same secret keys named.
        same = (local.digest if local else settings_digest({})) == settings_digest(
            state.settings
        ) and {r for r in local_secrets if r.namespace == state.namespace} == keys
        text = namespace_yml(state).encode("utf-8")
        _write(
            out,
            path,
            text,
            lambda raw, s=same: s,
            f"{state.namespace} settings",
            directory,
            overwrite,
        )
    return out


def _write(
    out: Written, path: Path, data: bytes, same: Any, what: str, directory: Path, overwrite: bool
) -> None:
    if not inside(path, directory):
        out.lines.append(("refused", path, f"{what}: a symbolic link leads outside {directory}"))
        out.kept += 1
        return
    state = local_state(path, same)
    if state == SAME:
        out.lines.append(("unchanged", path, what))
    elif state == DIFFERS and not overwrite:
        out.lines.append(("conflict", path, f"{what}: differs from the server; kept"))
        out.kept += 1
    else:
        written: list[Path] = []
        write_exact_or_stop(path, data, written)
        out.lines.append(("wrote", path, what))
