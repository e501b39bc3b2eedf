"""The table of Kestra rules and server behaviours that change between versions: each row says
which versions refuse (or rename) something, what to write instead, and the source it was read
from. Data only, and the version axis its rows are written on (``since``/``before``/``between``).

The patterns, reserved words and the helpers that read this table live in ``knowledge``, which
re-exports every name here: the validator (``flowrules``) and the emulator read the table as
``knowledge.X``. Like ``knowledge``, this module imports nothing but the standard library, so the
emulator, which imports nothing else of the tool, may import it: one table, so the two can never
disagree.

Sources: ``/work/shared/kestra/versions.md`` (commit ids are kestra-io/kestra develop commits;
release mapping by ``gradle.properties``), Kestra's ``FlowValidator`` (1.x, the copy read at
kestra-io/kestra ``core/.../validations/validator/FlowValidator.java``), ``InputValidator``
(git mirror, Dec 2024), the migration guides ``kestra.io/docs/migration-guide/{1.0.0,1.1.0,
v2.0.0}``, and for the API rows the docs, kestra-io/client-sdk's specs and the controllers each
row names.
"""

from __future__ import annotations

from dataclasses import dataclass

# Versions a rule can name: the releases whose flow rules differ (0.22 .. 2.0). A server's
# version maps onto the nearest one at or below it (``supported_version``).
VERSIONS = ("0.22", "0.23", "0.24", "1.0", "1.1", "1.2", "1.3", "2.0")
LATEST = VERSIONS[-1]
# Profiles the emulator offers (kestra-sync emulator --kestra-version).
EMULATOR_PROFILES = ("0.22", "1.0", "1.3", "2.0")
MIGRATION_GUIDE_2_0 = "https://kestra.io/docs/migration-guide/v2.0.0"


def version_key(version: str) -> tuple[int, int]:
    """ "1.3" -> (1, 3): versions compare as numbers, not as text."""
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def since(version: str) -> tuple[str, ...]:
    """The supported versions from ``version`` on."""
    return tuple(v for v in VERSIONS if version_key(v) >= version_key(version))


def before(version: str) -> tuple[str, ...]:
    """The supported versions older than ``version``."""
    return tuple(v for v in VERSIONS if version_key(v) < version_key(version))


def between(first: str, last: str) -> tuple[str, ...]:
    return tuple(v for v in VERSIONS if version_key(first) <= version_key(v) <= version_key(last))


# ------------------------------------------------------------------------------ the rule table


@dataclass(frozen=True)
class Rule:
    """One thing some Kestra versions refuse (or accept only under an old name).

    ``refused``: versions that reject a flow doing it (422 on create/update/validate).
    ``renamed``: versions that still accept it as a deprecated alias (a warning, never an error).
    ``fix``: what to write instead; ``mechanical`` when ``fix`` can replace the text as is.
    """

    code: str
    what: str
    refused: tuple[str, ...]
    fix: str
    source: str
    renamed: tuple[str, ...] = ()
    guide: str = ""
    mechanical: bool = False
    # The violation text the server puts in its 422 (FlowValidator / InputValidator), where read.
    server_text: str = ""


_r = Rule  # short name for the table below


V2 = ("2.0",)

