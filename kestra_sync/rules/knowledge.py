"""What kestra-sync knows about Kestra flows: the patterns, limits and reserved words that hold
on every version, and the helpers that read the per-version rule table (``ruletable``: each row
with its source). Every name of ``ruletable`` is re-exported here, so ``knowledge.X`` is the one
way the validator (``flowrules``, ``flowchecks``) and the emulator read Kestra facts; neither
hard-codes one of its own.

It imports nothing but the standard library and ``ruletable``, so the emulator, which imports
nothing else of the tool, may import it (the one exception, stated in the emulator's docstring
too).

Sources: Kestra's ``AbstractFlow`` / ``Input.java`` / ``Output.java`` / ``TaskInterface.java``
(git mirror, Dec 2024), ``FlowValidator`` (1.x copy), ``Flow.java`` and the Enterprise OpenAPI description (tests/data/openapi/kestra-2.0.yml), as
each line says.
"""

from __future__ import annotations

import re

from .ruletable import (  # noqa: F401 - re-exported: the table, read as knowledge.X
    ALWAYS,
    BASIC_AUTH_REALM,
    CHECK_CONDITION,
    CONFIGS_BASIC_AUTH_INITIALIZED,
    CONFIGS_OPEN,
    CORE_TYPES_VALID,
    DASHBOARD_CHART_ID,
    DASHBOARD_CHART_PACKAGE,
    DASHBOARD_CHART_TYPES,
    DASHBOARD_CHART_TYPES_SOURCE,
    DASHBOARD_IDS,
    DASHBOARD_KEYS,
    DASHED_INPUT_REFERENCE,
    DASHED_OUTPUT_REFERENCE,
    DEFAULTS_WITH_PREFILL,
    DEPENDS_ON_CYCLE,
    DEPENDS_ON_UNKNOWN,
    DUPLICATE_INPUT,
    DUPLICATE_OUTPUT,
    EMULATOR_PROFILES,
    EXPRESSION_REMOVALS_2_0,
    FILE_INPUT_EXTENSION,
    FLOW_KEY_RULES,
    FLOW_TRIGGER_KEYS,
    INPUT_NAME,
    JSON_FIX_VALID,
    KV_NAMESPACE_LISTING,
    KV_TENANT_LISTING,
    LATEST,
    LEGACY_ALIAS_FIX_VALID,
    LEGACY_TASK_ALIASES,
    LEGACY_TASK_ALIASES_SOURCE,
    LEGACY_TRIGGER_ALIASES,
    LEGACY_TRIGGER_ALIASES_SOURCE,
    LENIENT_UPDATE,
    MANDATORY_BASIC_AUTH,
    MIGRATION_GUIDE_2_0,
    MOVED_PLUGIN_TYPES_2_0,
    NAMESPACE_PREFIX_FILTER,
    NSFILE_SPACE_AS_PLUS,
    OPTIONAL_WITH_DEFAULTS,
    RECURSIVE_SUBFLOW,
    REMOVED_FUNCTIONS_2_0,
    REMOVED_INPUT_TYPES_2_0,
    REMOVED_TYPES_2_0,
    RESERVED_FLOW_ID,
    RUNNER_KEY,
    SCHEDULE_CONDITIONS,
    SCHEDULE_MISSING_INPUT,
    SYSTEM_LABEL,
    TASK_WORKER_GROUP,
    TESTS_RUN_ANSWERS_ONE,
    TRIGGER_CONDITIONS,
    V2,
    VERSIONS,
    ApiFact,
    Removal,
    Rule,
    before,
    between,
    since,
    version_key,
)

_VERSION_TEXT = re.compile(r"^\s*v?(\d+)\.(\d+)(?:[.\-+].*)?\s*$")


