"""KestraClient: the flow operations kestra-sync needs, one method per REST call (plus the
few compositions that must be done carefully: paging, export + search, upsert, validate).

Paths are relative to ``/api/v1/{tenant}/flows`` (docs/kestra-api.md; kestra FlowController
``@Controller("/api/v1/{tenant}/flows")``). Flow sources go out as UTF-8 bytes, verbatim, with
``Content-Type: application/x-yaml``; the server stores them byte for byte (docs/kestra-api.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..errors import (
    AlreadyExistsError,
    ApiError,
    ConfigError,
    IncompleteListingError,
    InputError,
    NotFoundError,
    ServerError,
    UnexpectedResponseError,
)
from ..models import DEFAULT_TENANT, NAMESPACE_MAX, NAMESPACE_RE, RemoteFlow
from .dashboards import DashboardsMixin
from .http import (
    DEFAULT_MAX_REPLY_MB,
    DEFAULT_POOL_SIZE,
    LIMIT_HINT,
    OCTET,
    YAML,
    Transport,
    redact_userinfo,
    tenant_path,
)
from .resources import NamespaceResourcesMixin
from .testsuites import TestSuitesMixin
from .wire import (
    VALIDATE_JOINER,
    UpsertResult,
    ValidationResult,
    ZipTooLargeError,
    flow_identity,
    identity_from_entry_name,
    last_page,
    parse_flow,
    parse_validation_item,
    prepare_for_validate,
    read_zip,
    same_source,
)

log = logging.getLogger(__name__)

# Kestra bounds `size` only below (`@Min(1) int size`, FlowController.searchFlows, unchanged from
# 0.20 to develop 2026; PageableUtils.from adds no cap), so one page can hold a whole namespace
# and a plan costs two requests per namespace (search + export) whatever its size. 10,000 is
# also the deepest window an Elasticsearch-backed server (EE) serves by default
# (index.max_result_window: from + size <= 10,000); a bigger namespace is read in more pages.
SEARCH_PAGE_SIZE = 10_000
VALIDATE_BATCH_SIZE = 100  # kestractl validates 100 sources a request (docs/anchors.md)


class KestraClient(NamespaceResourcesMixin, DashboardsMixin, TestSuitesMixin):
    """A thin client for Kestra's flows API, bound to one server and one tenant."""

    def __init__(
        self,
        url: str,
        tenant: str = DEFAULT_TENANT,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        verify: bool | str | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        max_reply_mb: float = DEFAULT_MAX_REPLY_MB,
        pool_size: int = DEFAULT_POOL_SIZE,
        *,
        _transport: Transport | None = None,
    ):
        if not tenant:
            # An empty tenant would give /api/v1//flows (a kestrapy pitfall, docs/anchors.md).
            raise ConfigError("the tenant must not be empty", hint="OSS uses the tenant 'main'")
        self.tenant = tenant
        self.http = _transport or Transport(
            url,
            username=username,
            password=password,
            token=token,
            timeout=timeout,
            verify=verify,
            retries=retries,
            backoff=backoff,
            max_reply_mb=max_reply_mb,
            pool_size=pool_size,
        )
        self.http.allow_post_retries(self._path("validate"))

    @classmethod
    def from_settings(cls, settings: Any, **kw: Any) -> KestraClient:
        """Build a client from ``kestra_sync.settings.config.Settings``."""
        if not settings.url:
            raise ConfigError(
                "no Kestra server URL given",
                hint="pass --server http://host:8080 or set KESTRA_URL",
            )
        return cls(
            settings.url,
            tenant=settings.tenant,
            username=settings.username,
            password=settings.password,
            token=settings.token,
            timeout=settings.timeout,
            verify=settings.verify,
            max_reply_mb=settings.max_reply_mb,
            pool_size=max(DEFAULT_POOL_SIZE, settings.parallelism),  # one per thread
            **kw,
        )

    def with_tenant(self, tenant: str) -> KestraClient:
        """The same server, session and credentials, another tenant."""
        return KestraClient("", tenant=tenant, _transport=self.http)

    def leaving_refusals_to_caller(self) -> KestraClient:
        """This client, except that a write the server refuses with 429/503 raises at once
        instead of being resent: for a caller that resends it itself with fewer writes in
        flight (apply's throttle), so that one layer, not two, retries it."""
        return KestraClient(
            "", tenant=self.tenant, _transport=self.http.leaving_refusals_to_caller()
        )

    def close(self) -> None:
        """Close the pooled connections (shared with ``with_tenant`` clients)."""
        self.http.close()

    def __enter__(self) -> KestraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def display_url(self) -> str:
        """The server URL without any credentials, for reports and saved plans."""
        return redact_userinfo(self.base_url)

    def __repr__(self) -> str:
        return f"KestraClient({self.display_url!r}, tenant={self.tenant!r})"

    def _path(self, *segments: str) -> str:
        return tenant_path(self.tenant, "flows", *segments)

    def _flow(self, method: str, path: str, resp: Any, *, write: bool, sent: str | None = None):
        data = self.http.json(method, path, resp, write=write)
        try:
            return parse_flow(data, tenant=self.tenant, source=sent)
        except ValueError as exc:
            raise self.http.unexpected(method, path, resp, str(exc), write=write) from None

    # -- single flows ----------------------------------------------------------------------

    def create_flow(self, source: str) -> RemoteFlow:
        """``POST /flows``: 200 with the FlowWithSource (not 201). An existing id gives
        AlreadyExistsError (422). Resent only after a failed connection or a 429/503, which
        say it was not processed (retries.py; not even those on a ``leaving_refusals_to_caller``
        client)."""
        path = self._path()
        resp = self.http.request("POST", path, body=source.encode("utf-8"), content_type=YAML)
        return self._flow("POST", path, resp, write=True, sent=source)

    def update_flow(self, namespace: str, flow_id: str, source: str) -> RemoteFlow:
        """``PUT /flows/{ns}/{id}``: not an upsert; a missing or deleted flow gives
        NotFoundError, an id/namespace differing from the path gives InvalidFlowError
        ("Illegal flow id update", kestra Flow.validateUpdate, 8ecd8337). Saving the same source
        returns the existing revision (no new one)."""
        path = self._path(namespace, flow_id)
        resp = self.http.request("PUT", path, body=source.encode("utf-8"), content_type=YAML)
        return self._flow("PUT", path, resp, write=True, sent=source)

    def get_flow(
        self,
        namespace: str,
        flow_id: str,
        source: bool = True,
        revision: int | None = None,
        allow_deleted: bool = False,
    ) -> RemoteFlow:
        """``GET /flows/{ns}/{id}``; NotFoundError when missing (or deleted, unless
        ``allow_deleted``). With ``source`` the stored text comes back verbatim."""
        path = self._path(namespace, flow_id)
        params: dict[str, Any] = {"source": "true" if source else "false"}
        if revision is not None:
            params["revision"] = int(revision)
        if allow_deleted:
            params["allowDeleted"] = "true"
        resp = self.http.request("GET", path, params=params)
        return self._flow("GET", path, resp, write=False)

    def delete_flow(self, namespace: str, flow_id: str, missing_ok: bool = False) -> None:
        """``DELETE /flows/{ns}/{id}``: 204, no body (the spec also lists 200). The server keeps
        the flow as a ``deleted`` revision. A missing flow gives NotFoundError unless
        ``missing_ok``. A 404 that answers a *retried* DELETE counts as done: the attempt whose
        reply was lost (a read timeout, a 502 from a proxy) is what deleted it."""
        path = self._path(namespace, flow_id)
        try:
            self.http.request("DELETE", path)
        except NotFoundError as err:
            if not (missing_ok or getattr(err, "retried", False)):
                raise

    # -- listings --------------------------------------------------------------------------

    def list_namespace(self, namespace: str) -> list[RemoteFlow]:
        """``GET /flows/{ns}``: flows in exactly this namespace (no children), last revision,
        deleted ones excluded, no ``source`` (docs/kestra-api.md)."""
        path = self._path(namespace)
        resp = self.http.request("GET", path)
        data = self.http.json("GET", path, resp, write=False)
        if not isinstance(data, list):
            raise self.http.unexpected("GET", path, resp, "expected a JSON list", write=False)
        flows = []
        for item in data:
            try:
                flows.append(parse_flow(item, tenant=self.tenant))
            except ValueError as exc:
                raise self.http.unexpected("GET", path, resp, str(exc), write=False) from None
        return flows

    @staticmethod
    def _namespace_filter(namespace: str | None, include_children: bool) -> dict[str, str]:
        # filters[namespace][PREFIX] = the namespace itself or anything below "ns." (kestra
        # AbstractJdbcRepository: eq(s).or(startsWith(s + "."))); EQUALS = exactly it.
        if namespace is None:
            return {}
        op = "PREFIX" if include_children else "EQUALS"
        return {f"filters[namespace][{op}]": namespace}

    @staticmethod
    def _older_prefix(err: ApiError, params: dict[str, str]) -> dict[str, str] | None:
        """The namespace-or-children filter of an older Kestra, when ``err`` says this one
        lacks the operation sent: 0.23 names PREFIX ``NAMESPACE_PREFIX`` (renamed by kestra
        e163d9112, 0.24), and 0.22 has neither but its namespace STARTS_WITH means the same
        (AbstractJdbcRepository.applyNamespaceCondition at ea7c709f5^). Both answer an unknown
        operation with 422 "Illegal argument: No enum constant ...QueryFilter.Op.X"."""
        older = {"PREFIX": "NAMESPACE_PREFIX", "NAMESPACE_PREFIX": "STARTS_WITH"}
        for op, instead in older.items():
            key = f"filters[namespace][{op}]"
            if key in params and err.status == 422 and f"Op.{op}" in (err.server_message or ""):
                return {f"filters[namespace][{instead}]": params[key]}
        return None

    @staticmethod
    def _in_scope(ns: str, namespace: str | None, include_children: bool) -> bool:
        if namespace is None:
            return True
        return ns == namespace or (include_children and ns.startswith(namespace + "."))

    def search_flows(
        self,
        namespace: str | None = None,
        include_children: bool = False,
        page_size: int = SEARCH_PAGE_SIZE,
    ) -> list[RemoteFlow]:
        """All flows matching the namespace filter, every page of ``GET /flows/search``
        (1-based ``page``, ``{"results", "total"}``; no sources). Raises
        IncompleteListingError rather than return a list that cannot be proven complete: a
        page shorter than promised, a ``total`` that changes between pages, a duplicate. A
        result outside the requested namespace means the server ignored the filter (a Kestra
        too old for ``filters[...]``): that raises too, since deleting from such a list would
        touch other namespaces."""
        path = self._path("search")
        base = self._namespace_filter(namespace, include_children)
        # A stable order across pages: without `sort` the SQL order is unspecified.
        sort = [("sort", "namespace:asc"), ("sort", "id:asc")]
        flows: list[RemoteFlow] = []
        seen: set[tuple[str, str]] = set()
        total: int | None = None
        page = 1
        while True:
            params = [("page", str(page)), ("size", str(page_size)), *sort, *base.items()]
            try:
                resp = self.http.request("GET", path, params=params)
            except ApiError as err:
                older = self._older_prefix(err, base) if page == 1 else None
                if older is None:
                    raise
                base = older
                continue
            data = self.http.json("GET", path, resp, write=False)
            results = data.get("results") if isinstance(data, dict) else None
            page_total = data.get("total") if isinstance(data, dict) else None
            if not isinstance(results, list) or not isinstance(page_total, int):
                raise self.http.unexpected(
                    "GET", path, resp, "expected {results, total}", write=False
                )
            if total is None:
                total = page_total
            elif page_total != total:
                raise self._incomplete(
                    f"the number of flows changed from {total} to {page_total} while paging"
                )
            for item in results:
                try:
                    flow = parse_flow(item, tenant=self.tenant)
                except ValueError as exc:
                    raise self.http.unexpected("GET", path, resp, str(exc), write=False) from None
                if not self._in_scope(flow.namespace, namespace, include_children):
                    raise UnexpectedResponseError(
                        f"GET {path}: the server returned flow {flow.namespace}/{flow.id} for a "
                        f"search limited to namespace {namespace!r}: it ignored the filter",
                        status=resp.status_code,
                        method="GET",
                        path=path,
                        hint="kestra-sync needs a Kestra server that supports filters[...] (>= 0.23)",
                    )
                key = (flow.namespace, flow.id)
                if key in seen:
                    raise self._incomplete(f"flow {key[0]}/{key[1]} appeared on two pages")
                seen.add(key)
                flows.append(flow)
            if last_page(
                len(flows), total, page, len(results), page_size, "flows", self._incomplete
            ):
                return flows
            page += 1

    @staticmethod
    def _incomplete(why: str) -> IncompleteListingError:
        return IncompleteListingError(
            f"the server's list of flows is incomplete: {why}",
            hint="flows were probably changed while kestra-sync read them; run it again",
        )

    def export_sources(
        self,
        namespace: str,
        include_children: bool = False,
        known: Mapping[str, tuple[str, str]] | None = None,
    ) -> dict[tuple[str, str], str]:
        """``GET /flows/export/by-query`` -> {(namespace, id): source} in one request.

        Each zip entry holds the stored source **verbatim**: kestra HasSource.asZipFile writes
        ``flow.source()`` = the ``source_code`` column, with no ``revision:`` line injected
        (develop 2026-07, FlowController.exportFlowsByQuery). A ``revision: N`` line is there
        only if the stored source itself has one; compare with ``same_source``, which drops it
        as the server does. Deleted flows are not exported.

        Namespace and id come from each entry's YAML, not its name (``{ns}-{id}.yml`` is
        ambiguous since both may contain ``-`` and ``.``; before 0.21 it was ``{ns}.{id}.yml``).
        An entry whose YAML cannot be read is keyed by its name when the namespace is known
        exactly, and otherwise left out (logged): callers that must be complete use
        ``namespace_flows``, which fills such gaps with a GET.

        ``known`` maps texts whose namespace and id the caller already read (the local flows'
        files) to them: an entry with exactly that text is not read again. A plan of unchanged
        flows then reads no server source at all."""
        path = self._path("export", "by-query")
        params = self._namespace_filter(namespace, include_children)
        resp = self.http.request("GET", path, params=params, accept=OCTET)
        try:
            entries = read_zip(resp.content, self.http.max_reply_bytes)
        except ZipTooLargeError as exc:
            raise UnexpectedResponseError(
                f"GET {path}: the export from {self.http.origin} was refused: {exc}; it expands "
                f"to more than the limit of {self.http.max_reply_mb:g} MiB (--max-reply-mb)",
                status=resp.status_code,
                method="GET",
                path=path,
                hint=LIMIT_HINT,
            ) from None
        except ValueError as exc:
            raise self.http.unexpected("GET", path, resp, str(exc), write=False) from None
        out: dict[tuple[str, str], str] = {}
        for name, text in entries:
            ns, fid = (known.get(text) if known else None) or flow_identity(text)
            if (ns is None or fid is None) and not include_children:
                ns, fid = namespace, identity_from_entry_name(name, namespace)
            if ns is None or fid is None:
                log.debug("export entry %s: cannot tell its namespace/id; left out", name)
                continue
            if not self._in_scope(ns, namespace, include_children):
                raise UnexpectedResponseError(
                    f"GET {path}: the export for namespace {namespace!r} holds flow {ns}/{fid}: "
                    "the server ignored the filter",
                    status=resp.status_code,
                    method="GET",
                    path=path,
                    hint="kestra-sync needs a Kestra server that supports filters[...] (>= 0.23)",
                )
            if (ns, fid) in out:
                raise self.http.unexpected(
                    "GET", path, resp, f"flow {ns}/{fid} is in the export twice", write=False
                )
            out[(ns, fid)] = text
        return out

    def namespace_flows(
        self,
        namespace: str,
        include_children: bool = False,
        known: Mapping[str, tuple[str, str]] | None = None,
    ) -> list[RemoteFlow]:
        """Every flow of the namespace (and its children if asked), complete and with sources,
        in a few requests: the search pages give revisions, labels and flags, one export gives
        the sources. A flow the export lacks is fetched with its own GET. Raises
        IncompleteListingError when the two disagree otherwise (a flow only in the export, or
        one that vanished before its GET): flows changed meanwhile, and a partial list must
        never drive deletions. ``known``: see ``export_sources``."""
        flows = self.search_flows(namespace, include_children)
        try:
            sources = self.export_sources(namespace, include_children, known)
        except ServerError as exc:
            # Two flows whose "{ns}-{id}.yml" names collide (a.x/b-c and a.x-b/c) make Java's
            # ZipOutputStream throw "duplicate entry", so the whole export is a 500. Every
            # flow is then fetched on its own: slower, still complete.
            if "duplicate entry" not in (exc.server_message or ""):
                raise
            log.debug("export failed (%s); fetching each flow", exc.server_message)
            sources = {}
        listed = {(f.namespace, f.id) for f in flows}
        extra = sorted(set(sources) - listed)
        if extra:
            ns, fid = extra[0]
            raise self._incomplete(f"flow {ns}/{fid} is in the export but not in the search")
        for flow in flows:
            text = sources.get((flow.namespace, flow.id))
            if text is not None:
                flow.source = text
                continue
            try:
                fetched = self.get_flow(flow.namespace, flow.id, source=True)
            except NotFoundError:
                raise self._incomplete(
                    f"flow {flow.namespace}/{flow.id} was listed but is gone"
                ) from None
            if fetched.revision != flow.revision:
                raise self._incomplete(
                    f"flow {flow.namespace}/{flow.id} changed (revision {flow.revision} -> "
                    f"{fetched.revision}) while it was being read"
                )
            flow.source = fetched.source
        return flows

    def distinct_namespaces(self, q: str | None = None) -> list[str]:
        """``GET /flows/distinct-namespaces``: namespaces that hold flows."""
        path = self._path("distinct-namespaces")
        resp = self.http.request("GET", path, params={"q": q} if q else None)
        data = self.http.json("GET", path, resp, write=False)
        if not isinstance(data, list) or not all(isinstance(n, str) for n in data):
            raise self.http.unexpected("GET", path, resp, "expected a list of strings", write=False)
        # Each name is shown in a plan and in a command to copy: one Kestra would refuse (a
        # shell command, an escape sequence) makes the whole listing untrusted; not echoed.
        refused = [n for n in data if not NAMESPACE_RE.fullmatch(n) or len(n) > NAMESPACE_MAX]
        if refused:
            why = f"{len(refused)} name(s) that are not Kestra namespaces"
            raise self.http.unexpected("GET", path, resp, why, write=False)
        return list(data)

    # -- server ----------------------------------------------------------------------------

    def server_version(self) -> str:
        """``GET /api/v1/configs``: the version the server reports, e.g. "1.3.2".

        Kestra's MiscController serves it at ``/api/v1{/tenant}/configs`` up to 0.2x (git mirror,
        Dec 2024) and at ``/api/v1/configs`` since (develop 996466e09, 2.0), so the untenanted
        path works on every version; the OSS AuthenticationFilter leaves it open
        (docs/kestra-api.md). ``Configuration.version`` comes from VersionProvider (falls back to
        the text "Snapshot"). Raises the client's typed errors, or UnexpectedResponseError when
        there is no ``version`` text in the answer."""
        path = "/api/v1/configs"
        resp = self.http.request("GET", path)
        data = self.http.json("GET", path, resp, write=False)
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(version, str) or not version:
            raise self.http.unexpected("GET", path, resp, "no 'version' in the answer", write=False)
        return version

    # -- validate --------------------------------------------------------------------------

    def validate_flows(
        self, sources: list[str], batch_size: int = VALIDATE_BATCH_SIZE
    ) -> list[ValidationResult]:
        """Server-side validation, one result per input in input order (``index`` = the
        input's position). Sources are sent as multi-document YAML bodies of up to
        ``batch_size``; each is first made safe for the server's split (see
        ``wire.prepare_for_validate``) so results map back by index. A source that cannot be
        sent as exactly one document (empty, or several documents) gets a local result with
        ``constraints`` saying why. Invalid flows are not errors: the server answers 200.
        The YAML form works on every version (multipart parts need >= 1.3)."""
        results: list[ValidationResult | None] = [None] * len(sources)
        pending: list[tuple[int, str]] = []
        for i, source in enumerate(sources):
            text, problem = prepare_for_validate(source)
            if text is None:
                results[i] = ValidationResult(index=i, constraints=problem)
            else:
                pending.append((i, text))
        path = self._path("validate")
        for start in range(0, len(pending), max(1, batch_size)):
            batch = pending[start : start + max(1, batch_size)]
            body = VALIDATE_JOINER.join(text for _, text in batch).encode("utf-8")
            resp = self.http.request("POST", path, body=body, content_type=YAML)
            data = self.http.json("POST", path, resp, write=False)
            if not isinstance(data, list):
                raise self.http.unexpected("POST", path, resp, "expected a JSON list", write=False)
            try:
                items = [parse_validation_item(item) for item in data]
            except ValueError as exc:
                raise self.http.unexpected("POST", path, resp, str(exc), write=False) from None
            if sorted(item.index for item in items) != list(range(len(batch))):
                raise self.http.unexpected(
                    "POST",
                    path,
                    resp,
                    f"sent {len(batch)} flows, got results for indexes "
                    f"{sorted(item.index for item in items)}",
                    write=False,
                )
            for item in items:
                item.index = batch[item.index][0]
                results[item.index] = item
        return [r for r in results if r is not None]

    # -- upsert ----------------------------------------------------------------------------

    def upsert(
        self, source: str, namespace: str | None = None, flow_id: str | None = None
    ) -> UpsertResult:
        """Create the flow, or update it when it exists and differs.

        POST; on 422 "already exists" GET the stored source: the same by the server's rule
        (``same_source``) -> ``unchanged`` with no write, else PUT -> ``updated``. If the flow
        vanishes in between (GET or PUT 404), create once more. ``namespace``/``flow_id``
        default to the source's own and must match it."""
        if namespace is None or flow_id is None:
            ns, fid = flow_identity(source)
            namespace = namespace if namespace is not None else ns
            flow_id = flow_id if flow_id is not None else fid
            if namespace is None or flow_id is None:
                missing = "namespace" if namespace is None else "id"
                raise InputError(
                    f"cannot upsert a flow whose YAML has no string '{missing}'",
                    hint="a flow needs top-level 'id' and 'namespace' keys",
                )
        for attempt in (1, 2):
            try:
                return UpsertResult("created", self.create_flow(source))
            except AlreadyExistsError:
                if attempt == 2:
                    raise
            try:
                current = self.get_flow(namespace, flow_id, source=True)
            except NotFoundError:
                continue  # deleted between our POST and GET: create again, once
            if current.source is not None and same_source(current.source, source):
                return UpsertResult("unchanged", current, current.revision)
            try:
                updated = self.update_flow(namespace, flow_id, source)
            except NotFoundError:
                continue  # deleted between our GET and PUT: create again, once
            # The server skips a save whose source is the same (docs/kestra-api.md).
            action = "unchanged" if updated.revision == current.revision else "updated"
            return UpsertResult(action, updated, current.revision)
        raise AssertionError("unreachable")  # pragma: no cover