# Top-level flow keys accepted by some versions only (versions.md §1).
FLOW_KEY_RULES = {
    "listeners": _r(
        code="removed-listeners",
        what="top-level 'listeners'",
        refused=V2,
        fix="move the listener tasks to 'afterExecution' (with a 'runIf'/'when' condition)",
        source="Flow.java l.86 (@Deprecated since 0.12); removed in 2.0 by ce1dcb178",
        guide=MIGRATION_GUIDE_2_0,
    ),
    "taskDefaults": _r(
        code="removed-taskDefaults",
        what="top-level 'taskDefaults'",
        refused=V2,
        fix="pluginDefaults",
        mechanical=True,
        source="Flow.java setTaskDefaults (alias of pluginDefaults); removed in 2.0 by f3e32efe6",
        guide=MIGRATION_GUIDE_2_0 + "/plugin-defaults-removed",
    ),
    "pluginDefaults": _r(
        code="deprecated-pluginDefaults",
        what="flow-level 'pluginDefaults'",
        refused=(),
        renamed=V2,
        fix="namespace- or tenant-level plugin defaults",
        source="docs v2.0.0/plugin-defaults-removed; OSS Flow.java:94 still declares it (2026-07)",
        guide=MIGRATION_GUIDE_2_0 + "/plugin-defaults-removed",
    ),
    "workerGroup": _r(
        code="flow-workerGroup",
        what="flow-level 'workerGroup'",
        refused=before("1.0") + V2,
        fix="workerSelector (2.0)",
        source="AbstractFlow.java:86 from 5f7ecba4c (2025-06, 1.0); replaced in 2.0 by "
        "workerSelector (da42c3422)",
        guide=MIGRATION_GUIDE_2_0,
    ),
    "workerSelector": _r(
        code="flow-workerSelector",
        what="flow-level 'workerSelector'",
        refused=before("2.0"),
        fix="workerGroup (1.x) or remove it",
        source="AbstractFlow.java:88 (2.0, da42c3422)",
    ),
    "checks": _r(
        code="flow-checks",
        what="top-level 'checks'",
        refused=before("1.2"),
        fix="remove it, or upgrade Kestra to 1.2 or later",
        source="eb51c5be3 (about 1.2; inference from the develop date)",
    ),
    "updated": _r(
        code="flow-updated",
        what="top-level 'updated'",
        refused=before("1.3"),
        fix="remove it (the server sets it from 1.3 on)",
        source="20c005309 (2026-02-19, 1.3)",
    ),
    "quotas": _r(
        code="flow-quotas",
        what="top-level 'quotas'",
        refused=before("2.0"),
        fix="remove it, or upgrade Kestra to 2.0",
        source="Flow.java:136 (2.0)",
    ),
    "draft": _r(
        code="flow-draft",
        what="top-level 'draft'",
        refused=before("2.0"),
        fix="remove it (drafts exist from 2.0, Enterprise)",
        source="kestra-openapi.yml AbstractFlow (EE 2.0 spec)",
    ),
    "policyRefs": _r(
        code="flow-policyRefs",
        what="top-level 'policyRefs'",
        refused=before("2.0"),
        fix="remove it (Enterprise 2.0 only)",
        source="kestra-openapi.yml AbstractFlow (EE 2.0 spec)",
    ),
}

# FlowValidator / InputValidator rules that differ per version (versions.md §1).
RESERVED_FLOW_ID = _r(
    code="reserved-flow-id",
    what="a reserved flow id",
    refused=between("1.0", "1.3"),
    fix="rename the flow",
    source="FlowValidator.RESERVED_FLOW_IDS (d4e7b0cde, 1.0); removed in 2.0 (c6ca1a5f8); "
    "docs migration-guide/1.0.0/reserved-flow-ids",
    guide="https://kestra.io/docs/migration-guide/1.0.0/reserved-flow-ids",
    server_text="Flow id is a reserved keyword: {id}. List of reserved keywords: {all}",
)
OPTIONAL_WITH_DEFAULTS = _r(
    code="optional-input-with-defaults",
    what="an input with 'required: false' and 'defaults'",
    refused=since("1.1"),
    fix="drop 'required: false' (the default always applies), or use 'prefill' instead of "
    "'defaults'",
    source="InputValidator (6361a02de); docs migration-guide/1.1.0 (prefill)",
    guide="https://kestra.io/docs/migration-guide/1.1.0",
    server_text="Inputs with a default value must be required, since the default is always "
    "applied.",
)
DEFAULTS_WITH_PREFILL = _r(
    code="input-defaults-with-prefill",
    what="an input with both 'defaults' and 'prefill'",
    refused=since("1.1"),
    fix="keep one of 'defaults' and 'prefill'",
    source="InputValidator (with 'prefill', 1.1)",
    server_text="Inputs with a default value cannot also have a prefill.",
)
DASHED_INPUT_REFERENCE = _r(
    code="dashed-input-reference",
    what="'{{ inputs.a-b }}' (a dotted reference to an input id with a dash)",
    refused=since("0.23"),
    fix="{{ inputs['a-b'] }}",
    mechanical=True,
    source="FlowValidator.java:114-162 (1fb6958e9, 0.23)",
    server_text="Invalid input reference: use inputs[key-name] instead of inputs.key-name — keys "
    "with dashes require bracket notation, offending tasks: [{tasks}]",
)
DASHED_OUTPUT_REFERENCE = _r(
    code="dashed-output-reference",
    what="'{{ outputs.task-id.x }}' (a dotted reference to a task id with a dash)",
    refused=since("0.23"),
    fix="{{ outputs['task-id'].x }}",
    mechanical=True,
    source="FlowValidator (1.x copy) next to the input rule; its first version is an inference",
    server_text="Invalid output reference: use outputs[key-name] instead of outputs.key-name — "
    "keys with dashes require bracket notation, offending tasks: [{tasks}]",
)
SCHEDULE_MISSING_INPUT = _r(
    code="schedule-missing-input",
    what="a Schedule trigger that leaves a required input without default unset",
    refused=V2,
    fix="give the input a 'defaults', or set it under the trigger's 'inputs:'",
    source="FlowValidator.java:107 (e074d223d, 2.0); required: false exempt (f7f092584)",
    guide=MIGRATION_GUIDE_2_0,
    # The server's wording was not read: this text is the emulator's (KNOWN_GAPS).
    server_text="Schedule trigger '{trigger}' does not provide required inputs without a "
    "default value: [{inputs}]",
)
INPUT_NAME = _r(
    code="input-name",
    what="an input written 'name:' instead of 'id:'",
    refused=V2,
    renamed=before("2.0"),
    fix="id",
    mechanical=True,
    source="Input.setName copies into id (deprecated since 0.15, docs 0.15.0/inputs-name); "
    "removed in 2.0 by f2a41d09b",
    guide=MIGRATION_GUIDE_2_0,
)

