"""The seam every kind of resource goes through, typed, and the plain data it works on
(docs/kinds.md: adding a kind).

A kind (``Kind``; flows, namespace files, KV pairs, one module each) has four steps:
- ``scan(settings)``: read git's tree -> ``LocalScan`` (items, problems, namespaces it covers,
  where undeclared server items may be deleted);
- ``read(client, tenant, namespace)``: read the server cheaply -> ``[RemoteItem]`` (raises a
  ``KestraSyncError`` when it cannot: the namespace is then left alone, never emptied);
- ``compare(comparisons)``: pick the planning core's comparison (``Comparisons``, handed in by
  the pipeline): ``KindBase`` compares by content digest, item by item
  (``planning.resourceplan``); flows by source and revision, with the references between
  flows and the ownership rule (``planning.plan.build_plan``). ``describe(local, remote)``,
  pure, gives the words and diff a reviewer sees for a digest kind's change;
- ``write(client, change)`` / ``delete(client, change)`` (``Writer``): one REST call or so
  -> ``Written`` (the word for the outcome: "created", "updated", "deleted", and a flow's new
  revision), run by apply's one scheduler;
and ``encode(payload)`` / ``decode(data)``: the payload in a saved plan's JSON;
``pull_read(client, scope)`` / ``pull_files(items, target)``: what `pull` reads of the kind
and the files that becomes in git (``kinds.pulling``).

What the planning pipeline applies once, for every kind, is not the kind's business: scopes,
the deletion opt-in, the empty-namespace rule, a failed listing, what a flow that stays still
uses, ``--target``, the one delete cap, the write order and the delete guard. What shared code
needs to know of a kind besides its steps are its facts (``KindFacts``: target prefix and
words, nouns, write phase...), with defaults in ``KindBase``; ``facts(kind)`` gives those
defaults to a kind written against the steps alone.

``KindClient`` is what a kind may ask of the client (``client.KestraClient`` provides it):
the kinds are typed against it, not against ``Any``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ..errors import UnsupportedByServer
from ..models import ERROR, NAMESPACE_MAX, NAMESPACE_RE, Diagnostic, FlowRef
from ..source.walk import special_kind

if TYPE_CHECKING:
    from ..models import Change, LocalFlow, RemoteFlow
    from ..source.environments import Overlays
    from .pulling import Pulled, PullScope, PullTarget


def bad_namespace(namespace: str) -> str | None:
    """Why Kestra would refuse this namespace (taken from a folder's name), or None: Kestra's
    pattern and length, read from ``rules.knowledge`` as everywhere."""
    if not NAMESPACE_RE.fullmatch(namespace) or len(namespace) > NAMESPACE_MAX:
        return (
            f"{namespace!r} is not a Kestra namespace (lowercase letters, digits, '.', '_', "
            f"'-', at most {NAMESPACE_MAX} characters)"
        )
    return None


def not_regular_is_an_error(problem: Diagnostic, consequence: str, code: str) -> Diagnostic:
    """The walker skips a FIFO or socket with a warning: under the flow directory a skipped
    file hides no flow it could name. A namespace file's name is its server path, and a kv.yml
    holds keys: a file the scan did not read would be deleted, or silently not deployed.
    ``consequence`` says which; the file is refused, as an unreadable file is."""
    if problem.code != "not-a-file":
        return problem
    try:
        kind = special_kind(os.stat(problem.path).st_mode)
    except OSError:
        kind = "a special file"
    return Diagnostic(
        problem.path,
        f"this is {kind}, not a regular file: it was not read, so {consequence}",
        ERROR,
        code=code,
    )


def second_path_is_an_error(
    problem: Diagnostic, found: list[tuple[str, Path]], what: str, code: str
) -> Diagnostic:
    """The walker reads a folder reached twice (a link to a folder it read already) once, with
    a warning: a flow names its own namespace, wherever it is read from. Namespace files and
    kv.yml take theirs from their folder's path, so under such a link they would belong to two
    namespaces, and which one they got would depend on the order of the walk: refuse it.
    ``found``: (namespace, path) of what the walk found."""
    if problem.code != "already-scanned":
        return problem
    here = os.path.realpath(problem.path)
    for namespace, path in found:
        real = os.path.realpath(path)
        if real == here or real.startswith(here.rstrip(os.sep) + os.sep):
            return Diagnostic(
                problem.path,
                f"this folder was already read through another path (a symbolic link), where "
                f"its {what} {path} belong to namespace {namespace}: from here they would "
                "belong to a second namespace; keep them in one place (copy the files, or add "
                "the link to .kestraignore)",
                ERROR,
                code=code,
            )
    return problem


def any_of(checks: list[Callable[[str], str | None]]) -> Callable[[str], str | None]:
    """The first reason any of ``checks`` gives for a path, or None."""

    def why(path: str) -> str | None:
        return next((w for w in (check(path) for check in checks) if w), None)

    return why


def merge_overlay(scan: LocalScan, own: LocalScan) -> None:
    """An environment overlay's scan (``own``) over the shared one: its items replace those
    of the same ref, or are added; what it never reads (`.gitignore`) is kept on the server."""
    replaced = {item.ref: item for item in own.items}
    scan.items = [replaced.pop(item.ref, item) for item in scan.items] + list(replaced.values())
    scan.namespaces |= own.namespaces
    if scan.deletable is not None:
        scan.deletable |= own.deletable if own.deletable is not None else own.namespaces
    for where, why in own.never_read.items():
        mine = scan.never_read.get(where)
        scan.never_read[where] = why if mine is None else any_of([mine, why])


@dataclass
class LocalItem:
    ref: FlowRef  # ref.kind names the kind, ref.id the path or key
    path: str  # the local file it comes from (for reports)
    payload: Any
    digest: str | None  # None: declared by name only, the server's content is left as it is


@dataclass
class RemoteItem:
    ref: FlowRef
    payload: Any
    digest: str


@dataclass
class LocalScan:
    items: list[LocalItem] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # (tenant, namespace) whose server side this kind reads and compares: those git declares
    # something of this kind for (even nothing: an emptied `_files` mapping still counts).
    namespaces: set[tuple[str, str]] = field(default_factory=set)
    # (tenant, namespace) where server items git does not declare may be deleted (with
    # --delete); None = every namespace in ``namespaces``.
    deletable: set[tuple[str, str]] | None = None
    # (tenant, namespace) -> why the scan never reads an item of that id (``.gitignore``
    # under `_files`, a path `.kestraignore` excludes), or None: such a server item is kept,
    # never deleted because git's copy was skipped.
    never_read: dict[tuple[str, str], Callable[[str], str | None]] = field(default_factory=dict)


# The server has no API for this kind at all (an Enterprise-only kind on an OSS server, which
# answers 404, or says it is OSS): it holds none of it.
KindUnsupported = UnsupportedByServer


@dataclass
class KindListing:
    """What the server holds of one kind in one namespace, or why it could not be read."""

    kind: str
    tenant: str
    namespace: str
    items: list[RemoteItem] = field(default_factory=list)
    error: str | None = None  # set when the read failed: nothing changes in that namespace
    # Set when the server has no API for the kind (``KindUnsupported``): it holds none, which
    # is an error only where git declares some (planning.resourceplan).
    unsupported: str | None = None


@dataclass
class Described:
    summary: list[str] = field(default_factory=list)
    diff: str = ""


# Above this many bytes or characters of the two sides together a change is summarised, not
# diffed: a reviewer does not read it, and the diff would cost more than the plan.
DIFF_LIMIT = 200_000


def source_diff(old: str, new: str, server_label: str, local_label: str) -> str | None:
    """The unified diff a reviewer reads of a text item (the server's ``old``, git's ``new``):
    "" when only line endings or the final newline differ, None when the two are too large to
    diff (``DIFF_LIMIT``). Each kind words its summary for those two cases."""
    if len(old) + len(new) > DIFF_LIMIT:
        return None
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=server_label, tofile=local_label, lineterm=""
    )
    return "\n".join(lines)


class KindClient(Protocol):
    """The client calls the kinds make, per tenant (``with_tenant``)."""

    tenant: str

    def with_tenant(self, tenant: str) -> KindClient: ...

    # flows
    def search_flows(self, namespace: str | None = ...) -> list[RemoteFlow]: ...

    def upsert(
        self, source: str, namespace: str | None = ..., flow_id: str | None = ...
    ) -> Any: ...

    def update_flow(self, namespace: str, flow_id: str, source: str) -> RemoteFlow: ...

    def delete_flow(self, namespace: str, flow_id: str, missing_ok: bool = ...) -> None: ...

    # namespace files
    def export_namespace_files(self, namespace: str) -> dict[str, bytes]: ...

    def put_namespace_file(self, namespace: str, file_path: str, content: bytes) -> None: ...

    def delete_namespace_file(self, namespace: str, file_path: str) -> None: ...

    # KV pairs
    def namespace_kv(self, namespace: str) -> dict[str, tuple[str, Any]]: ...

    def put_kv(self, namespace: str, key: str, value: Any, ttl: str | None = ...) -> None: ...

    def delete_kv(self, namespace: str, key: str) -> bool: ...

    # flow test suites (Enterprise)
    def list_test_suites(self, namespace: str) -> list[dict]: ...

    def create_test_suite(self, source: str) -> str: ...

    def update_test_suite(self, namespace: str, suite_id: str, source: str) -> None: ...

    def delete_test_suite(self, namespace: str, suite_id: str) -> bool: ...

    # Enterprise: apps, namespace settings, namespace secrets (client.enterprise)
    def server_edition(self) -> str | None: ...

    def require_enterprise(self, what: str) -> None: ...

    def list_apps(self, namespace: str) -> list[dict]: ...

    def app_uid(self, namespace: str, app_id: str) -> str | None: ...

    def get_app_source(self, uid: str) -> str | None: ...

    def create_app(self, source: str) -> str: ...

    def update_app(self, uid: str, source: str) -> None: ...

    def delete_app(self, uid: str) -> bool: ...

    def get_namespace(self, namespace: str) -> dict | None: ...

    def put_namespace(self, namespace: str, body: dict) -> None: ...

    def secret_keys(self, namespace: str) -> list[str]: ...

    def put_secret(self, namespace: str, key: str, value: str) -> None: ...
    # dashboards (a tenant's)
    def tenant_dashboards(self) -> dict[str, str]: ...

    def create_dashboard(self, source: str) -> None: ...

    def update_dashboard(self, dashboard_id: str, source: str) -> None: ...

    def delete_dashboard(self, dashboard_id: str) -> bool: ...


@dataclass
class Written:
    """What a write or delete did: "created", "updated", "unchanged", "deleted", "already
    deleted"; and the revision it made (flows)."""

    result: str
    revision: int | None = None


class Writer(Protocol):
    """How a kind's changes reach the server: every kind, flows included."""

    name: str  # FlowRef.kind: "flow", "file", "kv"
    noun: str  # "namespace file", for messages

    def write(self, client: KindClient, change: Change) -> Written: ...

    def delete(self, client: KindClient, change: Change) -> Written: ...


Payload = TypeVar("Payload")


class Kind(Writer, Protocol, Generic[Payload]):
    """A kind compared by content digest (namespace files: bytes; KV pairs: {value, ttl})."""

    undeclared_note: str  # why a server item git does not declare is kept

    def scan(self, settings: Any) -> LocalScan: ...

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]: ...

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described: ...

    def encode(self, payload: Payload) -> Any: ...

    def decode(self, data: Any) -> Payload: ...

    def payload_digest(self, payload: Payload) -> str:
        """The digest the plan compares and shows for ``payload``."""
        ...


