"""Namespace settings and namespace secrets (Kestra Enterprise), from a ``namespace.yml`` in the
namespace's folder (or anywhere, with ``namespace:``)::

    description: Orders team
    variables: {region: eu-west-1}
    allowedNamespaces: [company.billing]       # who may call this namespace's flows
    pluginDefaults:                            # before Kestra 2.0
      - {type: io.kestra.plugin.core.log.Log, values: {level: INFO}}
    workerGroup: {key: gpu}                    # before Kestra 2.0
    defaultWorkerSelector: {tags: [gpu]}       # Kestra 2.0
    secrets:                                   # never values: where each comes from
      - {key: DB_PASSWORD, env: ORDERS_DB_PASSWORD}
      - {key: API_TOKEN, env: ORDERS_API_TOKEN, resend: always}

Two kinds read the file (docs/enterprise-kinds.md):

- ``NamespaceSettings`` (kind ``namespace``, one item per namespace, id ``settings``): the file
  describes those settings whole, as a flow file describes its flow: a setting it leaves out is
  emptied on the server. Settings Kestra keeps beside them (storage and secret back-ends,
  isolation, quotas) are never touched: a write reads the namespace and replaces only these.
- ``NamespaceSecrets`` (kind ``secret``, one item per key): git names the key and the
  environment variable holding its value (a CI secret); the value is read from the environment
  only when it is sent, and is never shown, saved in a plan or logged. A server cannot give a
  secret back, so a change of value cannot be seen: a key the server lacks "will be set"; a key
  it has is "set" and left as it is, unless the entry says ``resend: always`` (then every apply
  sends it again, and every plan says so). A secret on the server that git does not name is
  listed and kept: kestra-sync never deletes a secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from ..errors import InputError, UnsupportedByServer
from ..models import ERROR, Diagnostic, FlowRef
from ..rules import knowledge as K
from ..source.ignorefile import IGNORE_FILE, IgnoreRules
from ..source.walk import NAMESPACE_FILE_NAMES, enters_flow_dir, walk_files
from .base import (
    Described,
    KindBase,
    KindClient,
    KindUnsupported,
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

SETTINGS = "namespace"
SECRET = "secret"
SETTINGS_ID = "settings"
FIELDS = (
    "description",
    "variables",
    "allowedNamespaces",
    "pluginDefaults",
    "workerGroup",
    "defaultWorkerSelector",
)
TOP_KEYS = ("namespace", "secrets", *FIELDS)
SECRET_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SHAPES: dict[str, type] = {
    "description": str,
    "variables": dict,
    "allowedNamespaces": list,
    "pluginDefaults": list,
    "workerGroup": dict,
    "defaultWorkerSelector": dict,
}
# kestra-sync's connection (settings.config), the Action's inputs and GitHub's own tokens.
CREDENTIAL_VARIABLES = frozenset(
    {
        "KESTRA_URL",
        "KESTRA_USERNAME",
        "KESTRA_PASSWORD",
        "KESTRA_API_TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
    }
)
CREDENTIAL_PREFIXES = ("INPUT_", "ACTIONS_", "KESTRA_SYNC_")
PRESENT = "present"  # the digest of a secret the server has (its value is never read)
RESEND = "resend"  # the digest of a secret declared `resend: always`: never equal to PRESENT


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(settings: dict) -> str:
    return "sha256:" + hashlib.sha256(canonical(settings).encode("utf-8")).hexdigest()


def _unknown_for_version(version: str | None) -> dict[str, str]:
    """Settings the target Kestra version does not keep, with why (none when it is unknown).
    ``version`` as pinned ("1.3.2", "v2.0"): judged by the table row it follows."""
    row = K.supported_version(str(version)) if version else None
    if row is None:
        return {}
    if row in K.NAMESPACE_PLUGIN_DEFAULTS.versions:
        return {"defaultWorkerSelector": f"Kestra {row} has no defaultWorkerSelector"}
    why = f"Kestra {row} keeps no {{}} on a namespace (use defaultWorkerSelector)"
    return {f: why.format(f) for f in ("pluginDefaults", "workerGroup")}


def from_server(namespace: dict | None) -> dict:
    """The settings a server's ``Namespace`` holds, as namespace.yml writes them (empty ones
    left out; allowedNamespaces as plain names)."""
    out: dict[str, Any] = {}
    for field in FIELDS:
        value = (namespace or {}).get(field)
        if field == "allowedNamespaces" and isinstance(value, list):
            value = [a.get("namespace") if isinstance(a, dict) else a for a in value]
        if value not in (None, "", [], {}):
            out[field] = value
    return out


def to_server(current: dict | None, namespace: str, settings: dict) -> dict:
    """The ``Namespace`` to PUT: what the server keeps, with these settings replaced."""
    body = dict(current or {"id": namespace, "deleted": False})
    for field in FIELDS:
        body.pop(field, None)
    for field, value in settings.items():
        if field == "allowedNamespaces":
            value = [{"namespace": n} for n in value]
        body[field] = value
    return body


@dataclass
class NamespaceFile:
    """One namespace.yml, read and checked."""

    file: Path
    namespace: str
    settings: dict
    secrets: list[dict]  # {key, env, resend}
    declares_settings: bool  # a file with only `secrets:` leaves the settings alone


class _Reader:
    """Reads one namespace.yml (``result``: a NamespaceFile, or None after the problems)."""

    def __init__(self, file: Path, root: Path, version: str | None, problem: Any):
        self.file, self.problem = file, problem
        self.result: NamespaceFile | None = None
        read = read_yaml(file, problem)
        if read is None:
            return
        self.parsed = read[1]
        data = {} if self.parsed.data is None else self.parsed.data
        if not isinstance(data, dict):
            problem("namespace.yml must be a mapping (description, variables, secrets...)")
            return
        unknown = sorted(str(k) for k in set(data) - set(TOP_KEYS))
        if unknown:
            problem(
                f"unknown key(s) {', '.join(unknown)}: namespace.yml takes {', '.join(TOP_KEYS)} "
                "(a flow named namespace.yml must be renamed)",
                line_of(self.parsed, unknown[0]),
            )
            return
        namespace = self._namespace(data, root)
        settings = self._settings(data, version)
        secrets = self._secrets(data.get("secrets"))
        if namespace is not None and settings is not None and secrets is not None:
            declares = any(field in data for field in FIELDS)
            self.result = NamespaceFile(file, namespace, settings, secrets, declares)

    def _namespace(self, data: dict, root: Path) -> str | None:
        namespace = data.get("namespace") or folder_namespace(root, self.file.parent)
        why = bad_namespace(namespace) if isinstance(namespace, str) and namespace else None
        if not isinstance(namespace, str) or not namespace or why:
            self.problem(
                f"{why or 'no namespace'}: put namespace.yml in the namespace's folder or add "
                "`namespace:`"
            )
            return None
        return namespace

    def _settings(self, data: dict, version: str | None) -> dict | None:
        out: dict[str, Any] = {}
        failed = False
        refused = _unknown_for_version(version)
        for field in FIELDS:
            if data.get(field) in (None, "", [], {}):
                continue
            value: Any = data[field]
            line = line_of(self.parsed, field)
            if not isinstance(value, SHAPES[field]):
                self.problem(f"`{field}` must be a {SHAPES[field].__name__}", line)
                failed = True
            elif field in refused:
                self.problem(refused[field], line)
                failed = True
            elif field == "allowedNamespaces" and not all(
                isinstance(n, str) and not bad_namespace(n) for n in cast(list, value)
            ):
                self.problem("`allowedNamespaces` must list namespace names", line)
                failed = True
            elif field == "pluginDefaults" and not all(
                isinstance(d, dict) and isinstance(d.get("type"), str) for d in cast(list, value)
            ):
                self.problem("each plugin default needs a `type`", line)
                failed = True
            else:
                out[field] = value
        try:
            canonical(out)
        except (TypeError, ValueError):
            self.problem("the settings hold a value JSON cannot carry (a YAML tag?)")
            failed = True
        return None if failed else out

    def _secrets(self, raw: Any) -> list[dict] | None:
        if raw is None:
            return []
        line = line_of(self.parsed, "secrets")
        if not isinstance(raw, list):
            self.problem("`secrets` must be a list of {key, env}", line)
            return None
        out: list[dict] = []
        for index, entry in enumerate(raw):
            line = line_of(self.parsed, "secrets", index)
            if isinstance(entry, dict) and "value" in entry:
                self.problem(
                    "a secret's value is never kept in git: name the environment variable "
                    "that holds it with `env:` (a CI secret)",
                    line,
                    "secret-in-git",
                )
                return None
            why = _secret_entry_problem(entry, {e["key"] for e in out})
            if why:
                self.problem(why, line)
                return None
            out.append(
                {
                    "key": entry["key"],
                    "env": entry["env"],
                    "resend": entry.get("resend") == "always",
                }
            )
        return out


def _secret_entry_problem(entry: Any, seen: set[str]) -> str | None:
    if not isinstance(entry, dict) or set(entry) - {"key", "env", "resend"}:
        return "each secret is {key: NAME, env: ENVIRONMENT_VARIABLE} (and optionally resend)"
    key, env = entry.get("key"), entry.get("env")
    if not isinstance(key, str) or not SECRET_KEY.fullmatch(key):
        return f"secret key {key!r}: letters, digits, '_', '.' and '-'"
    if key in seen:
        return f"secret {key!r} is listed twice"
    if not isinstance(env, str) or not ENV_NAME.fullmatch(env):
        return f"secret {key!r}: `env` must name an environment variable, e.g. DB_PASSWORD"
    if is_credential(env):
        return (
            f"secret {key!r}: ${env} holds the credentials kestra-sync or the CI runs with; "
            "a namespace secret (readable by the namespace's flows) is never set from it"
        )
    if entry.get("resend", "missing") not in ("missing", "always"):
        return f"secret {key!r}: `resend` is `missing` (the default) or `always`"
    return None


def is_credential(env: str) -> bool:
    """Whether ``env`` is one of the variables the deploy itself runs with: sending it as a
    namespace secret would hand the deploy's credentials to the namespace's flows (a
    namespace.yml in a pull request, or a saved plan edited by hand, could name it)."""
    return env.upper() in CREDENTIAL_VARIABLES or env.upper().startswith(CREDENTIAL_PREFIXES)


def _is_namespace_file(name: str) -> bool:
    return name in NAMESPACE_FILE_NAMES


def scan_files(settings: Any) -> tuple[list[tuple[str, NamespaceFile]], list[Diagnostic]]:
    """Every namespace.yml of every tenant's flow directory, read and checked once."""
    found: list[tuple[str, NamespaceFile]] = []
    problems: list[Diagnostic] = []
    version = getattr(settings, "kestra_version", None)
    for tenant, directory in settings.directories().items():
        directory = Path(directory)
        if not directory.is_dir():
            continue
        ignore = IgnoreRules.load(directory / IGNORE_FILE)
        files, walked = walk_files(
            directory, ignore, wanted=_is_namespace_file, enter=enters_flow_dir
        )
        for problem in walked:
            problems.append(
                not_regular_is_an_error(
                    problem, "its settings are unknown; replace it with a regular file", "ns-file"
                )
            )
        for file in files:
            _add_file(found, problems, tenant, directory, file, version)
    return found, problems