# Rules every supported version applies (FlowValidator and bean validation); listed so the
# emulator and the validator share their texts.
ALWAYS = VERSIONS
RECURSIVE_SUBFLOW = _r(
    code="recursive-subflow",
    what="a Subflow task that calls its own flow",
    refused=ALWAYS,
    fix="call another flow",
    source="FlowValidator (every version read: Dec 2024 mirror, 1.x)",
    server_text="Recursive call to flow [{namespace}.{id}]",
)
DUPLICATE_INPUT = _r(
    code="duplicate-input-id",
    what="two inputs with the same id",
    refused=ALWAYS,
    fix="rename one",
    source="FlowValidator",
    server_text="Duplicate input with name [{ids}]",
)
DUPLICATE_OUTPUT = _r(
    code="duplicate-output-id",
    what="two outputs with the same id",
    refused=ALWAYS,
    fix="rename one",
    source="FlowValidator",
    server_text="Duplicate output with name [{ids}]",
)
DEPENDS_ON_UNKNOWN = _r(
    code="input-depends-on-unknown",
    what="an input whose dependsOn names an unknown input",
    refused=ALWAYS,
    fix="name an existing input",
    source="FlowValidator.checkFlowInputsDependencyGraph",
    server_text="Input with id '{id}' depends on a non-existent input '{other}'.",
)
DEPENDS_ON_CYCLE = _r(
    code="input-depends-on-cycle",
    what="inputs whose dependsOn form a cycle",
    refused=ALWAYS,
    fix="break the cycle",
    source="FlowValidator.CycleDependency",
    server_text="Cycle dependency detected for input with id '{id}': [{path}]",
)
SYSTEM_LABEL = _r(
    code="system-label",
    what="a 'system.' label other than system.readOnly",
    refused=ALWAYS,
    fix="rename the label",
    source="FlowValidator (Label.SYSTEM_PREFIX, Label.READ_ONLY)",
    server_text="System labels can only be set by Kestra itself, offending label: {key}={value}",
)

# ------------------------------------------------------------------------------ removed in 2.0
# versions.md §2 and the migration guide v2.0.0: a flow using one of these fails to parse on 2.0.


@dataclass(frozen=True)
class Removal:
    old: str
    new: str  # replacement, "" when there is none
    source: str
    mechanical: bool = False  # the new text replaces the old one as is


