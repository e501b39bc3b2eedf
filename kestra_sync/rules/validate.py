"""Offline validation of local flows: the whole-directory checks (duplicates, layout), the
version table judged per flow, and the project entry point (``check_project``). The rules of one
flow are ``flowchecks``, JSON schemas ``schemacheck``, the server's validate endpoint
``servercheck``. Returns diagnostics; never raises for a bad flow.

Patterns, reserved words and every rule that differs between Kestra versions are data in
``knowledge`` (checked by ``flowrules``, judged for the target version in ``check_versioned``);
this module holds none of its own.
"""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import ERROR, WARNING, Diagnostic, FlowParsedOnUse, LocalFlow
from ..models import diag_at as _diag
from ..settings.values import LAYOUTS
from ..source import resultcache
from ..source.flowscan import collector_paused
from ..source.resultcache import ResultCache
from ..source.yamlindex import ParsedYaml, parse_yaml
from . import flowrules
from . import knowledge as K
from .flowchecks import check_flow
from .guidance import collapse_non_flows
from .schemacheck import check_schema, load_schema

# ---------------------------------------------------------------------------------------------
# whole-directory checks


def check_duplicates(
    flows: Sequence[LocalFlow], parsed: dict[str, ParsedYaml] | None = None
) -> list[Diagnostic]:
    """The same tenant/namespace/id in two files: the second would overwrite the first."""
    by_ref: dict[Any, list[LocalFlow]] = defaultdict(list)
    for flow in flows:
        if flow.ref is not None:  # set only from a mapping's id and namespace
            by_ref[flow.ref].append(flow)
    out = []
    for ref, group in by_ref.items():
        if len(group) < 2:
            continue
        for flow in group:
            others = ", ".join(str(f.path) for f in group if f is not flow)
            p = (parsed or {}).get(str(flow.path)) or parse_yaml(flow.source)  # for the line
            out.append(
                _diag(
                    flow,
                    p,
                    ("id",),
                    "duplicate-flow",
                    f"flow {ref.namespace}/{ref.id} is also defined in {others}: each "
                    "flow must live in exactly one file; remove or rename one",
                )
            )
    return out


def expected_layout_path(namespace: str, flow_id: str, layout: str) -> str:
    if layout == "nested":
        return "/".join(namespace.split(".")) + f"/{flow_id}"
    if layout == "dotted":
        return f"{namespace}/{flow_id}"
    raise ValueError(layout)


def check_layout(
    flow: LocalFlow,
    parsed: ParsedYaml | None,
    layout: str,
    root: Path,
    *,
    where: tuple[str, str] | None = None,
) -> list[Diagnostic]:
    """``where``: (working directory, absolute ``root``) when already known (one look for a
    whole project instead of four per flow)."""
    if layout == "none" or flow.namespace is None or flow.id is None:
        return []
    cwd, root_abs = where or (os.getcwd(), os.path.abspath(root))
    full = os.path.normpath(os.path.join(cwd, str(flow.path)))  # os.path.abspath
    prefix = root_abs if root_abs.endswith(os.sep) else root_abs + os.sep
    if os.name != "nt" and full.startswith(prefix):
        rel_text = full[len(prefix) :]  # what relpath answers, without its 10 us
    else:
        rel_text = os.path.relpath(full, root_abs)
    if rel_text.startswith(".."):
        return []  # outside the flow directory: no rule to apply
    rel_posix = rel_text.replace(os.sep, "/")
    name = rel_posix.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    suffix = name[dot:] if 0 < dot < len(name) - 1 else ""  # as Path.suffix
    stem = rel_posix[: len(rel_posix) - len(suffix)]
    want = expected_layout_path(flow.namespace, flow.id, layout)
    if stem == want:
        return []
    rel = Path(rel_text)
    return [
        _diag(
            flow,
            parsed,
            ("namespace",) if rel.parent.as_posix() != want.rsplit("/", 1)[0] else ("id",),
            "layout",
            f"with layout '{layout}' this flow belongs at {Path(root).as_posix()}/{want}"
            f"{rel.suffix}: move the file there or change its namespace/id",
        )
    ]