def _add_file(
    found: list[tuple[str, NamespaceFile]],
    problems: list[Diagnostic],
    tenant: str,
    directory: Path,
    file: Path,
    version: str | None,
) -> None:
    def problem(message: str, line: int | None = None, code: str = "ns-invalid") -> None:
        problems.append(Diagnostic(str(file), message, ERROR, line, None, code))

    read = _Reader(file, directory, version, problem).result
    if read is None:
        return
    other = next((f for t, f in found if (t, f.namespace) == (tenant, read.namespace)), None)
    if other is not None:
        problem(f"namespace {read.namespace} is also described by {other.file}")
    else:
        found.append((tenant, read))


class NamespaceSettings(KindBase):
    name = SETTINGS
    noun = "namespace setting"
    target_word = SETTINGS_ID  # `--target namespace:company.team/settings`
    target_example = f"company.team/{SETTINGS_ID}"
    undeclared_note = "kept"  # never happens: one item per namespace.yml
    retired_with_namespace = False  # Enterprise: an OSS server cannot list it

    def scan(self, settings: Any) -> LocalScan:
        files, problems = scan_files(settings)
        scan = LocalScan(diagnostics=problems, deletable=set())
        for tenant, read in files:
            if not read.declares_settings:
                continue
            scan.namespaces.add((tenant, read.namespace))
            ref = FlowRef(tenant, read.namespace, SETTINGS_ID, SETTINGS)
            scan.items.append(LocalItem(ref, str(read.file), read.settings, digest(read.settings)))
        return scan

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        client.require_enterprise("namespace settings")
        current = client.get_namespace(namespace)
        settings = from_server(current)
        ref = FlowRef(tenant, namespace, SETTINGS_ID, SETTINGS)
        # A namespace the server keeps nothing for compares as empty settings: namespace.yml
        # then "creates" what it declares.
        return [] if current is None else [RemoteItem(ref, settings, digest(settings))]

    def write(self, client: KindClient, change: Change) -> Written:
        namespace = change.ref.namespace
        current = client.get_namespace(namespace)
        client.put_namespace(namespace, to_server(current, namespace, change.payload))
        # A setting the server's version does not keep is dropped without a word (Kestra 2.0
        # has no pluginDefaults): said here, or every plan would show it again as an update.
        kept = from_server(client.get_namespace(namespace))
        dropped = [field for field in FIELDS if field in change.payload and field not in kept]
        if dropped:
            what = ", ".join(dropped)
            raise UnsupportedByServer(
                f"the server did not keep {what} of namespace {namespace}: its Kestra version "
                f"has no such namespace setting (the rest was written); remove {what} from "
                f"{change.path or 'namespace.yml'}",
                hint="with kestra_version pinned, validate names the settings a version lacks",
            )
        return Written("created" if current is None else "updated")

    def delete(self, client: KindClient, change: Change) -> Written:
        return Written("kept")  # never planned: a namespace is not deleted by kestra-sync

    def pull_read(self, client: KindClient, scope: PullScope) -> list[RemoteItem]:
        """Each namespace's settings and its secret keys: namespace.yml holds both."""
        enterprise_for_pull(client)
        secrets = NamespaceSecrets()
        return [
            item
            for namespace in scope.namespaces
            for item in self.read(client, scope.tenant, namespace)
            + secrets.read(client, scope.tenant, namespace)
        ]

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        """Each namespace's settings and secret keys as its namespace.yml (``namespace_yml``):
        a secret's value is never pulled."""
        from .pulling import Pulled, PullFile, PullGroup

        settings, tenant = target.settings, target.settings.tenant
        local = {i.ref.namespace: i for i in self.scan(settings).items}
        secret_items = NamespaceSecrets().scan(settings).items
        local_secrets = {i.ref for i in secret_items}
        group, refused = PullGroup(), []
        for namespace in sorted({item.ref.namespace for item in items}):
            held = {i.ref: i for i in items if i.ref.namespace == namespace}
            pulled = held.get(FlowRef(tenant, namespace, SETTINGS_ID, SETTINGS))
            values = pulled.payload if pulled is not None else {}
            keys = [ref.id for ref in held if ref.kind == SECRET]  # as the server lists them
            if not (values or keys):
                continue
            refused += _secret_variables(namespace, values)
            mine = local.get(namespace)
            # The file in git says the same: same settings, the same secret keys named.
            same = (mine.digest if mine else digest({})) == digest(values) and {
                r for r in local_secrets if r.namespace == namespace
            } == {FlowRef(tenant, namespace, k, SECRET) for k in keys}
            folder = target.folder(namespace)
            found = [folder / n for n in NAMESPACE_FILE_NAMES if (folder / n).exists()]
            # The file git keeps them in, wherever it is (`namespace:`): a second one in the
            # folder would contradict it.
            path = (
                Path(mine.path) if mine else found[0] if found else folder / NAMESPACE_FILE_NAMES[0]
            )
            declared = {
                i.ref.id: i.payload
                for i in secret_items
                if (i.ref.tenant, i.ref.namespace) == (tenant, namespace)
            }
            named = path.parent != folder  # elsewhere, the file says which namespace
            text = namespace_yml(namespace, values, keys, declared, named).encode("utf-8")
            what = f"{namespace} settings"
            group.files.append(PullFile(path, text, what, (lambda raw: True) if same else _never))
        return Pulled([group], refused)

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described:
        assert local is not None
        new = _as_yaml(local.payload)
        old = _as_yaml(remote.payload) if remote is not None else ""
        diff = source_diff(old, new, f"server {local.ref.namespace} settings", local.path)
        return Described([], diff or "")  # settings are small: never over the limit

    def encode(self, payload: Any) -> Any:
        return payload

    def decode(self, data: Any) -> Any:
        if not isinstance(data, dict) or set(data) - set(FIELDS):
            raise ValueError("namespace settings must be a mapping of " + ", ".join(FIELDS))
        return data

    def payload_digest(self, payload: Any) -> str:
        return digest(payload)