def parse_version(text: str | None) -> tuple[int, int] | None:
    """``"1.3.2"``, ``"0.24.0-SNAPSHOT"``, ``"v2.0"`` -> (major, minor); None when unreadable
    (Kestra's VersionProvider falls back to the text "Snapshot")."""
    if not text:
        return None
    m = _VERSION_TEXT.match(str(text))
    return (int(m.group(1)), int(m.group(2))) if m else None


def supported_version(text: str | None) -> str | None:
    """The table version whose rules a server of version ``text`` follows: the newest supported
    version at or below it (1.4 -> 1.3, 3.1 -> 2.0); an older server than 0.22 -> 0.22."""
    parsed = parse_version(text)
    if parsed is None:
        return None
    older = [v for v in VERSIONS if version_key(v) <= parsed]
    return older[-1] if older else VERSIONS[0]


def describe_versions(versions: tuple[str, ...] | list[str]) -> str:
    """("1.0", "1.1", "1.2", "1.3") -> "1.0-1.3"; ("0.22", "2.0") -> "0.22, 2.0"."""
    chosen = [v for v in VERSIONS if v in versions]
    runs: list[list[str]] = []
    for v in chosen:
        if runs and VERSIONS.index(v) == VERSIONS.index(runs[-1][-1]) + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


# ------------------------------------------------------------------------------ patterns
# Whole-string patterns (jakarta @Pattern matches the whole value). Same on every version.

FLOW_ID_PATTERN = "^[a-zA-Z0-9][a-zA-Z0-9._-]*"  # AbstractFlow.id
NAMESPACE_PATTERN = "^[a-z0-9][a-z0-9._-]*"  # AbstractFlow.namespace
TASK_ID_PATTERN = "^[a-zA-Z0-9][a-zA-Z0-9_-]*"  # TaskInterface.id, TriggerInterface.id: no dot
INPUT_ID_PATTERN = "^[a-zA-Z0-9][.a-zA-Z0-9_-]*"  # Input.id (Input.java)
OUTPUT_ID_PATTERN = "^[a-zA-Z0-9][.a-zA-Z0-9_-]*"  # Output.id (Output.java)
TENANT_PATTERN = "^[a-z0-9][a-z0-9_-]*"  # AbstractFlow.tenantId
# Before kestra 99a92015f (Nov 2023, "mandate all ids to start with a letter or a number") the
# patterns were these: a server may still hold such flows (models.server_name_problem).
LEGACY_FLOW_ID_PATTERN = "[a-zA-Z0-9._-]+"
LEGACY_NAMESPACE_PATTERN = "[a-z0-9._-]+"
FLOW_ID_MAX = 100
NAMESPACE_MAX = 150
TASK_ID_MAX = 256  # TaskInterface: "Task id must be at most 256 characters"
INPUT_DISPLAY_NAME_MAX = 64  # Input.displayName @Size(max = 64)

SYSTEM_LABEL_PREFIX = "system."
SYSTEM_LABEL_ALLOWED = ("system.readOnly",)  # Label.READ_ONLY

# FlowValidator.RESERVED_FLOW_IDS (d4e7b0cde, 1.0; dropped again in 2.0 by c6ca1a5f8).
RESERVED_FLOW_IDS = (
    "pause",
    "resume",
    "force-run",
    "change-status",
    "kill",
    "executions",
    "search",
    "source",
    "disable",
    "enable",
)

TASK_LISTS = ("tasks", "errors", "finally", "afterExecution")
# Keys of a flowable task that hold child tasks (lists) or named branches (maps of lists).
# Approximate: the real list comes from each plugin's FlowableTask.allChildTasks().
CHILD_TASK_KEYS = ("tasks", "errors", "finally", "then", "else", "afterExecution")
CHILD_BRANCH_KEYS = ("cases",)

# Task types that call another flow (ExecutableTask.subflowId): FlowValidator refuses a call to
# the flow itself ("Recursive call to flow [ns.id]").
SUBFLOW_TYPES = (
    "io.kestra.plugin.core.flow.Subflow",
    "io.kestra.core.tasks.flows.Subflow",
    "io.kestra.core.tasks.flows.Flow",
)
SCHEDULE_TYPES = (
    "io.kestra.plugin.core.trigger.Schedule",
    "io.kestra.core.models.triggers.types.Schedule",
)