def validate_offline(
    flows: Sequence[LocalFlow],
    *,
    layout: str = "none",
    root: Path | str | None = None,
    schema: dict | Path | str | None = None,
    parsed: dict[str, ParsedYaml] | None = None,
    check_duplicate_flows: bool = True,
    version: str | None = None,
    cache: ResultCache | None = None,
    findings: dict[str, list[flowrules.Finding]] | None = None,
) -> list[Diagnostic]:
    """All offline checks on flows already loaded (see ``flows.scan``/``flows.load_flow``).

    ``cache``: the flow directory's ``resultcache``; a file whose text was checked before with
    the same path and settings is not checked again.

    ``version``: the Kestra version (a ``knowledge.VERSIONS`` entry) whose rules to follow;
    None = every supported version (an error only for what all of them refuse).
    ``findings``: where to keep each flow's version-table findings (by path), so that judging
    them for another version (``rejudge``) does not look for them again.

    ``schema``: None for the bundled structural schema, or a schema dict/file (e.g. Kestra's
    full flow schema) checked in addition. ``parsed`` carries the line index from the scan; a
    flow without one is parsed again (about 0.2 ms).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    parsed = dict(parsed or {})
    bundled = load_schema()
    extra = None
    if schema is not None:
        extra = schema if isinstance(schema, dict) else load_schema(schema)
    out: list[Diagnostic] = []
    if extra is not None:
        cache = None  # another schema: its answers are not keyed in the cache
    where = (os.getcwd(), os.path.abspath(root)) if root is not None else None
    with collector_paused():  # thousands of parsed flows alive: see flows.collector_paused
        for flow in flows:
            key = f"checks|{flow.tenant}|{flow.path}|{layout}|{root}|{version}"
            found = cache.checks(flow.source, key) if cache is not None else None
            if found is not None:
                out.extend(found)  # before touching flow.data: a FlowParsedOnUse stays unparsed
                continue
            flow, p = _with_parse(flow, parsed)
            if flow.data is None:
                continue
            found = check_flow(flow, p)
            if isinstance(flow.data, dict):
                rules = flowrules.findings(flow.data, flow.source)
                if findings is not None:
                    findings[str(flow.path)] = rules
                assert p is not None  # _with_parse parses every flow that has data
                found += check_versioned(flow, p, version, rules)
                found += check_schema(flow, p, bundled)
                if extra is not None:
                    found += check_schema(flow, p, extra, bundled=False)
            if root is not None:
                found += check_layout(flow, p, layout, Path(root), where=where)
            if cache is not None:
                cache.remember_checks(flow.source, key, found)
            out.extend(found)
    if check_duplicate_flows:
        out.extend(check_duplicates(flows, parsed))
    return out


def _with_parse(
    flow: LocalFlow, parsed: dict[str, ParsedYaml]
) -> tuple[LocalFlow, ParsedYaml | None]:
    """The flow and its parse (the line index, the written text of ids). A flow with no parse
    from the scan (a FlowParsedOnUse, or loaded elsewhere) is parsed again and checked on that
    parse's data: the written text of ids is tracked per parsed object."""
    p = parsed.get(str(flow.path))
    if p is None and (isinstance(flow, FlowParsedOnUse) or flow.data is not None):
        p = parsed[str(flow.path)] = parse_yaml(flow.source)
        if isinstance(flow, FlowParsedOnUse):
            flow.data = p.data
        else:
            flow = dataclasses.replace(flow, data=p.data)
    return flow, p