def _as_yaml(settings: dict) -> str:
    return yaml.safe_dump(settings, sort_keys=False, allow_unicode=True) if settings else ""


class NamespaceSecrets(KindBase):
    name = SECRET
    noun = "namespace secret"
    target_word = "KEY"
    target_example = "company.team/DB_PASSWORD"
    undeclared_note = (
        "on the server, not named in namespace.yml: kept (kestra-sync never deletes a secret)"
    )
    retired_with_namespace = False  # Enterprise: an OSS server cannot list it

    def scan(self, settings: Any) -> LocalScan:
        files, _ = scan_files(settings)  # the problems are reported once, by the settings
        scan = LocalScan(deletable=set())  # never deleted, even with --delete
        for tenant, read in files:
            scan.namespaces.add((tenant, read.namespace))
            for entry in read.secrets:
                ref = FlowRef(tenant, read.namespace, entry["key"], SECRET)
                payload = {"env": entry["env"], "resend": entry["resend"]}
                scan.items.append(
                    LocalItem(ref, str(read.file), payload, self.payload_digest(payload))
                )
        return scan

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        client.require_enterprise("namespace secrets")
        return [
            RemoteItem(FlowRef(tenant, namespace, key, SECRET), {}, PRESENT)
            for key in client.secret_keys(namespace)
        ]

    def write(self, client: KindClient, change: Change) -> Written:
        value = secret_value(change)
        client.put_secret(change.ref.namespace, change.ref.id, value)
        return Written("set" if change.action == "create" else "set again")

    def delete(self, client: KindClient, change: Change) -> Written:
        return Written("kept")  # never planned (deletable is empty)

    def pull_read(self, client: KindClient, scope: PullScope) -> list[RemoteItem]:
        return []  # pulled with the settings: namespace.yml names the keys

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described:
        if local is None:
            return Described(["kept (kestra-sync never deletes a secret)"])
        env = local.payload["env"]
        missing = "" if os.environ.get(env) else f"; ${env} is not set here: apply needs it"
        if remote is None:
            return Described([f"will be set from ${env} (value not shown){missing}"])
        return Described(
            [f"set; will be sent again from ${env} (resend: always; value not shown){missing}"]
        )

    def encode(self, payload: Any) -> Any:
        return {"env": payload["env"], "resend": bool(payload.get("resend"))}

    def decode(self, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("env"), str):
            raise ValueError("a secret's payload must be {env, resend}")
        if is_credential(data["env"]):
            raise ValueError(
                f"a secret is never set from ${data['env']} (the deploy's credentials)"
            )
        return {"env": data["env"], "resend": bool(data.get("resend"))}

    def payload_digest(self, payload: Any) -> str:
        return RESEND if payload.get("resend") else PRESENT

    def promoted(self, local: LocalItem, remote: RemoteItem) -> Any:
        """A promotion carries no secret value (none can be read): git's entry is planned."""
        return local.payload

    def check_before_writes(self, changes: list[Change]) -> None:
        """Every secret this apply sends has its environment variable: checked before any
        write of any kind, so a missing CI secret fails the apply with nothing done."""
        missing = sorted(
            f"${c.payload['env']} (secret {c.ref.id} of {c.ref.namespace})"
            for c in changes
            if not os.environ.get(c.payload["env"])
        )
        if missing:
            raise InputError(
                f"missing from the environment: {', '.join(missing)}; nothing was applied",
                hint="set each variable (a CI secret) to the secret's value, then run again",
            )


