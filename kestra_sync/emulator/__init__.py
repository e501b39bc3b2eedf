"""An emulator of the Kestra REST API for flows (``kestra-sync emulator``).

It serves the flow endpoints kestra-sync uses with the real server's paths, statuses, error bodies
and revision rules (see docs/kestra-api.md and Kestra's FlowController, cited in each
module). It is independent of kestra-sync's client: stdlib + pyyaml only, plus the tool's
standalone module of Kestra facts, ``knowledge`` (with ``ruletable``, the per-version rule
table), which imports only the standard library: the emulator answers as the chosen version
(``version="1.3"``) by the table the offline validator follows, but finds what a server refuses
with its own code (``flowvalidator``), not the validator's.

Python API (tests run it in-process, in a background thread, on a free port)::

    with Emulator(edition="oss", users={"admin@kestra.io": "Admin1234"}) as emu:
        # From the 0.24 profile on (and on EE) credentials are required, as on a real server:
        # with none configured every API call answers 401. ``auth=False`` turns auth off.
        emu.url                     # http://127.0.0.1:<port>
        emu.faults.add("POST", r"/flows$", status=503, count=2, retry_after=1)
        emu.latency = 0.05          # seconds added to each /api request
        emu.store, emu.stats        # the flow store and request counts per route

Modules, by job (imports one-way, from the server down): ``server`` (HTTP plumbing and
dispatch), ``routing`` (path -> route), ``access`` (auth and tenant filters), ``flowroutes`` (the
flow endpoints), ``resourceroutes`` + ``resources`` + ``kvstore`` (namespace files and the KV
store), ``control`` (the ``/_emulator`` knobs), ``settings`` (the server's settings),
``answers`` (what a route answers), ``rules`` (flow validation), ``yamlparse`` (reading a source
and its parse errors), ``errors`` (Kestra's error envelope), ``state`` (store, revisions,
persistence), ``shapes`` (JSON and zip shapes), ``faults`` (fault plan and stats).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..rules import knowledge as K
from . import testsuites
from .faults import Fault, FaultPlan, Stats
from .server import EmulatorHTTPServer
from .settings import Config
from .state import Store

__all__ = ["KNOWN_GAPS", "Emulator", "Fault", "FaultPlan", "Stats", "Store"]

KNOWN_GAPS = [
    "Flow tests (ee only; testsuites.py): flows are not executed. A run answers the shapes of "
    "Kestra's OpenAPI description with the outcome set through POST /_emulator/test-outcomes "
    "(SUCCESS by default, SKIPPED for a disabled case); the suite's state from its cases "
    "(FAILED over ERROR over SUCCESS), the create check (required fields only, not that the flow "
    "exists), the 422 texts, `source` in search results and the first Enterprise release with "
    "the endpoints are inferred, not observed. Suites are not saved in the --state file.",
    "Auth follows the profile (knowledge.MANDATORY_BASIC_AUTH, CONFIGS_OPEN, BASIC_AUTH_REALM). "
    "Not emulated: the setup routes (POST /api/v1/{tenant}/basicAuth, "
    "/api/v1/basicAuthValidationErrors), the BASIC_AUTH cookie, the credential rules (email "
    "user, strong password), management endpoints (/health, /ping), EE's exact 401/403 bodies. "
    "Kestra PR #17539 (merged 2026-07-21) requires auth on GET /api/v1/configs too and opens "
    "/api/v1/configs/login instead: the 2.0 profile answers as before it.",
    "No plugin registry: any non-empty task/trigger `type` is accepted (a real server answers 422 "
    "`Invalid type: <type>` for an unknown plugin), plugin properties are not validated, and plugin "
    "defaults (`pluginDefaults`, version defaults) are never injected into responses.",
    "Flow JSON echoes the YAML fields as written (tasks, triggers, inputs...); the real server "
    "serializes typed plugin objects, which can add or normalise properties. `source` is exact.",
    "Bean validation covers id, namespace, revision, tasks (not empty), task, trigger, input and "
    "output id patterns, duplicate task ids (nested child tasks under tasks/then/else/errors/"
    "finally only), and per version profile the rules of knowledge.py: FlowValidator (reserved "
    "ids, duplicate triggers/inputs/outputs, recursive Subflow, dependsOn, system labels, dashed "
    "references, Schedule inputs) and InputValidator (defaults with required: false or prefill). "
    "Trigger properties, preconditions ids and EE-only checks (assets) are not checked. The order "
    "of several violations in one message is stable here but a Set order on the server.",
    "Version profiles (0.22, 1.0, 1.3, 2.0): the Schedule-inputs rule of 2.0 lists the missing "
    "inputs in declaration order (Kestra joins a HashSet: its order is not fixed) and ignores "
    "FORM inputs (resolvableInputs); a removed input type "
    "(BOOLEAN/ENUM on 2.0) answers an approximation of Jackson's unknown-type-id message; a "
    "removed nested key (trigger `conditions`, input `name`, ...) answers `Unrecognized field` "
    "naming the plugin type as the class. `json()` and the Pebble functions removed with ForEach "
    "are not refused on save (they fail when rendered). A lenient update before 2.0 stores the "
    "source as sent; the flow JSON then echoes a 2.0-only key that the real server would drop "
    "from it. FlowValidator's dashed-reference check reads every property of a task (Kestra: "
    "the task class's own declared fields). The 422 for filters[namespace][PREFIX] on 0.22 "
    "assumes the binder's IllegalArgumentException reaches ErrorController (inferred). A '+' for "
    "a space in namespace-file paths before 2.0 is applied to the path parameter of every files "
    "route; a .zip upload's entry names with a space are not (Kestra's URI.create refuses them). Profiles 1.1/1.2/0.23/0.24 are not offered (the validator knows them). "
    "JSON flow bodies (hidden handlers up to 1.3): `application/json` only (0.23-1.2 sent every "
    "non-YAML type there), and the stored source is the JSON dumped as YAML, not Kestra's "
    "generated text. "
    "`GET /api/v1/configs` answers only version, edition and isBasicAuthInitialized (from 0.24; "
    "isBasicAuthEnabled before: that the switch came with 0.24 is inferred); the "
    "0.2x `/api/v1/{tenant}/configs` variant is not routed. Flow JSON echoes the 2.0 property "
    "set on every profile (a 1.3 flow's `listeners` stays in `source` only).",
    "YAML error texts imitate Jackson/SnakeYAML (probed with jackson-dataformat-yaml 2.17.2); the "
    "text after `Illegal genericflow source: YAML parsing error:` is approximate. The "
    "`(N known properties: ...)` suffix of `Unrecognized field` is approximate.",
    "Sources are parsed with libyaml (PyYAML's C loader) when available and re-read by the "
    "pure-Python loader only when refused; where the two YAML 1.1 parsers disagree with each other "
    "or with SnakeYAML on an edge case, the emulator may accept what Kestra refuses.",
    "An empty body on create/update answers 422 `Invalid route params: Required Body [...] not "
    "specified` (Micronaut, inferred); a whitespace-only body answers `Illegal genericflow "
    "source: YAML parsing error: No content to map due to end-of-input...` because "
    "GenericFlow.fromYaml runs before FlowService's blank check (`Cannot create flow with null or "
    "blank source` is unreachable over HTTP, though FlowService.create checks it).",
    "415 for a wrong Content-Type, 405 for a wrong method and the body-less 404 shape are inferred "
    "from Micronaut defaults (docs/kestra-api.md).",
    "Search: `filters[q]` (full-text on namespace+id) is a case-insensitive substring match; "
    "`scope` filters are accepted and ignored; nested `filters[and|or]` are not supported; the "
    "default order (no `sort`) is namespace then id. The legacy `q`/`namespace` params filter up "
    "to the 1.3 profile (namespace= as a prefix: the flow's namespace or a child, inferred) and are "
    "ignored on 2.0; on 0.22, `/export/by-query` ignores `filters[...]`. "
    "`distinct-namespaces?q=` is a substring match.",
    "Only these endpoints exist: create, get, update, delete, list namespace, search, validate "
    "(YAML body only, not multipart), export by query/ids, revisions, distinct-namespaces, delete "
    "by ids. Namespace update (POST /{ns}), bulk, import, enable/disable, graph, dependencies and "
    "revision deletion answer 404/405.",
    "EE: a tenant not matching `^[a-z0-9][a-z0-9_-]*` answers 404 (EE's behaviour is not public); "
    "no ACLs, no drafts, no `policyRefs`.",
    "The /api/v1/flows alias gotcha (another controller matching first) is emulated for a few "
    "names only (kv, executions, logs, namespaces, triggers, templates).",
    "401 is decided before the tenant check (filter order on the real server not verified).",
    "Error envelope details inferred from Micronaut, not observed (docs/kestra-api.md): "
    "`_links.self` as one object with `templated: false`, `_embedded.errors` as a list, key order.",
    "Namespace files: no revisions (/files/revisions, Kestra 1.2's metadata store), no "
    "/files/search, no move (PUT), no flow import from `_flows/` upload entries, no zip-bomb "
    "check on an extracted .zip upload. The 404 "
    "texts for a missing file or directory, and 200 for a DELETE of a missing path, are inferred.",
    "KV in a namespace that holds no flow (the deployed-commit record of `state_namespace`) is "
    "accepted, as KVController addresses KV pairs by namespace name on OSS; whether an Enterprise "
    "server that manages namespaces refuses one not created yet is not established.",
    "KV: Ion beyond JSON is emulated only for bare timestamps and symbols; no /kv/inheritance, "
    "no `description` on GET. The key listings follow the profile (knowledge.KV_NAMESPACE_LISTING, "
    "KV_TENANT_LISTING); for GET /api/v1/{tenant}/kv the first version (1.1.4 at the latest, 1.1.0 "
    "inferred), the filters it takes (namespace and q emulated, others a 400), its default order "
    "and the bulk DELETE's handling of an invalid key are inferred. A PUT body nested deeper "
    "than Jackson's default limit (1,000 levels; Python's parser stops a little sooner) is stored "
    "as text (KVController stores the body as a string when readTree throws a "
    "JsonProcessingException): that Jackson's Ion parser applies the limit is inferred. A number "
    'beyond a double\'s range (1e400) is a NUMBER answered as "Infinity" (Ion reads a float, '
    "Jackson writes a non-finite double as text by default): inferred, not observed.",
    "Dashboards (emulator/dashboards.py): the listing's entries carry no `sourceCode` (whether "
    "Kestra's does depends on how the repository serialised the row, not established); the "
    "parsed `charts` and `timeWindow` are not echoed; a chart type the version has no class for "
    "is refused with an inferred text; no chart data, preview, CSV export, `validate/chart` or "
    "default-dashboard settings.",
    "Not emulated: `GET /api/v1/{tenant}/namespaces/search`; whether it lists a namespace that "
    "holds only namespace files or KV pairs (no flow) on OSS is not established, so kestra-sync "
    "names leftover namespaces from `flows/distinct-namespaces` (flows only).",
    "Bounded work (emulator, not Kestra): a fault's path pattern may hold one quantifier, on one "
    "character or class, and is matched against paths of up to 4,096 characters.",
]


class Emulator:
    """Run the emulator in a background thread; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        edition: str = "oss",
        users: dict[str, str] | None = None,
        tokens: list[str] | None = None,
        latency: float = 0.0,
        state: str | Path | None = None,
        version: str = K.LATEST,
        auth: bool | None = None,
    ):
        if edition not in ("oss", "ee"):
            raise ValueError("edition must be 'oss' or 'ee'")
        if version not in K.EMULATOR_PROFILES:
            raise ValueError(f"version must be one of {', '.join(K.EMULATOR_PROFILES)}")
        self.config = Config(
            edition=edition,
            users=dict(users or {}),
            tokens=list(tokens or []),
            latency=latency,
            version=version,
            auth=auth,
        )
        self.store = Store(state)
        self._host, self._port = host, port
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        self._server = EmulatorHTTPServer((self._host, self._port), self.store, self.config)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="kestra-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()  # joins handler threads (block_on_close)
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until KeyboardInterrupt (the CLI)."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.close_connections()
            self._server.server_close()
            self._server = None

    def bind(self) -> EmulatorHTTPServer:
        """Create the listening socket without serving (the CLI prints the URL first)."""
        self._server = EmulatorHTTPServer((self._host, self._port), self.store, self.config)
        return self._server

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---------------------------------------------------------------- knobs

    @property
    def server(self) -> EmulatorHTTPServer:
        if self._server is None:
            raise RuntimeError("emulator is not running")
        return self._server

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def faults(self) -> FaultPlan:
        return self.server.faults

    @property
    def stats(self) -> Stats:
        return self.server.stats

    @property
    def latency(self) -> float:
        return self.config.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.config.latency = seconds

    def reset(self) -> None:
        """Forget all flows, faults and counters."""
        self.store.reset()
        if self._server is not None:
            self._server.faults.clear()
            self._server.stats.reset()
            testsuites.store_of(self._server).reset()

    def describe(self) -> str:
        """The start-up line: URL, version, edition and auth mode."""
        cfg = self.config
        if cfg.auth_enabled and cfg.credentials_configured:
            auth = "basic auth" + (" + bearer tokens" if cfg.edition == "ee" and cfg.tokens else "")
        elif cfg.auth_enabled:
            auth = (
                "credentials required and none configured: every API call answers 401, as a "
                "Kestra >= 0.24 before its setup"
            )
        elif cfg.has(K.MANDATORY_BASIC_AUTH) or cfg.edition == "ee":
            auth = "auth OFF (turned off; a real Kestra OSS >= 0.24 always requires basic auth)"
        else:
            auth = "auth off (optional before Kestra 0.24)"
        return f"Kestra {cfg.version} API emulator ({cfg.edition}) listening on {self.url} - {auth}"