def check_versioned(
    flow: LocalFlow,
    parsed: ParsedYaml | None,
    version: str | None,
    findings: list[flowrules.Finding] | None = None,
) -> list[Diagnostic]:
    """The rules of the version table (``knowledge``), judged for ``version``; ``findings``:
    the flow's ``flowrules.findings`` when already known.

    With no version known, what only Kestra 2.0 changes is not listed construct by construct
    (a 1.3 repository would see dozens of warnings on every commit): the file gets one
    ``changes-in-2.0`` count, which ``summarize_2_0`` folds into one line for the project."""
    if findings is None:
        findings = flowrules.findings(flow.data, flow.source)
    out = []
    later = 0
    for finding in findings:
        verdict = flowrules.judge(finding, version)
        if verdict is None:
            continue
        if version is None and _only_2_0(finding.rule):
            later += 1
            continue
        severity, message = verdict
        d = _diag(flow, parsed, finding.path, finding.rule.code, message, severity, finding.key)
        out.append(dataclasses.replace(d, versioned=True))
    if later:
        d = Diagnostic(str(flow.path), f"{later} {CHANGES_IN_2_0}", WARNING, code=CHANGES_2_0_CODE)
        out.append(dataclasses.replace(d, versioned=True))
    return out


CHANGES_2_0_CODE = "changes-in-2.0"
CHANGES_IN_2_0 = "construct(s) change in Kestra 2.0"


def _only_2_0(rule: Any) -> bool:
    return set(rule.refused) | set(rule.renamed) <= set(K.V2)


def summarize_2_0(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The files' ``changes-in-2.0`` counts as one line: "N constructs change in 2.0 (in M
    files): run `kestra-sync validate --kestra-version 2.0` to list them"."""
    counts = [d for d in diagnostics if d.code == CHANGES_2_0_CODE]
    if not counts:
        return diagnostics
    total = sum(int(d.message.split(" ", 1)[0]) for d in counts)
    files = sorted({d.path for d in counts})
    try:
        where = os.path.commonpath(files) if len(files) > 1 else files[0]
    except ValueError:  # absolute and relative paths, or two drives
        where = files[0]
    summary = Diagnostic(
        where,
        f"{total} constructs change in Kestra 2.0 (in {len(files)} file(s)): run "
        "`kestra-sync validate --kestra-version 2.0` to list them",
        WARNING,
        code=CHANGES_2_0_CODE,
        versioned=True,
    )
    return [d for d in diagnostics if d.code != CHANGES_2_0_CODE] + [summary]


def rejudge(check: ProjectCheck, version: str | None) -> ProjectCheck:
    """The same check with the version table judged for ``version`` (e.g. once the server said
    which version it runs): no file is read or parsed again, and the findings ``check_project``
    kept are judged again rather than looked for again."""
    kept = [d for d in check.diagnostics if not d.versioned and d.code not in VERSIONED_CODES]
    kept += judge_resources(check.resource_versioned, version)
    for flow in check.flows:
        cache = check.caches.get(flow.tenant)
        key = f"versioned|{flow.path}|{version}"
        found = cache.checks(flow.source, key) if cache is not None else None
        if found is None:
            rules = check.findings.get(str(flow.path))  # None: a cached check, search again
            flow, p = _with_parse(flow, check.parsed)
            if isinstance(flow.data, dict):
                found = check_versioned(flow, p, version, rules)
                if cache is not None:
                    cache.remember_checks(flow.source, key, found)
        kept += found or []
    check.save_caches()
    return dataclasses.replace(check, diagnostics=summarize_2_0(kept))


@dataclass
class ProjectCheck:
    """Everything offline validation found for a project (one directory per tenant)."""

    flows: list[LocalFlow] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # given files outside every flow directory
    parsed: dict[str, ParsedYaml] = field(default_factory=dict, repr=False)
    # The result caches of the flow directories, by tenant (see resultcache.py).
    caches: dict[str, ResultCache] = field(default_factory=dict, repr=False)
    # Each flow's version-table findings by path, for ``rejudge`` (a flow without an entry,
    # e.g. one whose checks came from the cache, has its findings looked for again).
    findings: dict[str, list[flowrules.Finding]] = field(default_factory=dict, repr=False)
    # Every other kind's scan (kinds.scan_all), by kind: plan reuses it rather than scan again.
    resources: dict[str, Any] = field(default_factory=dict, repr=False)
    # The scans' diagnostics whose verdict depends on the version, as the scan made them (for
    # ``rejudge``: judge_resources turns them into the target version's).
    resource_versioned: list[Diagnostic] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def save_caches(self) -> None:
        for cache in self.caches.values():
            cache.save()