def secret_value(change: Change) -> str:
    env = change.payload["env"]
    value = os.environ.get(env)
    if not value:
        raise InputError(f"${env} is not set (or empty): secret {change.ref.id} was not sent")
    return value


# -- pull -----------------------------------------------------------------------------------


def _never(raw: bytes) -> bool:
    return False  # git's namespace.yml does not say what the server holds: it differs


NOT_ENTERPRISE = "Not Kestra Enterprise: no apps, namespace settings or secrets pulled."


def enterprise_for_pull(client: KindClient) -> None:
    """`pull` reads the Enterprise kinds only from a server that says it is Kestra Enterprise
    (an OSS server, or one whose configuration cannot be read, holds none of them)."""
    from ..errors import KestraSyncError

    try:
        edition = client.server_edition()
    except KestraSyncError:
        edition = None
    if edition != "EE":
        raise KindUnsupported(NOT_ENTERPRISE)


def env_name(key: str) -> str:
    """The environment variable namespace.yml names for a pulled secret key."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", key).upper()
    name = name if not name[:1].isdigit() else "_" + name
    # A key named like the deploy's own credentials (GITHUB_TOKEN is a common secret) cannot
    # be set from that variable (is_credential): another name is proposed.
    return "SECRET_" + name if is_credential(name) else name


def namespace_yml(
    namespace: str,
    values: dict,
    secret_keys: list[str],
    declared: dict[str, dict] | None = None,
    named: bool = False,
) -> str:
    """A pulled namespace.yml: the settings, and each secret key with the environment
    variable a later apply would read its value from (a server never gives a value back):
    the one git already names for it (``declared``: key -> {env, resend}), else a proposal."""
    text = f"# Settings of namespace {namespace}, pulled from the server by kestra-sync.\n"
    body: dict[str, Any] = {"namespace": namespace, **values} if named else dict(values)
    if secret_keys:
        text += (
            "# Secret values are never pulled (a server cannot give them back): each key names\n"
            "# the environment variable an apply reads its value from when it must be sent.\n"
        )
        body["secrets"] = [_secret_entry(k, (declared or {}).get(k)) for k in secret_keys]
    return text + (yaml.safe_dump(body, sort_keys=False, allow_unicode=True) if body else "")


def _secret_entry(key: str, declared: dict | None) -> dict[str, Any]:
    if declared is None:
        return {"key": key, "env": env_name(key)}
    entry: dict[str, Any] = {"key": key, "env": declared["env"]}
    if declared.get("resend"):
        entry["resend"] = "always"
    return entry


def _secret_variables(namespace: str, values: dict) -> list[str]:
    """The namespace variables that look like a secret (kinds.kvvalues.looks_secret): pull
    never writes one into git, and namespace.yml describes the variables whole (leaving one
    out would delete it at the next apply), so the pull is refused, naming the key only."""
    from .kvvalues import looks_secret

    variables = values.get("variables") or {}
    return [
        f"{namespace}: namespace variable {key!r} looks like a secret, and pull never writes "
        "one into git; move it to a namespace secret (read with {{ secret('NAME') }}), then "
        "pull again"
        for key, value in sorted(variables.items())
        if looks_secret(str(key), value)
    ]