# Task and trigger types removed in 2.0 (exact type, or a prefix ending with ".").
REMOVED_TYPES_2_0 = (
    Removal("io.kestra.plugin.core.flow.ForEach", "io.kestra.plugin.core.flow.Loop", "629486469"),
    Removal(
        "io.kestra.plugin.core.flow.ForEachItem", "io.kestra.plugin.core.flow.Loop", "629486469"
    ),
    Removal(
        "io.kestra.plugin.core.flow.EachSequential", "io.kestra.plugin.core.flow.Loop", "bdf81b963"
    ),
    Removal(
        "io.kestra.plugin.core.flow.EachParallel", "io.kestra.plugin.core.flow.Loop", "bdf81b963"
    ),
    # Not mechanical: Echo's `format:` is Log's `message:`.
    Removal(
        "io.kestra.plugin.core.debug.Echo",
        "io.kestra.plugin.core.log.Log (its 'format:' becomes 'message:')",
        "b8c0f6265",
    ),
    Removal("io.kestra.plugin.core.flow.Template", "a Subflow task", "fd0140def"),
    Removal(
        "io.kestra.plugin.core.storage.LocalFiles",
        "inputFiles/outputFiles of the script task",
        "68b618ad2",
    ),
    Removal("io.kestra.plugin.core.state.", "io.kestra.plugin.core.kv.", "21e6f7f20"),
    Removal(
        "io.kestra.plugin.core.execution.Count",
        "io.kestra.plugin.kestra (plugin-kestra)",
        "versions.md §2",
    ),
    Removal(
        "io.kestra.plugin.core.execution.Resume",
        "io.kestra.plugin.kestra (plugin-kestra)",
        "versions.md §2",
    ),
    Removal(
        "io.kestra.plugin.core.trigger.Toggle",
        "io.kestra.plugin.kestra (plugin-kestra)",
        "versions.md §2",
    ),
    Removal(
        "io.kestra.plugin.core.log.Fetch",
        "io.kestra.plugin.kestra (plugin-kestra)",
        "versions.md §2",
    ),
    Removal(
        "io.kestra.plugin.core.storage.Purge",
        "io.kestra.plugin.core.execution.PurgeExecutions",
        "versions.md §2",
    ),
    Removal(
        "io.kestra.plugin.notifications.slack.",
        "io.kestra.plugin.slack.notifications.",
        "versions.md §2",
        True,
    ),
    Removal("io.kestra.plugin.git.Push", "io.kestra.plugin.git.SyncFlows", "versions.md §2"),
    Removal("io.kestra.plugin.scripts.nashorn.", "another script plugin", "versions.md §2"),
    Removal(
        "io.kestra.plugin.core.condition.FlowCondition", "the Flow trigger's dependsOn", "5fd73e301"
    ),
    Removal(
        "io.kestra.plugin.core.condition.FlowNamespaceCondition",
        "the Flow trigger's dependsOn",
        "5fd73e301",
    ),
    Removal(
        "io.kestra.plugin.core.condition.MultipleCondition",
        "the Flow trigger's dependsOn + window",
        "e10dfcd48",
    ),
)
# Input types renamed in 2.0 (b57d56df5, 5c6b19bea).
REMOVED_INPUT_TYPES_2_0 = (
    Removal("BOOLEAN", "BOOL", "b57d56df5", True),
    Removal("ENUM", "SELECT", "5c6b19bea", True),
)
FILE_INPUT_EXTENSION = Removal("extension", "", "4761244c0")  # FILE input 'extension'
TRIGGER_CONDITIONS = Removal("conditions", "a 'when' Pebble expression", "738c5b116")
FLOW_TRIGGER_KEYS = (
    Removal("preconditions", "dependsOn + window", "738c5b116"),
    Removal("multipleConditions", "dependsOn + window", "738c5b116"),
)
SCHEDULE_CONDITIONS = Removal("scheduleConditions", "a 'when' Pebble expression", "74a601b0b")
TASK_WORKER_GROUP_KEY = Removal("workerGroup.key", "workerSelector", "versions.md §2")
# Renamed with an alias kept (a warning on 2.0, never an error).
RENAMED_KEYS_2_0 = (
    Removal("runIf", "when", "versions.md §2 (task runIf -> when, alias kept)", True),
)
CHECK_CONDITION = Removal("condition", "when", "versions.md §2 (checks[].condition -> when)", True)
# Expressions and values.
EXPRESSION_REMOVALS_2_0 = (
    # (regex, replacement text, source)
    (r"\bjson\(", "fromJson(", "4f782b38e"),
    (r"\|\s*json\b(?!\w)", "| toJson", "4f782b38e"),
)
STATE_RENAMES_2_0 = (Removal("CANCELED", "CANCELLED", "versions.md §2", True),)
# Not mechanical: `runner: DOCKER` is a word, `taskRunner:` a mapping with a type.
RUNNER_KEY = Removal("runner", "taskRunner (a mapping with a 'type')", "versions.md §2")