def check_project(
    settings: Any,
    paths: Sequence[Path | str] | None = None,
    *,
    ignore_file: Path | str | None = None,
    schema: dict | Path | str | None = None,
    version: str | None = None,
    kinds: Sequence[Any] = (),
) -> ProjectCheck:
    """Scan the configured flow directories (or only ``paths``) and run every offline check.
    ``kinds``: the other kinds (``kinds.KINDS``), scanned here with their environment
    overlays, so that their problems are judged with the flows' (the rules stage comes before
    the kinds and does not import them).

    With ``paths`` (as pre-commit passes them) only those files are reported, but the
    configured directories are still read to find the same namespace/id in another file:
    pre-commit passes only changed files, and a copy in an untouched file must still be found.
    """
    from ..source.flowscan import scan_settings

    given = list(paths) if paths else None
    roots = {tenant: Path(d) for tenant, d in settings.directories().items()}
    caches = {tenant: resultcache.for_directory(root) for tenant, root in roots.items()}
    result, skipped = scan_settings(settings, given, ignore_file=ignore_file, caches=caches)
    check = ProjectCheck(result.flows, list(result.diagnostics), skipped, result.parsed, caches)
    check.diagnostics += _check_flows(check, settings.layout, roots, schema, version)
    # The flow scan walks the same tree as the files and KV scans: a problem of the walk
    # (a broken link, an unreadable folder) is said once.
    # namespace files, KV pairs: scanned once per run
    check.resources = {kind.name: kind.scan(settings) for kind in kinds}
    if given is None:  # every flow was scanned: what a kind's items name is checked against them
        for kind, found in _against_flows(kinds, check.resources, result.flows):
            check.resources[kind].diagnostics += found
    judged = _resources_judged(check, settings, given, version, kinds)
    check.diagnostics = list(dict.fromkeys(check.diagnostics + judged))
    check.diagnostics = collapse_non_flows(check.diagnostics, result.flows)  # guidance.py
    check.diagnostics = summarize_2_0(check.diagnostics)
    if given is None:
        check.diagnostics += check_duplicates(result.flows, result.parsed)
        check.save_caches()
        return check
    shown = {str(f.path) for f in result.flows}
    everything = list(result.flows)
    if all(d.is_dir() for d in roots.values()):
        known = {Path(f.path).resolve() for f in result.flows}
        whole, _ = scan_settings(settings, ignore_file=ignore_file, caches=caches)
        everything += [f for f in whole.flows if Path(f.path).resolve() not in known]
    check.diagnostics += [d for d in check_duplicates(everything, result.parsed) if d.path in shown]
    roots_given = [Path(p).resolve() for p in given]
    check.diagnostics += [
        d
        for _, found in _against_flows(kinds, check.resources, everything)
        for d in found
        if any(
            Path(d.path).resolve() == r or r in Path(d.path).resolve().parents for r in roots_given
        )
    ]
    check.save_caches()
    return check


def _against_flows(kinds: Sequence[Any], resources: dict[str, Any], flows: list):
    """(kind name, problems) of each kind whose items name flows of git and their tasks (a
    flow test suite: ``check_against_flows``), checked against ``flows``."""
    for kind in kinds:
        against = getattr(kind, "check_against_flows", None)
        if against is not None and kind.name in resources:
            yield kind.name, against(resources[kind.name], flows)


def _check_flows(
    check: ProjectCheck,
    layout: str,
    roots: dict[str, Path],
    schema: dict | Path | str | None,
    version: str | None,
) -> list[Diagnostic]:
    """Every offline check of the scanned flows, per flow directory (its layout and cache),
    then those of no configured directory."""
    found: list[Diagnostic] = []
    for tenant, root in roots.items():
        found += validate_offline(
            [f for f in check.flows if f.tenant == tenant],
            layout=layout,
            root=root,
            schema=schema,
            parsed=check.parsed,
            check_duplicate_flows=False,
            version=version,
            cache=check.caches[tenant],
            findings=check.findings,
        )
    others = [f for f in check.flows if f.tenant not in roots]
    if others:
        found += validate_offline(
            others,
            schema=schema,
            parsed=check.parsed,
            check_duplicate_flows=False,
            version=version,
            findings=check.findings,
        )
    return found