NAMESPACE_LEVEL = "namespace"  # an item lives in a namespace: FlowRef(tenant, namespace, id)
TENANT_LEVEL = "tenant"  # an item belongs to the tenant (a dashboard): its ref's namespace is ""


class KindFacts(Protocol):
    """What shared code (targets, reports, apply's order, promotion) asks of a kind besides
    its seam. ``KindBase`` gives every fact a default; ``facts(kind)`` gives them to a kind
    that does not derive from it."""

    @property
    def name(self) -> str: ...

    @property
    def noun(self) -> str: ...

    @property
    def plural(self) -> str:
        """More than one, in the delete cap's words: "namespace files", "KV pairs"."""
        ...

    @property
    def target_prefix(self) -> str:
        """`--target PREFIX:NAMESPACE/ID` names an item; "" for flows (`NAMESPACE/ID`)."""
        ...

    @property
    def target_word(self) -> str:
        """What follows NAMESPACE/ in a target: "ID", "PATH", "KEY"."""
        ...

    @property
    def target_example(self) -> str:
        """``company.team/etl/load.py``: an example target, for the hint of a bad one."""
        ...

    @property
    def level(self) -> str:
        """NAMESPACE_LEVEL, or TENANT_LEVEL (`--target PREFIX:ID`)."""
        ...

    @property
    def write_phase(self) -> int:
        """In a namespace, the writes of a lower phase go first, and its deletes last."""
        ...

    @property
    def inherited_by_children(self) -> bool:
        """A flow of a child namespace may use the item (Kestra's ``kv()`` climbs up)."""
        ...

    def target_id(self, item_id: str) -> str:
        """The id as a target spells it (a namespace file's path without its leading /)."""
        ...

    def compare(self, comparisons: Comparisons) -> None:
        """Compare git's side of the kind with the server's (``Comparisons``)."""
        ...

    def overlay(
        self, scan: LocalScan, overlays: Overlays, settings: Any, problems: list[Diagnostic]
    ) -> None:
        """Merge the selected environment's overlays of this kind (``kv.<env>.yml``,
        ``_files.<env>/``) into its scan, adding what they hold wrong to ``problems``."""
        ...

    def overlay_problems(self, overlays: Overlays, settings: Any) -> list[Diagnostic]:
        """For `validate`: what this kind's rules find in every environment's overlays."""
        ...

    def promoted(self, local: LocalItem, remote: RemoteItem) -> Any:
        """The payload to plan when `plan --from ENV` carries ``remote`` (the source
        environment's copy of git's ``local``) to the target environment."""
        ...

    def check_against_flows(self, scan: LocalScan, flows: list[LocalFlow]) -> list[Diagnostic]:
        """For `validate`: what of this kind names flows of git that do not exist (a flow
        test suite names its flow and tasks)."""
        ...

    @property
    def retired_with_namespace(self) -> bool:
        """Read, and deleted under the guards, when its namespace leaves git (False: the
        Enterprise kinds, which an OSS server cannot list, are kept then)."""
        ...

    def check_before_writes(self, changes: list[Change]) -> None:
        """Raise, before anything of any kind is written, when this kind's writes cannot all
        succeed (a secret's environment variable is missing)."""
        ...

    def map_sources(self, scan: LocalScan, mapping: dict[str, str], map_source: Any) -> list:
        """For an environment's ``namespace_map``: rewrite the namespaces the items' own
        sources name (a flow test suite's ``namespace:``); the problems found."""
        ...

    def file_bytes(self, payload: Any) -> bytes | None:
        """The bytes of git's file for ``payload`` when that file holds the item alone, as
        `pull --branch` writes a server's copy back over it; None when it does not (a KV
        pair is one entry of kv.yml): such drift is reported, never written."""
        ...

    def pull_read(self, client: KindClient, scope: PullScope) -> list[RemoteItem]:
        """`pull`: what the server holds of the kind in ``scope`` (``kinds.pulling``); raises
        ``KindUnsupported`` (its message said once) when the server has no API for it."""
        ...

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        """`pull`: the files ``items`` become in git, and the entries that refuse the pull."""
        ...