# Top-level keys every supported version accepts (AbstractFlow + Flow + FlowWithSource; Flow.java
# 0.20 l.86 onwards). Keys that only some versions accept are rows of FLOW_KEY_RULES below.
COMMON_FLOW_KEYS = (
    "id",
    "namespace",
    "revision",
    "description",
    "inputs",
    "outputs",
    "disabled",
    "deleted",
    "tenantId",
    "labels",
    "variables",
    "tasks",
    "errors",
    "finally",
    "afterExecution",
    "triggers",
    "pluginDefaults",
    "concurrency",
    "retry",
    "sla",
    "source",
)


# Declaration order of the flow properties (AbstractFlow, Flow, FlowWithSource): the order
# Jackson lists them in and the emulator echoes them in.
FLOW_KEY_ORDER = (
    "id",
    "namespace",
    "revision",
    "updated",
    "description",
    "inputs",
    "outputs",
    "disabled",
    "deleted",
    "tenantId",
    "labels",
    "variables",
    "workerGroup",
    "workerSelector",
    "tasks",
    "errors",
    "finally",
    "afterExecution",
    "listeners",
    "triggers",
    "pluginDefaults",
    "taskDefaults",
    "concurrency",
    "retry",
    "sla",
    "checks",
    "quotas",
    "draft",
    "policyRefs",
    "source",
)
# In the Enterprise spec only (tests/data/openapi/kestra-2.0.yml): an OSS server of any version refuses them.
EE_ONLY_FLOW_KEYS = ("draft", "policyRefs")


def known_flow_keys(version: str, edition: str = "ee") -> tuple[str, ...]:
    """Top-level keys a Kestra of ``version`` binds (the strict parse refuses any other), in
    declaration order. ``edition="oss"`` leaves out the Enterprise-only keys."""
    keys = set(COMMON_FLOW_KEYS) | {
        k for k, rule in FLOW_KEY_RULES.items() if version not in rule.refused
    }
    if edition == "oss":
        keys -= set(EE_ONLY_FLOW_KEYS)
    return tuple(k for k in FLOW_KEY_ORDER if k in keys)


# ------------------------------------------------------------------------------ same source
# Kestra's rule for "same source", the one definition the tool and the emulator share:
# FlowInterface.isSameWithSource compares sourceWithoutRevision(source), which removes the
# first match of YAML_REVISION_MATCHER, `(?m)^revision: \d+\n?`, and then the text byte for
# byte (kestra-io/kestra core/src/main/java/io/kestra/core/models/flows/FlowInterface.java at
# 0e35f2e7b04ea807c81a56de8c8c5ae1f2460791). Saving a source that is the same by this rule
# makes no new revision; whitespace, comments and a trailing newline all count.
# Java's MULTILINE `^` also matches after a lone \r, U+0085, U+2028 and U+2029 (never between
# \r and \n), and Java's \d is ASCII-only: mirrored here so that the verdict is the server's.
_REVISION_LINE = re.compile(
    r"(?:\A|(?<=\n)|(?<=\r)(?!\n)|(?<=[\u0085\u2028\u2029]))revision: [0-9]+\n?"
)


def source_without_revision(source: str) -> str:
    """``FlowInterface.sourceWithoutRevision``: the source without its first revision line."""
    # The regex tries its lookbehinds at every position (about 0.1 ms for a 1.5 KB flow): a
    # source without the text "revision: " cannot match it.
    if "revision: " not in source:
        return source
    return _REVISION_LINE.sub("", source, count=1)


def same_source(a: str, b: str) -> bool:
    """True when the server treats saving ``b`` over ``a`` as a no-op (no new revision)."""
    return a == b or source_without_revision(a) == source_without_revision(b)