def _resources_judged(
    check: ProjectCheck,
    settings: Any,
    given: list | None,
    version: str | None,
    kinds: Sequence[Any],
) -> list[Diagnostic]:
    """The scans' problems, those that depend on the version judged for ``version`` (and
    kept as the scan made them, for ``rejudge``)."""
    if not kinds:
        return []
    resources = _resource_problems(check.resources, given, settings, kinds)
    check.resource_versioned = [d for d in resources if d.code in VERSIONED_CODES]
    resources = [d for d in resources if d.code not in VERSIONED_CODES]
    return resources + judge_resources(check.resource_versioned, version)


# The scans' findings whose verdict depends on the Kestra version (judged by judge_resources):
# a namespace file's path with a space (kinds.nsfiles), a dashboard (kinds.dashboards).
SPACE_IN_PATH = "nsfile-space"
DASHBOARD_NEEDS_IDS = "dashboard-needs-1.0"
VERSIONED_CODES = (SPACE_IN_PATH, DASHBOARD_NEEDS_IDS)


def _judge_dashboards(raw: list[Diagnostic], version: str | None) -> list[Diagnostic]:
    """The dashboards folders, judged for ``version``: before 1.0 Kestra makes up every
    dashboard id and refuses a YAML that names one (knowledge.DASHBOARD_IDS)."""
    if version is None or version in K.DASHBOARD_IDS.versions:
        return []
    return [
        Diagnostic(
            d.path,
            f"{d.message}: Kestra {version} cannot deploy dashboards by id (it makes up every "
            "id and refuses a YAML naming one); dashboards need Kestra 1.0 or later",
            ERROR,
            code=d.code,
            versioned=True,
        )
        for d in raw
        if d.code == DASHBOARD_NEEDS_IDS
    ]


def judge_resources(raw: list[Diagnostic], version: str | None) -> list[Diagnostic]:
    """The namespace-file paths with a space, judged for ``version``: before 2.0 Kestra
    stores '/a b.txt' as '/a+b.txt' (knowledge.NSFILE_SPACE_AS_PLUS), so the file never
    matches the server's copy (a plan that never converges) and a --delete of the '+' copy
    would remove the file just uploaded: an error; fine on 2.0; a warning with no version."""
    fact = K.NSFILE_SPACE_AS_PLUS
    out = _judge_dashboards(raw, version)
    if version is not None and version not in fact.versions:
        return out
    for d in (d for d in raw if d.code == SPACE_IN_PATH):
        remote = d.message.split(": ", 1)[0]
        who = (
            f"Kestra {version} stores"
            if version
            else f"Kestra {K.describe_versions(fact.versions)} store"
        )
        message = (
            f"{remote}: {who} it as {remote.replace(' ', '+')} (the path is URL-encoded, a space "
            "becomes '+'), so it never matches the server's copy and --delete would remove the "
            "file just uploaded; rename it without a space (Kestra 2.0 keeps spaces)"
        )
        if version is None:
            message += " (no Kestra version set: see --kestra-version)"
        severity = ERROR if version else WARNING
        out.append(dataclasses.replace(d, message=message, severity=severity, versioned=True))
    return out


def _resource_problems(
    scans: dict[str, Any], given: list | None, settings: Any, kinds: Sequence[Any]
) -> list[Diagnostic]:
    """Namespace files (`_files`, `namespace_files:`) and kv.yml: paths Kestra refuses, files
    over the size limit or mapped to two namespaces, bad keys, values that look like secrets.
    With PATHS, only problems in files under them."""
    from ..source.environments import overlay_problems

    # Each once: every kind walks the same tree, so a broken link is found by each.
    found = list(dict.fromkeys(d for scan in scans.values() for d in scan.diagnostics))
    found += overlay_problems(settings, kinds)
    if given is None:
        return found
    roots = [Path(p).resolve() for p in given]
    return [
        d
        for d in found
        if any(Path(d.path).resolve() == r or r in Path(d.path).resolve().parents for r in roots)
    ]