class Comparisons(Protocol):
    """The planning core's comparisons, as the pipeline hands them to a kind's ``compare``
    (planning/compare.py): each compares git's side of a kind with what the server holds and
    adds the changes and errors to the plan, under the plan's options. (The kinds stage comes
    before planning: it is handed the comparisons rather than importing them.)"""

    def by_digest(self, kind: Kind[Any]) -> None:
        """Item by item, by content digest (planning/resourceplan.py)."""
        ...

    def by_source(self) -> None:
        """Flows: by source and revision, with the references between flows and the
        ownership rule (planning/plan.py ``build_plan``)."""
        ...


class KindBase:
    """The defaults of ``KindFacts`` (and of ``encode``/``decode``): a new kind derives from
    it and overrides what differs. Its ``target_prefix`` defaults to its ``name``."""

    name: str
    noun: str
    undeclared_note = "not in git (deletion is off: --delete would remove it)"
    target_word = "ID"
    target_example = "my-item"
    level = NAMESPACE_LEVEL
    # Namespace files and KV pairs: 0 (a flow may read them), flows: 1. A kind that a flow
    # must exist for (a flow's tests) would take 2: written after the flows, deleted before.
    write_phase = 0
    inherited_by_children = False
    retired_with_namespace = True

    @property
    def plural(self) -> str:
        return self.noun + "s"

    @property
    def target_prefix(self) -> str:
        return self.name

    def target_id(self, item_id: str) -> str:
        return item_id

    def promoted(self, local: LocalItem, remote: RemoteItem) -> Any:
        return remote.payload

    def file_bytes(self, payload: Any) -> bytes | None:
        return None

    def pull_read(self, client: KindClient, scope: PullScope) -> list[RemoteItem]:
        """The kind's ``read`` in each pulled namespace, or once for the tenant (a tenant-level
        kind, pulled with `--all` or `--dashboards` only)."""
        if self.level == TENANT_LEVEL and not scope.with_tenant:
            return []
        where = [""] if self.level == TENANT_LEVEL else scope.namespaces
        read = self.read  # type: ignore[attr-defined]  # KindBase is half of a Kind
        try:
            return [item for namespace in where for item in read(client, scope.tenant, namespace)]
        except KindUnsupported as err:
            raise KindUnsupported(f"not pulled {self.plural}: {err.message}") from err

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        """Nothing: a kind that does not say which files its items are is not pulled."""
        from .pulling import Pulled

        return Pulled()

    def overlay(
        self, scan: LocalScan, overlays: Overlays, settings: Any, problems: list[Diagnostic]
    ) -> None:
        """Merge the selected environment's overlays of this kind into ``scan`` (none)."""

    def overlay_problems(self, overlays: Overlays, settings: Any) -> list[Diagnostic]:
        """For `validate`: what this kind's rules find in every environment's overlays."""
        return []

    def check_against_flows(self, scan: LocalScan, flows: list[LocalFlow]) -> list[Diagnostic]:
        return []  # items that name no flow

    def check_before_writes(self, changes: list[Change]) -> None:
        """Nothing to check before writing (the default)."""

    def map_sources(self, scan: LocalScan, mapping: dict[str, str], map_source: Any) -> list:
        return []  # sources that name no namespace: the mapping moves their refs only

    def compare(self, comparisons: Comparisons) -> None:
        """The compare step: by content digest, unless a kind specialises it."""
        comparisons.by_digest(self)  # type: ignore[arg-type]  # KindBase is half of a Kind

    def encode(self, payload: Any) -> Any:
        return payload

    def decode(self, data: Any) -> Any:
        return data


_FACTS = (
    "undeclared_note",
    "target_word",
    "target_example",
    "level",
    "write_phase",
    "inherited_by_children",
    "target_id",
    "promoted",
    "file_bytes",
    "pull_read",
    "pull_files",
    "overlay",
    "overlay_problems",
    "check_against_flows",
    "check_before_writes",
    "retired_with_namespace",
    "map_sources",
    "compare",
    "encode",
    "decode",
)


def facts(kind: Any) -> KindFacts:
    """``kind`` with every fact ``KindBase`` defaults: a kind written against the seam alone
    (without deriving from ``KindBase``) gets the defaults set on it, once."""
    if isinstance(kind, KindBase):
        return kind
    if not hasattr(kind, "target_prefix"):
        kind.target_prefix = kind.name
    if not hasattr(kind, "plural"):
        kind.plural = kind.noun + "s"
    for fact in _FACTS:
        if not hasattr(kind, fact):
            default = getattr(KindBase, fact)
            setattr(kind, fact, default.__get__(kind) if callable(default) else default)
    return kind