# ------------------------------------------------------------------------------ API, per version
# Server behaviours (not flow rules) that differ between versions: the emulator answers by them,
# and they say what the client must cope with. ``versions``: where the behaviour holds.


@dataclass(frozen=True)
class ApiFact:
    what: str
    versions: tuple[str, ...]
    source: str


MANDATORY_BASIC_AUTH = ApiFact(
    what="Kestra OSS always requires basic auth: the 'enabled' flag is ignored, and with no "
    "credentials configured (the setup page not done) every API call but the open routes "
    "answers 401",
    versions=since("0.24"),
    source="docs administrator-guide/basic-auth-troubleshooting ('Starting with version 0.24, "
    "every open-source instance of Kestra requires Basic Authentication'); kestra#13107 (1.1.4: "
    "cannot be disabled); BasicAuthService.isAuthenticated (develop copy 0a46f3b4b06): false "
    "while no credentials are stored. Before: AuthenticationFilter checks only when "
    "kestra.server.basic-auth.enabled (git mirror 58c1ca2d, 0.21; default false in application.yml)",
)
CONFIGS_OPEN = ApiFact(
    what="GET /api/v1/configs answers without credentials (the other open routes: the setup "
    "routes /api/v1/{tenant}/basicAuth and /api/v1/basicAuthValidationErrors until credentials "
    "exist, and the management endpoints)",
    versions=since("0.24"),
    source="AuthenticationFilter (develop 2026-07-01, api-facts.md §2); before 0.24 the filter "
    "opens only the configured open-urls (/ping, webhooks: git mirror 58c1ca2d). kestra PR "
    "#17539 (merged 2026-07-21, after 2.0 began) requires auth on /api/v1/configs and opens "
    "/api/v1/configs/login instead",
)
BASIC_AUTH_REALM = ApiFact(
    what="a 401 carries 'WWW-Authenticate: Basic realm=Kestra' (later: 'Basic', and no header "
    "when the Referer ends in /login)",
    versions=before("0.24"),
    source="AuthenticationFilter: PREFIX + ' realm=' + getRealm(), realm default 'Kestra' (git "
    "mirror 58c1ca2d; the 0.23 copy in louloulin/kestrax 3107a9694); develop: api-facts.md §2",
)
CONFIGS_BASIC_AUTH_INITIALIZED = ApiFact(
    what="GET /api/v1/configs reports 'isBasicAuthInitialized' (before: 'isBasicAuthEnabled')",
    versions=since("0.24"),
    source="MiscController (git mirror 58c1ca2d: isBasicAuthEnabled; develop copy 020734a4: "
    "isBasicAuthInitialized); that it came with 0.24's mandatory auth is an inference",
)
KV_NAMESPACE_LISTING = ApiFact(
    what="GET /api/v1/{tenant}/namespaces/{namespace}/kv lists a namespace's keys (a list of "
    "KVEntry); 2.0 keeps only DELETE (bulk) on that path, so a GET answers 405",
    versions=before("2.0"),
    source="KVController @Get (git mirror 58c1ca2d; develop copy 0104f3c3181 listKeys); "
    "kestra-io/client-sdk kestra-ee.yml: GET listed up to 635944d4 (version 1.3.0, 2026-03-02), "
    "DELETE only from 4ccaa459 (2.0.0-SNAPSHOT, 2026-04-21) on",
)
KV_TENANT_LISTING = ApiFact(
    what="GET /api/v1/{tenant}/kv (listAllKeys) lists the keys of every namespace, paged "
    "({results, total}), with filters[...]",
    versions=since("1.1"),
    source="kestra-io/client-sdk kestra-ee.yml: first in 4f723efb (version 1.1.4, 2025-11-20), "
    "absent from the specs before (labelled 'v1', up to d7ef540b, 2025-11-13); so 1.1.4 at the "
    "latest, 1.1.0 an inference",
)
