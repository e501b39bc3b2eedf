"""KV pairs: non-secret settings a flow reads with ``{{ kv('region') }}``.

In git, a ``kv.yml`` beside a namespace's flows (the namespace is its folder, as for
``_files``, or a ``namespace:`` key in the file)::

    managed: false          # true: keys on the server that this file does not list are
                            # deleted (with --delete); the default never touches them
    sensitive: [db_url]     # values never shown, only "changed"; a key listed here and not
                            # under values: is left to the server as it is (pull writes a
                            # value that looks like a secret this way)
    values:
      region: eu-west-1     # string
      retries: 3            # number
      dry_run: false        # boolean
      limits: {cpu: 2}      # JSON (a mapping or a list)
      session:              # the long form, for a TTL (ISO-8601 duration, header `ttl`)
        value: abc
        ttl: PT24H

A mapping is the long form when its keys are ``value`` plus, optionally, ``ttl`` and
``description``; any other mapping is a JSON value. YAML dates are sent as ISO text.

Server side (KVController): the listing carries no values, so reading a namespace's KV costs
one listing plus one GET per key. Values are compared by their JSON text; a TTL is sent on
every write but not compared (the server only returns the expiry date, which every write moves).

What reports show: a value git declares, unless the key is sensitive; never a value only the
server holds (an update says what git sets, a delete only the value's type). A sensitive key
shows "changed" and nothing more.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..models import ERROR, Diagnostic, FlowRef
from ..source.ignorefile import IGNORE_FILE, IgnoreRules
from ..source.walk import KV_FILE_NAMES, enters_flow_dir, kv_overlay_env, walk_files
from ..source.yamlindex import ParsedYaml, parse_yaml
from .base import (
    Described,
    KindBase,
    KindClient,
    LocalItem,
    LocalScan,
    RemoteItem,
    Written,
    bad_namespace,
    merge_overlay,
    not_regular_is_an_error,
    second_path_is_an_error,
)

if TYPE_CHECKING:
    from ..models import Change
    from ..source.environments import Overlays
    from .pulling import Pulled, PullScope, PullTarget

from .kvvalues import (
    SECRET_HINT,
    canonical,
    digest,
    is_long_form,
    looks_secret,
    plain_value,
)

KIND = "kv"
KEY_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")  # KVStore.KEY_VALIDATOR_PATTERN
# Duration.parse's ISO-8601 form, as the `ttl` header needs (KVController.setKeyValue).
TTL_PATTERN = re.compile(r"^P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def _folder_namespace(root: Path, file: Path) -> str:
    rel = file.parent.relative_to(root).as_posix()
    return "" if rel == "." else rel.replace("/", ".")


def _is_kv_file(name: str) -> bool:
    return name in KV_FILE_NAMES


TOP_KEYS = ("namespace", "managed", "sensitive", "values")


def _structure_problems(parsed: ParsedYaml) -> list[tuple[str, int | None, str]]:
    """(message, line, code) for what the flows' positioned reader (source.yamlindex) refuses
    in a kv.yml: a syntax error, and a key written twice, which YAML would keep the last of
    without a word while a reviewer reads the first (``managed:`` twice flips deletion)."""
    out = []
    for p in parsed.problems:
        if p.code == "duplicate-key" and p.key is not None:
            first = f" (first at line {p.first_line})" if p.first_line else ""
            if p.key in TOP_KEYS:
                message = f"`{p.key}` is written twice{first}; keep only one"
            else:
                message = f"KV key {p.key!r} is written twice"
            out.append((message, p.line, "kv-duplicate"))
        elif p.severity == "error":
            code = "yaml-syntax" if p.code.startswith("yaml") else p.code
            # The positioned reader's message already says "invalid YAML".
            message = (
                p.message if p.message.startswith("invalid YAML") else f"invalid YAML: {p.message}"
            )
            out.append((message, p.line, code))
    return out


# The payload of a key kv.yml lists as sensitive without a value: the server keeps its own.
HELD = {"value": None, "ttl": None, "sensitive": True, "held": True}


def _sensitive_keys(raw: Any, problem: Any) -> set[str] | None:
    """`sensitive: [key, ...]` as a set, or None after reporting why it cannot be read."""
    if raw is None:
        return set()
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        problem("`sensitive` must be a list of KV keys, e.g. sensitive: [db_url, api_token]")
        return None
    bad = [k for k in raw if not KEY_PATTERN.fullmatch(k)]
    if bad:
        problem(
            f"`sensitive` lists {bad[0]!r}, which is not a Kestra KV key (a letter or digit, "
            "then letters, digits, '.', '_' and '-')"
        )
        return None
    return set(raw)


class KeyValues(KindBase):
    name = KIND
    noun = "KV pair"
    target_word = "KEY"
    target_example = "company.team/region"
    # Kestra's kv() looks in the flow's namespace, then in each parent (planning/uses.py).
    inherited_by_children = True
    undeclared_note = (
        "not in kv.yml, kept: undeclared keys are deleted only where kv.yml says "
        "`managed: true` (and with --delete)"
    )

    # -- git --------------------------------------------------------------------------------

    def scan(self, settings: Any) -> LocalScan:
        scan = LocalScan(deletable=set())
        for tenant, directory in settings.directories().items():
            directory = Path(directory)
            if not directory.is_dir():
                continue
            ignore = IgnoreRules.load(directory / IGNORE_FILE)
            # The flow scan's walker and rule for links (a linked namespace folder is read, a
            # link out of the flow directory is an error), and a kv.yml that is a FIFO is never
            # opened: reading it would block for ever.
            files, problems = walk_files(
                directory, ignore, wanted=_is_kv_file, enter=enters_flow_dir
            )
            found = [(_folder_namespace(directory, file), file) for file in files]
            for problem in problems:
                problem = not_regular_is_an_error(
                    problem,
                    "its KV pairs are unknown; replace it with a regular file, or remove it",
                    "kv-not-a-file",
                )
                scan.diagnostics.append(
                    second_path_is_an_error(problem, found, "KV pairs", "kv-two-namespaces")
                )
            for file in files:
                self._load(scan, tenant, directory, file)
        return scan

    def _load(
        self,
        scan: LocalScan,
        tenant: str,
        root: Path,
        file: Path,
        sensitive_elsewhere: frozenset[FlowRef] = frozenset(),
    ) -> None:
        """One kv.yml: read it, check its shape, then each of its values.
        ``sensitive_elsewhere``: keys another file (the shared kv.yml an environment's overlay
        sets values over) lists as sensitive: they are sensitive here too."""
        shown = str(file)

        def problem(message: str, line: int | None = None, code: str = "kv-invalid") -> None:
            scan.diagnostics.append(Diagnostic(shown, message, ERROR, line, None, code))

        read = self._read(file, problem)
        if read is None:
            return
        parsed, data = read
        head = self._head(data, root, file, problem)
        if head is None:
            return
        namespace, managed, values, sensitive = head
        scan.namespaces.add((tenant, namespace))
        if managed:
            assert scan.deletable is not None
            scan.deletable.add((tenant, namespace))

        def line_of(key: str) -> int | None:
            return parsed.key_position(("values", str(key)))[0]

        for key, raw in values.items():
            line = line_of(key)
            hidden = (
                key in sensitive or FlowRef(tenant, namespace, key, KIND) in sensitive_elsewhere
            )
            payload = self._payload(key, raw, line, hidden, problem)
            if payload is None:
                continue
            ref = FlowRef(tenant, namespace, key, KIND)
            if self._declared_twice(scan, ref, problem, line):
                continue
            scan.items.append(LocalItem(ref, shown, payload, digest(payload["value"])))
        for key in sorted(sensitive - set(values)):
            # Declared by name only: the server's value is kept as it is (digest None).
            ref = FlowRef(tenant, namespace, key, KIND)
            if not self._declared_twice(scan, ref, problem, line_of(key)):
                scan.items.append(LocalItem(ref, shown, HELD, None))

    @staticmethod
    def _read(file: Path, problem: Any) -> tuple[ParsedYaml, Any] | None:
        """The file's structure through the flows' reader (errors and duplicate keys with
        their lines), and its values with YAML 1.1's types as kv.yml promises them (a date,
        ``on`` as a boolean): PyYAML's safe loader, on a text the reader accepted."""
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            problem(f"cannot read: {err}")
            return None
        parsed = parse_yaml(text)
        found = _structure_problems(parsed)
        for message, line, code in found:
            problem(message, line, code)
        if any(code != "kv-duplicate" for _, _, code in found):
            return None  # a key written twice is an error, and the rest is still checked
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            problem(
                f"invalid YAML: {getattr(err, 'problem', err)}",
                mark.line + 1 if mark else None,
                "yaml-syntax",
            )
            return None
        return parsed, ({} if data is None else data)

    @staticmethod
    def _head(data: Any, root: Path, file: Path, problem: Any) -> tuple | None:
        """(namespace, managed, values, sensitive keys) of a kv.yml, or None after saying what
        is wrong."""
        if not isinstance(data, dict):
            problem(
                "kv.yml must be a mapping with `values:` (and optionally `namespace:`, `managed:`)"
            )
            return None
        unknown = set(data) - set(TOP_KEYS)
        if unknown:
            problem(
                f"unknown key(s) {', '.join(sorted(map(str, unknown)))}: "
                "kv.yml takes namespace, managed, sensitive and values"
            )
            return None
        namespace = data.get("namespace") or _folder_namespace(root, file)
        if not isinstance(namespace, str) or not namespace:
            problem("no namespace: put kv.yml in the namespace's folder or add `namespace:`")
            return None
        why = bad_namespace(namespace)
        if why:
            problem(f"{why}: put kv.yml in the namespace's folder or add `namespace:`")
            return None
        managed = data.get("managed", False)
        if not isinstance(managed, bool):
            problem("`managed` must be true or false")
            return None
        values = data.get("values") or {}
        if not isinstance(values, dict):
            problem("`values` must be a mapping of key: value")
            return None
        sensitive = _sensitive_keys(data.get("sensitive"), problem)
        if sensitive is None:
            return None
        return namespace, managed, values, sensitive

    @staticmethod
    def _payload(
        key: Any, raw: Any, line: int | None, sensitive: bool, problem: Any
    ) -> dict | None:
        """``{value, ttl[, sensitive]}`` of one key, or None after saying why it cannot be
        sent."""
        if not isinstance(key, str):
            # YAML 1.1 reads `on`, `yes`, `1` as a boolean or a number.
            problem(f'KV key {key!r} is not text to YAML: quote it ("{key}": ...)')
            return None
        if not KEY_PATTERN.fullmatch(key):
            problem(
                f"KV key {key!r}: Kestra keys start with a letter or digit and hold only "
                "letters, digits, '.', '_' and '-'",
                line,
            )
            return None
        ttl = None
        if is_long_form(raw):
            ttl, raw = raw.get("ttl"), raw["value"]
            if ttl is not None and not (isinstance(ttl, str) and TTL_PATTERN.match(ttl.strip())):
                problem(
                    f"KV key {key!r}: ttl {ttl!r} is not an ISO-8601 duration such as PT1H or P7D",
                    line,
                )
                return None
        if raw is None:
            problem(f"KV key {key!r} has no value", line)
            return None
        value = plain_value(raw)
        try:
            canonical(value)
        except (TypeError, ValueError):  # `!!binary`, `!!set`, NaN keys: not JSON
            problem(
                f"KV key {key!r}: the value is not JSON data (.inf, .nan, or a YAML tag "
                "such as !!binary or !!set?); write a string, a number, a boolean, a list or "
                "a mapping",
                line,
            )
            return None
        if not sensitive and looks_secret(key, value):
            # Never echo the value itself. Listing the key under `sensitive:` says the user
            # knows: its value is then never shown either.
            problem(
                f"KV key {key!r} looks like a secret; {SECRET_HINT} (or, if it must be a KV "
                "pair, list it under `sensitive:` so that no report shows its value)",
                line,
                "kv-secret",
            )
            return None
        payload = {"value": value, "ttl": ttl.strip() if isinstance(ttl, str) else None}
        if sensitive:
            payload["sensitive"] = True
        return payload

    @staticmethod
    def _declared_twice(scan: LocalScan, ref: FlowRef, problem: Any, line: int | None) -> bool:
        other = next((i.path for i in scan.items if i.ref == ref), None)
        if other is not None:
            problem(f"KV key {ref.id!r} of {ref.namespace} is also declared in {other}", line)
        return other is not None

    # -- environments -----------------------------------------------------------------------

    def overlay(
        self, scan: LocalScan, overlays: Overlays, settings: Any, problems: list[Diagnostic]
    ) -> None:
        """Each `kv.<env>.yml` of the selected environment, read by this scan's own rules,
        sets its keys over kv.yml's (same namespace, same key) or adds them."""
        hidden = sensitive_refs(scan)
        for tenant, directory, path in overlays.kv:
            if kv_overlay_env(path.name) == settings.environment:
                own = LocalScan(deletable=set())
                self._load(own, tenant, directory, path, hidden)
                problems += own.diagnostics
                merge_overlay(scan, own)

    def overlay_problems(self, overlays: Overlays, settings: Any) -> list[Diagnostic]:
        hidden = sensitive_refs(self.scan(settings)) if overlays.kv else frozenset()
        problems: list[Diagnostic] = []
        for tenant, directory, path in overlays.kv:
            own = LocalScan(deletable=set())
            self._load(own, tenant, directory, path, hidden)
            problems += own.diagnostics
        return problems

    # -- server -----------------------------------------------------------------------------

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        values = client.namespace_kv(namespace)
        return [
            RemoteItem(
                FlowRef(tenant, namespace, key, KIND),
                {"value": value, "type": kv_type},
                digest(value),
            )
            for key, (kv_type, value) in sorted(values.items())
        ]

    def write(self, client: KindClient, change: Change) -> Written:
        client.put_kv(
            change.ref.namespace, change.ref.id, change.payload["value"], change.payload["ttl"]
        )
        return Written("created" if change.action == "create" else "updated")

    def delete(self, client: KindClient, change: Change) -> Written:
        existed = client.delete_kv(change.ref.namespace, change.ref.id)
        return Written("deleted" if existed else "already deleted")

    def pull_read(self, client: KindClient, scope: PullScope) -> list[RemoteItem]:
        """The pairs, a value that is the very token or password kestra-sync connects with
        marked ``credential`` (whatever its key: nothing else would flag it), so that pull
        holds it on the server like a secret."""
        items = super().pull_read(client, scope)
        is_credential = getattr(getattr(client, "http", None), "is_credential", None)
        for item in items:
            value = item.payload["value"]
            if is_credential is not None and isinstance(value, str) and is_credential(value):
                item.payload = {**item.payload, "credential": True}
        return items

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        """Each namespace's pairs as its kv.yml (``kinds.kvpull``): secrets never written."""
        from .kvpull import kv_file, refused_kv
        from .pulling import Pulled, PullGroup

        pulled = Pulled()
        by_namespace: dict[str, dict] = {}
        held: dict[str, set[str]] = {}
        for item in items:
            by_namespace.setdefault(item.ref.namespace, {})[item.ref.id] = item.payload["value"]
            if item.payload.get("credential"):
                held.setdefault(item.ref.namespace, set()).add(item.ref.id)
        tenant = target.settings.tenant
        declared = {  # a kv.yml elsewhere (`namespace:`) is written where it is
            i.ref.namespace: Path(i.path)
            for i in self.scan(target.settings).items
            if i.ref.tenant == tenant
        }
        for namespace, values in sorted(by_namespace.items()):
            where = declared.get(namespace)
            pulled.refused += refused_kv(values, target, namespace, where)
            file = kv_file(values, target, namespace, held.get(namespace, set()), where)
            pulled.groups.append(PullGroup([file]))
        return pulled

    # -- reports ----------------------------------------------------------------------------

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described:
        """Never a value only the server holds (it may be a secret git never saw), and never a
        sensitive one: a delete shows the value's type, an update the value git sets."""
        if local is None:
            assert remote is not None
            return Described([f"{_type_word(remote)} value (not shown: it is not in git)"])
        ttl = local.payload.get("ttl")
        suffix = f" (ttl {ttl})" if ttl else ""
        if local.payload.get("sensitive"):
            word = "set" if remote is None else "changed"
            return Described([f"value {word} (sensitive: not shown){suffix}"])
        new = _shown(local.payload["value"])
        if remote is None:
            return Described([f"value {new}{suffix}"])
        return Described([f"value -> {new}{suffix} (the server's value is not shown)"])

    # -- saved plan -------------------------------------------------------------------------

    def encode(self, payload: Any) -> Any:
        return payload

    def decode(self, data: Any) -> Any:
        if not isinstance(data, dict) or "value" not in data:
            raise ValueError("a KV pair's payload must be {value, ttl}")
        payload = {"value": data["value"], "ttl": data.get("ttl")}
        if data.get("sensitive"):
            payload["sensitive"] = True
        return payload

    def payload_digest(self, payload: Any) -> str:
        return digest(payload["value"])

    def promoted(self, local: LocalItem, remote: RemoteItem) -> Any:
        """The source server's KV value as a payload to plan. It is a value only that server
        holds: sensitive (never shown, only "changed") when git marks the key sensitive or the
        value looks like a secret, as pull would treat it."""
        value = remote.payload["value"]
        payload = {"value": value, "ttl": None}
        if local.payload.get("sensitive") or looks_secret(local.ref.id, value):
            payload["sensitive"] = True
        return payload


def sensitive_refs(scan: LocalScan) -> frozenset:
    """The KV pairs the shared kv.yml files list as sensitive: an overlay that sets one keeps
    it hidden (and not refused for looking like a secret), as the README promises."""
    return frozenset(item.ref for item in scan.items if item.payload.get("sensitive"))


def _shown(value: Any) -> str:
    text = canonical(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _type_word(remote: RemoteItem) -> str:
    """The server's KVType (STRING, NUMBER, JSON...) in lower case, or "a"."""
    kv_type = remote.payload.get("type") if isinstance(remote.payload, dict) else None
    return kv_type.lower() if isinstance(kv_type, str) and kv_type.isalpha() else "a"
