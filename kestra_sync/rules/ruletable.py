"""The table of Kestra rules and server behaviours that change between versions: each row says
which versions refuse (or rename) something, what to write instead, and the source it was read
from. Data only, and the version axis its rows are written on (``since``/``before``/``between``).

The patterns, reserved words and the helpers that read this table live in ``knowledge``, which
re-exports every name here: the validator (``flowrules``) and the emulator read the table as
``knowledge.X``. Like ``knowledge``, this module imports nothing but the standard library, so the
emulator, which imports nothing else of the tool, may import it: one table, so the two can never
disagree.

Sources: Kestra's own code, each row naming the file it copies and the kestra-io/kestra commit
that introduced (or removed) the behaviour. A release is read where ``develop`` was cut for it
(the commit before each ``gradle.properties`` bump to the next SNAPSHOT: 0.22 ``ea7c709f5^``,
0.23 ``8de568e7a^``, 0.24 ``46a294f25^``, 1.0 ``7fa93d776^``, 1.1 ``9294c9f88^``, 1.2
``d3649c41d^``, 1.3 ``cd8039309^``; 2.0 is ``develop`` after the ``kestra_v2`` merge
``996466e09``), so "since 1.1" means the commit is an ancestor of the 1.1 cut and not of the 1.0
one. The migration guides ``kestra.io/docs/migration-guide/{1.0.0,1.1.0,v2.0.0}`` are linked
for users, never used as the proof of a refusal. For the API rows: the controllers each row
names, and kestra-io/client-sdk's specs.

``tests/test_versions.py`` checks that every row deciding a refusal cites a file and a commit.
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
    ``fix``: what to write instead; ``mechanical`` when ``fix`` can replace the text as is,
    and then ``fix_valid`` cites the Kestra code that makes the new text valid (``validate
    --fix`` prints it with each rewrite).
    ``source``: the Kestra file and commit the row copies (every row that refuses has one).
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
    fix_valid: str = ""


_r = Rule  # short name for the table below


V2 = ("2.0",)

# Top-level flow keys accepted by some versions only.
FLOW_KEY_RULES = {
    "listeners": _r(
        code="removed-listeners",
        what="top-level 'listeners'",
        refused=V2,
        fix="move the listener tasks to 'afterExecution' (with a 'runIf' condition)",
        source="Flow.java (listeners @Deprecated since 0.12); removed in 2.0 by ce1dcb178",
        guide=MIGRATION_GUIDE_2_0,
    ),
    "taskDefaults": _r(
        code="removed-taskDefaults",
        what="top-level 'taskDefaults'",
        refused=V2,
        fix="pluginDefaults",
        mechanical=True,
        source="Flow.java setTaskDefaults (alias of pluginDefaults since 6aa1a228f, 0.17); "
        "removed in 2.0 by f3e32efe6",
        guide=MIGRATION_GUIDE_2_0 + "/plugin-defaults-removed",
        fix_valid="Kestra 0.17: Flow.java pluginDefaults, 6aa1a228f",
    ),
    # Flow-level `pluginDefaults` is no row: Flow.java of 2.0 (develop 8ecd83370) still declares
    # it, without @Deprecated, so no version refuses or deprecates it.
    "workerGroup": _r(
        code="flow-workerGroup",
        what="flow-level 'workerGroup'",
        refused=before("0.24") + V2,
        fix="workerSelector (2.0)",
        source="AbstractFlow.java workerGroup, from 5f7ecba4c (0.24); replaced in 2.0 by "
        "workerSelector (da42c3422)",
        guide=MIGRATION_GUIDE_2_0,
    ),
    "workerSelector": _r(
        code="flow-workerSelector",
        what="flow-level 'workerSelector'",
        refused=before("2.0"),
        fix="workerGroup (1.x) or remove it",
        source="AbstractFlow.java workerSelector (da42c3422, 2.0)",
    ),
    "checks": _r(
        code="flow-checks",
        what="top-level 'checks'",
        refused=before("1.2"),
        fix="remove it, or upgrade Kestra to 1.2 or later",
        source="Flow.java checks (eb51c5be3, 1.2)",
    ),
    "updated": _r(
        code="flow-updated",
        what="top-level 'updated'",
        refused=before("1.3"),
        fix="remove it (the server sets it from 1.3 on)",
        source="AbstractFlow.java updated (20c005309, 1.3)",
    ),
    "quotas": _r(
        code="flow-quotas",
        what="top-level 'quotas'",
        refused=before("2.0"),
        fix="remove it, or upgrade Kestra to 2.0",
        source="Flow.java quotas (9636a3464, 2.0)",
    ),
    "draft": _r(
        code="flow-draft",
        what="top-level 'draft'",
        refused=before("2.0"),
        fix="remove it (drafts exist from 2.0, Enterprise)",
        source="Enterprise only: kestra-io/client-sdk kestra-ee.yml AbstractFlow.draft, first in "
        "fd8e5db6 (2.0.0-SNAPSHOT, 2026-07-03); not in OSS AbstractFlow.java (8ecd83370)",
    ),
    "policyRefs": _r(
        code="flow-policyRefs",
        what="top-level 'policyRefs'",
        refused=before("2.0"),
        fix="remove it (Enterprise 2.0 only)",
        source="Enterprise only: kestra-io/client-sdk kestra-ee.yml AbstractFlow.policyRefs, first "
        "in a73fe0f9 (2.0.0-SNAPSHOT, 2026-07-23); not in OSS AbstractFlow.java (8ecd83370)",
    ),
}

# FlowValidator / InputValidator rules that differ per version.
RESERVED_FLOW_ID = _r(
    code="reserved-flow-id",
    what="a reserved flow id",
    refused=between("1.0", "1.3"),
    fix="rename the flow",
    source="FlowValidator.java RESERVED_FLOW_IDS (d4e7b0cde, 1.0); removed in 2.0 by c6ca1a5f8",
    guide="https://kestra.io/docs/migration-guide/1.0.0/reserved-flow-ids",
    server_text="Flow id is a reserved keyword: {id}. List of reserved keywords: {all}",
)
OPTIONAL_WITH_DEFAULTS = _r(
    code="optional-input-with-defaults",
    what="an input with 'required: false' and 'defaults'",
    refused=since("1.1"),
    fix="drop 'required: false' (the default always applies), or use 'prefill' instead of "
    "'defaults'",
    source="InputValidator.java (6361a02de, 1.1)",
    guide="https://kestra.io/docs/migration-guide/1.1.0",
    server_text="Inputs with a default value must be required, since the default is always "
    "applied.",
)
DEFAULTS_WITH_PREFILL = _r(
    code="input-defaults-with-prefill",
    what="an input with both 'defaults' and 'prefill'",
    refused=since("1.1"),
    fix="keep one of 'defaults' and 'prefill'",
    source="InputValidator.java (6361a02de, 1.1)",
    server_text="Inputs with a default value cannot also have a prefill.",
)
DASHED_INPUT_REFERENCE = _r(
    code="dashed-input-reference",
    what="'{{ inputs.a-b }}' (a dotted reference to an input id with a dash)",
    refused=since("0.23"),
    fix="{{ inputs['a-b'] }}",
    mechanical=True,
    source="FlowValidator.java, inputs with '-' (1fb6958e9, 0.23)",
    fix_valid="Kestra 0.23: the bracket form FlowValidator.java asks for, 1fb6958e9",
    server_text="Invalid input reference: use inputs[key-name] instead of inputs.key-name — keys "
    "with dashes require bracket notation, offending tasks: [{tasks}]",
)
DASHED_OUTPUT_REFERENCE = _r(
    code="dashed-output-reference",
    what="'{{ outputs.task-id.x }}' (a dotted reference to a task id with a dash)",
    refused=since("0.23"),
    fix="{{ outputs['task-id'].x }}",
    mechanical=True,
    source="FlowValidator.java, outputs with '-' (1fb6958e9, 0.23)",
    fix_valid="Kestra 0.23: the bracket form FlowValidator.java asks for, 1fb6958e9",
    server_text="Invalid output reference: use outputs[key-name] instead of outputs.key-name — "
    "keys with dashes require bracket notation, offending tasks: [{tasks}]",
)
SCHEDULE_MISSING_INPUT = _r(
    code="schedule-missing-input",
    what="a Schedule trigger that leaves an input without 'defaults' unset",
    refused=V2,
    fix="give the input a 'defaults', or set it under the trigger's 'inputs:' "
    "('required: false' does not exempt it)",
    # findMissingInputsForScheduleTriggers: every input with getDefaults() == null, whatever
    # its `required`; the missing ids joined by " | " (a HashSet: their order is not fixed).
    source="FlowValidator.java findMissingInputsForScheduleTriggers (e074d223d, 2.0)",
    guide=MIGRATION_GUIDE_2_0,
    server_text="Missing inputs for Schedule Trigger '{trigger}', missing inputs: '{inputs}'",
)
INPUT_NAME = _r(
    code="input-name",
    what="an input written 'name:' instead of 'id:'",
    refused=V2,
    renamed=before("2.0"),
    fix="id",
    mechanical=True,
    source="Input.java setName copies into id (deprecated since 0.15); removed in 2.0 by f2a41d09b",
    guide=MIGRATION_GUIDE_2_0,
    fix_valid="Kestra 0.15: Input.java id, 66e7f5298",
)

# Rules every supported version applies (FlowValidator and bean validation); listed so the
# emulator and the validator share their texts.
ALWAYS = VERSIONS
RECURSIVE_SUBFLOW = _r(
    code="recursive-subflow",
    what="a Subflow task that calls its own flow",
    refused=ALWAYS,
    fix="call another flow",
    source="FlowValidator.java, ExecutableTask.subflowId (every supported version: 0.22 ea7c709f5^ "
    "to 2.0 8ecd83370)",
    server_text="Recursive call to flow [{namespace}.{id}]",
)
DUPLICATE_INPUT = _r(
    code="duplicate-input-id",
    what="two inputs with the same id",
    refused=ALWAYS,
    fix="rename one",
    source="FlowValidator.java, input unique name (0.22 ea7c709f5^ to 2.0 8ecd83370)",
    server_text="Duplicate input with name [{ids}]",
)
DUPLICATE_OUTPUT = _r(
    code="duplicate-output-id",
    what="two outputs with the same id",
    refused=ALWAYS,
    fix="rename one",
    source="FlowValidator.java, output unique name (0.22 ea7c709f5^ to 2.0 8ecd83370)",
    server_text="Duplicate output with name [{ids}]",
)
DEPENDS_ON_UNKNOWN = _r(
    code="input-depends-on-unknown",
    what="an input whose dependsOn names an unknown input",
    refused=ALWAYS,
    fix="name an existing input",
    source="FlowValidator.java checkFlowInputsDependencyGraph (0.22 ea7c709f5^ to 2.0 8ecd83370)",
    server_text="Input with id '{id}' depends on a non-existent input '{other}'.",
)
DEPENDS_ON_CYCLE = _r(
    code="input-depends-on-cycle",
    what="inputs whose dependsOn form a cycle",
    refused=ALWAYS,
    fix="break the cycle",
    source="FlowValidator.java CycleDependency (0.22 ea7c709f5^ to 2.0 8ecd83370)",
    server_text="Cycle dependency detected for input with id '{id}': [{path}]",
)
SYSTEM_LABEL = _r(
    code="system-label",
    what="a 'system.' label other than system.readOnly",
    refused=ALWAYS,
    fix="rename the label",
    source="FlowValidator.java, Label.SYSTEM_PREFIX / READ_ONLY (0.22 ea7c709f5^ to 2.0 8ecd83370)",
    server_text="System labels can only be set by Kestra itself, offending label: {key}={value}",
)

# ------------------------------------------------------------------------------ removed in 2.0
# Each read in Kestra's code: the commit that removed it is not an ancestor of the 1.3 cut
# (``cd8039309^``) and is in 2.0. A flow using one of these is refused when 2.0 parses it.


@dataclass(frozen=True)
class Removal:
    old: str
    new: str  # replacement, "" when there is none
    source: str  # the Kestra commit (and file, where not the class itself) that removed it
    mechanical: bool = False  # the new text replaces the old one as is
    fix_valid: str = ""  # for a mechanical one: the Kestra code that makes ``new`` valid
    refused: tuple[str, ...] = V2  # () for a deprecation that 2.0 still accepts (a warning)


# Where the current core type names come from (``a31310850``, 0.17: "move plugin classes to a
# dedicated package", which kept the old names as aliases): valid on every supported version.
CORE_TYPES_VALID = "Kestra 0.17: io.kestra.plugin.core.* classes, a31310850"

# Task and trigger types removed in 2.0 (exact type, or a prefix ending with ".").
REMOVED_TYPES_2_0 = (
    Removal("io.kestra.plugin.core.flow.ForEach", "io.kestra.plugin.core.flow.Loop", "e03e3de9e"),
    Removal(
        "io.kestra.plugin.core.flow.ForEachItem", "io.kestra.plugin.core.flow.Loop", "9f8b07e18"
    ),
    Removal(
        "io.kestra.plugin.core.flow.EachSequential", "io.kestra.plugin.core.flow.Loop", "629486469"
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
        "0aa2fd670",
    ),
    Removal(
        "io.kestra.plugin.core.execution.Resume",
        "io.kestra.plugin.kestra (plugin-kestra)",
        "0aa2fd670",
    ),
    Removal(
        "io.kestra.plugin.core.trigger.Toggle",
        "io.kestra.plugin.kestra (plugin-kestra)",
        "0aa2fd670",
    ),
    Removal(
        "io.kestra.plugin.core.log.Fetch", "io.kestra.plugin.kestra (plugin-kestra)", "cdb858294"
    ),
    # Trigger conditions went with the `conditions` property (de3f3341d removed every class of
    # io.kestra.plugin.core.condition); these three were removed before it.
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

# The legacy names Kestra kept as @Plugin aliases since a31310850 (0.17), removed in 2.0: the
# core task aliases by db4416f48, the trigger aliases by f3cf6f7b6. An alias of a class that 2.0
# removed altogether (Echo, EachSequential, Template...) is refused the same way; its class has
# a row above, and the alias points to it. Keys: the alias; values: the type it named.
LEGACY_TASK_ALIASES = {
    "io.kestra.core.tasks.debugs.Return": "io.kestra.plugin.core.debug.Return",
    "io.kestra.core.tasks.executions.Fail": "io.kestra.plugin.core.execution.Fail",
    "io.kestra.core.tasks.executions.Labels": "io.kestra.plugin.core.execution.Labels",
    "io.kestra.core.tasks.storages.Purge": "io.kestra.plugin.core.execution.PurgeExecutions",
    "io.kestra.plugin.core.storage.Purge": "io.kestra.plugin.core.execution.PurgeExecutions",
    "io.kestra.core.tasks.flows.AllowFailure": "io.kestra.plugin.core.flow.AllowFailure",
    "io.kestra.core.tasks.flows.Dag": "io.kestra.plugin.core.flow.Dag",
    "io.kestra.core.tasks.flows.If": "io.kestra.plugin.core.flow.If",
    "io.kestra.core.tasks.flows.Parallel": "io.kestra.plugin.core.flow.Parallel",
    "io.kestra.core.tasks.flows.Pause": "io.kestra.plugin.core.flow.Pause",
    "io.kestra.core.tasks.flows.Sequential": "io.kestra.plugin.core.flow.Sequential",
    "io.kestra.core.tasks.flows.Subflow": "io.kestra.plugin.core.flow.Subflow",
    "io.kestra.core.tasks.flows.Flow": "io.kestra.plugin.core.flow.Subflow",
    "io.kestra.core.tasks.flows.Switch": "io.kestra.plugin.core.flow.Switch",
    "io.kestra.core.tasks.flows.WorkingDirectory": "io.kestra.plugin.core.flow.WorkingDirectory",
    "io.kestra.core.tasks.flows.Worker": "io.kestra.plugin.core.flow.WorkingDirectory",
    "io.kestra.core.tasks.log.Log": "io.kestra.plugin.core.log.Log",
    "io.kestra.core.tasks.storages.Concat": "io.kestra.plugin.core.storage.Concat",
    "io.kestra.core.tasks.storages.DeduplicateItems": "io.kestra.plugin.core.storage.DeduplicateItems",
    "io.kestra.core.tasks.storages.Delete": "io.kestra.plugin.core.storage.Delete",
    "io.kestra.core.tasks.storages.FilterItems": "io.kestra.plugin.core.storage.FilterItems",
    "io.kestra.core.tasks.storages.PurgeExecution": (
        "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles"
    ),
    "io.kestra.plugin.core.storage.PurgeExecution": (
        "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles"
    ),
    "io.kestra.core.tasks.storages.Reverse": "io.kestra.plugin.core.storage.Reverse",
    "io.kestra.core.tasks.storages.Size": "io.kestra.plugin.core.storage.Size",
    "io.kestra.core.tasks.storages.Split": "io.kestra.plugin.core.storage.Split",
    "io.kestra.core.tasks.templating.TemplatedTask": "io.kestra.plugin.core.templating.TemplatedTask",
    # Aliases of classes 2.0 removed (rows of REMOVED_TYPES_2_0: not a mechanical fix).
    "io.kestra.core.tasks.flows.ForEachItem": "io.kestra.plugin.core.flow.ForEachItem",
    "io.kestra.core.tasks.flows.EachParallel": "io.kestra.plugin.core.flow.EachParallel",
    "io.kestra.core.tasks.flows.EachSequential": "io.kestra.plugin.core.flow.EachSequential",
    "io.kestra.core.tasks.flows.Template": "io.kestra.plugin.core.flow.Template",
    "io.kestra.core.tasks.debugs.Echo": "io.kestra.plugin.core.debug.Echo",
    "io.kestra.core.tasks.executions.Counts": "io.kestra.plugin.core.execution.Count",
    "io.kestra.core.tasks.log.Fetch": "io.kestra.plugin.core.log.Fetch",
    "io.kestra.core.tasks.states.Delete": "io.kestra.plugin.core.state.Delete",
    "io.kestra.core.tasks.states.Get": "io.kestra.plugin.core.state.Get",
    "io.kestra.core.tasks.states.Set": "io.kestra.plugin.core.state.Set",
    "io.kestra.core.tasks.storages.LocalFiles": "io.kestra.plugin.core.storage.LocalFiles",
    "io.kestra.core.tasks.trigger.Toggle": "io.kestra.plugin.core.trigger.Toggle",
}
LEGACY_TRIGGER_ALIASES = {
    "io.kestra.core.models.triggers.types.Flow": "io.kestra.plugin.core.trigger.Flow",
    "io.kestra.core.models.triggers.types.Schedule": "io.kestra.plugin.core.trigger.Schedule",
    "io.kestra.core.models.triggers.types.Webhook": "io.kestra.plugin.core.trigger.Webhook",
}
LEGACY_TASK_ALIASES_SOURCE = "@Plugin(aliases) of each core task; removed in 2.0 by db4416f48"
LEGACY_TRIGGER_ALIASES_SOURCE = (
    "@Plugin(aliases) of core Flow/Schedule/Webhook; removed by f3cf6f7b6"
)
# PurgeExecutions and PurgeCurrentExecutionFiles got their names later (dd2f8b42c, 8885e589d,
# both 0.18): still older than every supported version.
LEGACY_ALIAS_FIX_VALID = (
    CORE_TYPES_VALID + " (PurgeExecutions dd2f8b42c, PurgeCurrentExecutionFiles 8885e589d: 0.18)"
)

# Types the migration guide v2.0.0 lists as moved to another plugin, which kestra-io/kestra does
# not hold: a plugin's version is not Kestra's, so 2.0 may still accept them where the old
# plugin is installed. A warning on 2.0 (never an error), not read in the plugins' code.
MOVED_PLUGIN_TYPES_2_0 = (
    Removal(
        "io.kestra.plugin.notifications.slack.",
        "io.kestra.plugin.slack.notifications.",
        "migration guide v2.0.0 (plugin-notifications; not read in its code)",
        refused=(),
    ),
    Removal(
        "io.kestra.plugin.git.Push",
        "io.kestra.plugin.git.SyncFlows",
        "migration guide v2.0.0 (plugin-git; not read in its code)",
        refused=(),
    ),
    Removal(
        "io.kestra.plugin.scripts.nashorn.",
        "another script plugin",
        "migration guide v2.0.0 (plugin-scripts; not read in its code)",
        refused=(),
    ),
)

# Input types renamed in 2.0. BOOL exists from c35352e2b (0.23), SELECT from 7cb41fb8f (0.20):
# the rewrite is offered for a 2.0 target only (validate --fix needs one).
REMOVED_INPUT_TYPES_2_0 = (
    Removal(
        "BOOLEAN",
        "BOOL",
        "Input.java @JsonSubTypes (b57d56df5)",
        True,
        "Kestra 0.23: BoolInput.java, c35352e2b",
    ),
    Removal(
        "ENUM",
        "SELECT",
        "Input.java @JsonSubTypes (5c6b19bea)",
        True,
        "Kestra 0.20: SelectInput.java, 7cb41fb8f",
    ),
)
FILE_INPUT_EXTENSION = Removal("extension", "", "FileInput.java (4761244c0)")
TRIGGER_CONDITIONS = Removal(
    "conditions", "a 'when' Pebble expression", "AbstractTrigger.java (de3f3341d)"
)
FLOW_TRIGGER_KEYS = (
    Removal("preconditions", "dependsOn + window", "trigger/Flow.java (738c5b116)"),
    Removal("multipleConditions", "dependsOn + window", "trigger/Flow.java (738c5b116)"),
)
SCHEDULE_CONDITIONS = Removal(
    "scheduleConditions", "a 'when' Pebble expression", "trigger/Schedule.java (74a601b0b)"
)
# 2.0 replaced Task/AbstractTrigger `workerGroup` by `workerSelector` (da42c3422): the whole
# key is unknown to 2.0, not only its `key`.
TASK_WORKER_GROUP = Removal(
    "workerGroup", "workerSelector", "Task.java / AbstractTrigger.java (da42c3422)"
)
# Renamed with an alias kept (a warning on 2.0, never an error): Check.setCondition copies into
# `when` (a2c91de80). Task `runIf` is no row: its rename to `when` (4e974f98c) was reverted by
# 0e7efb160, and Task.java of 2.0 (8ecd83370) declares `runIf`.
CHECK_CONDITION = Removal(
    "condition",
    "when",
    "check/Check.java setCondition (a2c91de80)",
    True,
    "Kestra 2.0: check/Check.java when, a2c91de80",
    refused=(),
)
# Expressions: the deprecated `json` filter and function (JsonFilter extends ToJsonFilter,
# JsonFunction extends FromJsonFunction) were removed by 4f782b38e; their new names exist
# since 9c2158c9f (0.18). The server does not check expressions when a flow is saved: the
# render fails.
EXPRESSION_REMOVALS_2_0 = (
    # (regex, replacement text, source)
    (r"\bjson\(", "fromJson(", "pebble/Extension.java (4f782b38e)"),
    (r"\|\s*json\b(?!\w)", "| toJson", "pebble/Extension.java (4f782b38e)"),
)
JSON_FIX_VALID = "Kestra 0.18: pebble toJson / fromJson, 9c2158c9f"
# Pebble functions removed with ForEach (e03e3de9e): no replacement inside Loop's iterations.
REMOVED_FUNCTIONS_2_0 = (
    Removal("currentEachOutput", "", "pebble/Extension.java (e03e3de9e)"),
    Removal("parentOutput", "", "pebble/Extension.java (e03e3de9e)"),
    Removal("iterationOutput", "", "pebble/Extension.java (e03e3de9e)"),
)
# Script tasks' `runner:` is deprecated, not removed: its removal (dfae1c8a0) was reverted by
# 1a9e668b4 before 2.0. Not mechanical: `runner: DOCKER` is a word, `taskRunner:` a mapping.
RUNNER_KEY = Removal(
    "runner",
    "taskRunner (a mapping with a 'type')",
    "script AbstractExecScript.java runner (deprecated; removal reverted by 1a9e668b4)",
    refused=(),
)


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
    source="AuthenticationFilter.java (develop 8ecd83370); before 0.24 the filter "
    "opens only the configured open-urls (/ping, webhooks: git mirror 58c1ca2d). kestra PR "
    "#17539 (merged 2026-07-21, after 2.0 began) requires auth on /api/v1/configs and opens "
    "/api/v1/configs/login instead",
)
BASIC_AUTH_REALM = ApiFact(
    what="a 401 carries 'WWW-Authenticate: Basic realm=Kestra' (later: 'Basic', and no header "
    "when the Referer ends in /login)",
    versions=before("0.24"),
    source="AuthenticationFilter: PREFIX + ' realm=' + getRealm(), realm default 'Kestra' (git "
    "mirror 58c1ca2d; the 0.23 copy in louloulin/kestrax 3107a9694); develop: "
    "AuthenticationFilter.java 8ecd83370",
)
CONFIGS_BASIC_AUTH_INITIALIZED = ApiFact(
    what="GET /api/v1/configs reports 'isBasicAuthInitialized' (before: 'isBasicAuthEnabled')",
    versions=since("0.24"),
    source="MiscController.java: isBasicAuthInitialized from ff8c22455 (0.24; isBasicAuthEnabled "
    "before it)",
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

TESTS_RUN_ANSWERS_ONE = ApiFact(
    what="POST /api/v1/{tenant}/tests/{namespace}/{id}/run (Enterprise) answers one "
    "TestSuiteRunResult, which GET /api/v1/{tenant}/tests/results/{id} reads back; before, the "
    "run answered a list of them and no result could be read by id",
    versions=since("1.0"),
    source="kestra-io/client-sdk kestra-ee.yml: runTestSuite answers `type: array` of "
    "TestSuiteRunResult and getTestResult is absent at 926dc17b (2025-06-13, the 0.22 "
    "profile's description); one TestSuiteRunResult and getTestResult at 500410a9 (v1.0, "
    "2025-10-07); 1.0 is the first release known to answer so",
)

LENIENT_UPDATE = ApiFact(
    what="PUT /flows/{namespace}/{id} parses the source leniently: a key the version does not "
    "know is ignored (the flow is saved without it), where a create refuses it",
    versions=before("2.0"),
    source="AbstractJdbcFlowRepository.update: pluginDefaultService.injectAllDefaults(flow, "
    "false) (1.3 cut cd8039309^); FlowService.update parses with strictParsing=true from "
    "691c55a93 (2.0)",
)
NSFILE_SPACE_AS_PLUS = ApiFact(
    what="a namespace file path is read through new URI(URLEncoder.encode(path)): a space is "
    "stored as '+', so '/a b.txt' and '/a+b.txt' are one file",
    versions=before("2.0"),
    source="NamespaceFileController.java (from ae615ddb3, 0.19, to the 1.3 cut cd8039309^); "
    "fixed in 2.0 by 186b632e9 (new URI(null, null, path, null))",
)
NAMESPACE_PREFIX_FILTER = ApiFact(
    what="filters[namespace][PREFIX] (the namespace or a child of it); 0.23 calls it "
    "NAMESPACE_PREFIX, 0.22 has neither (QueryFilter.Op.valueOf fails: 422 Illegal argument)",
    versions=since("0.24"),
    source="QueryFilter.java: no such Op at the 0.22 cut (ea7c709f5^); NAMESPACE_PREFIX at the "
    "0.23 cut (8de568e7a^), renamed PREFIX by e163d9112 (0.24)",
)

# ------------------------------------------------------------------------------ dashboards
DASHBOARD_IDS = ApiFact(
    what="a dashboard's YAML names its own `id`, which POST /dashboards keeps (422 'Dashboard "
    "id already exists' when taken) and PUT /dashboards/{id} checks (422 'Illegal dashboard id "
    "update'); before, the server made up every id and refused a YAML naming one (422 'Illegal "
    "argument: Dashboard id is not editable')",
    versions=since("1.0"),
    source="DashboardController.java / Dashboard.java: id @Hidden and IdUtils.create() at the "
    "0.22 cut (ea7c709f5^); mandatory and kept from 5da4d8873 (2025-08-27, in the 1.0 cut "
    "7fa93d776^)",
)
# The core chart types (io.kestra.plugin.core.dashboard.chart.*), by the version they came in.
DASHBOARD_CHART_PACKAGE = "io.kestra.plugin.core.dashboard.chart."
DASHBOARD_CHART_TYPES = {
    "Bar": since("0.22"),
    "Markdown": since("0.22"),
    "Pie": since("0.22"),
    "Table": since("0.22"),
    "TimeSeries": since("0.22"),
    "KPI": since("0.23"),  # KPI.java, ea402261d (2025-05-27)
}
DASHBOARD_CHART_TYPES_SOURCE = (
    "core/src/main/java/io/kestra/plugin/core/dashboard/chart/*.java (the six classes at the "
    "1.0 cut 7fa93d776^ and on develop 8ecd83370; KPI from ea402261d)"
)
# Chart.java: `id` @Pattern, Dashboard.java: `id` and `title` @NotBlank (develop 8ecd83370).
DASHBOARD_CHART_ID = r"[a-zA-Z0-9][a-zA-Z0-9_-]*"
DASHBOARD_KEYS = ("id", "title", "description", "timeWindow", "charts")
