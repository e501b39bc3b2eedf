"""What git holds, as the selected environment deploys it: the one step between the scan and
planning (``for_environment``), so that planning and applying see plain flows, files and KV
pairs and need to know nothing of environments.

- Overlays: ``kv.<env>.yml`` beside a ``kv.yml`` sets (or adds) that environment's values, key
  by key; ``_files.<env>/`` beside ``_files/`` replaces (or adds) that environment's files,
  path by path. An overlay named for an environment the config does not have is an error (a
  typo would otherwise deploy the shared value to prod, and a flow named ``kv.x.yml`` would be
  skipped in silence).
- ``namespace_map`` (environments sharing one server): every namespace under a mapped prefix is
  rewritten in flows (their ``namespace:``, and every ``namespace:`` a Subflow, ForEachItem or
  Flow trigger names), files and KV pairs. Kestra's git task SyncFlows does the same for the
  top-level line only (``targetNamespace``; kestra-io/plugin-git 036d591,
  src/main/java/io/kestra/plugin/git/SyncFlows.java, ``replaceNamespace``); references are
  rewritten too here, so that a staging flow never calls prod's subflow. Only the value's own
  characters change: the rest of the source stays byte for byte what git holds. Without a
  mapping, sources are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ..models import ERROR, Diagnostic, LocalFlow
from ..settings.environments import map_namespace
from .ignorefile import IGNORE_FILE, IgnoreRules
from .walk import enters_flow_dir, files_overlay_env, kv_overlay_env, walk_files


@dataclass
class Overlays:
    """Every environment overlay of the flow directories, found by one walk."""

    kv: list[tuple[str, Path, Path]]  # (tenant, flow directory, kv.<env>.yml)
    files: list[tuple[str, Path, Path]]  # (tenant, flow directory, _files.<env>)


def for_environment(
    settings: Any, local: list[LocalFlow], scans: dict[str, Any], kinds: Iterable[Any] = ()
) -> tuple[list[LocalFlow], dict[str, Any], list[Diagnostic]]:
    """The flows and the kinds' scans as the selected environment deploys them, and the
    problems found (errors stop the plan, as a scan's do). ``scans`` are changed in place:
    each of ``kinds`` (``kinds.every_kind()``) merges its own overlays into its scan
    (``overlay``: kv.<env>.yml, _files.<env>/)."""
    problems: list[Diagnostic] = []
    overlays = find_overlays(settings, problems)
    if settings.environment is not None:
        for kind in kinds:
            if kind.name in scans:
                kind.overlay(scans[kind.name], overlays, settings, problems)
    if settings.namespace_map:
        local = [map_flow(flow, settings.namespace_map, problems) for flow in local]
        for scan in scans.values():
            _map_scan(scan, settings.namespace_map)
        for kind in kinds:  # a kind whose YAML names its namespace (a test suite) rewrites it
            remap = getattr(kind, "map_sources", None)
            if remap is not None and kind.name in scans:
                problems += remap(scans[kind.name], settings.namespace_map, map_source)
        problems += _collisions(local)
    return local, scans, problems


def find_overlays(settings: Any, problems: list[Diagnostic]) -> Overlays:
    """Every `kv.<env>.yml` and `_files.<env>/` of the flow directories; one named for an
    environment the config does not have is an error."""
    known = set(getattr(settings, "environment_names", ()) or ())
    found = Overlays([], [])
    for tenant, directory in settings.directories().items():
        directory = Path(directory)
        if not directory.is_dir():
            continue
        paths, _ = walk_files(  # the flow scan reported what kept it from being complete
            directory,
            IgnoreRules.load(directory / IGNORE_FILE),
            wanted=lambda name: kv_overlay_env(name) is not None,
            # an overlay folder must pass `enter` to be collected (and is then not entered)
            enter=lambda name: enters_flow_dir(name) or files_overlay_env(name) is not None,
            collect_dir=lambda name: files_overlay_env(name) is not None,
        )
        for path in paths:
            name = kv_overlay_env(path.name) or files_overlay_env(path.name)
            if name not in known:
                problems.append(_unknown_overlay(path, name, known))
            elif path.is_dir():
                found.files.append((tenant, directory, path))
            else:
                found.kv.append((tenant, directory, path))
    return found


def _unknown_overlay(path: Path, name: str | None, known: set[str]) -> Diagnostic:
    what = "namespace files" if path.is_dir() else "KV values"
    choices = ", ".join(sorted(known)) if known else "none is configured"
    return Diagnostic(
        str(path),
        f"this holds the {what} of environment {name!r}, which the config does not name "
        f"(environments: {choices}); rename it, or add the environment to `environments:`",
        ERROR,
        code="unknown-environment-overlay",
    )


def _map_scan(scan, mapping: dict[str, str]) -> None:
    def moved(ref):
        return replace(ref, namespace=map_namespace(ref.namespace, mapping))

    scan.items = [replace(item, ref=moved(item.ref)) for item in scan.items]
    scan.namespaces = {(t, map_namespace(ns, mapping)) for t, ns in scan.namespaces}
    if scan.deletable is not None:
        scan.deletable = {(t, map_namespace(ns, mapping)) for t, ns in scan.deletable}


def map_flow(flow: LocalFlow, mapping: dict[str, str], problems: list[Diagnostic]) -> LocalFlow:
    """``flow`` with its namespace and the namespaces it names rewritten (see the module)."""
    if flow.namespace is None or flow.ref is None:
        return flow
    source, problem = map_source(flow.source, mapping)
    if problem:
        problems.append(Diagnostic(str(flow.path), problem, ERROR, code="namespace-map"))
        return flow
    if source == flow.source:
        return flow
    from .yamlindex import parse_yaml

    return LocalFlow(
        flow.path,
        source,
        parse_yaml(source).data,
        map_namespace(flow.namespace, mapping),
        flow.id,
        flow.tenant,
    )


def map_source(source: str, mapping: dict[str, str]) -> tuple[str, str | None]:
    """The source with every Kestra namespace under a mapped prefix rewritten in place, or
    the reason it cannot be (a value written in a form whose text is not the namespace). A
    `namespace:` is Kestra's when it is the flow's own, or sits beside a `flowId` (a Subflow,
    ForEachItem or Flow-trigger reference, as planning/references.py reads them) or in a
    condition: another task's `namespace:` (a Kubernetes pod's) is left as written."""
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        return source, f"cannot map its namespaces: invalid YAML ({err})"
    spans: dict[int, tuple[int, str]] = {}
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            kestras = node is root or _names_a_kestra_namespace(node)
            for key, value in node.value:
                if (
                    kestras
                    and isinstance(key, yaml.ScalarNode)
                    and key.value == "namespace"
                    and isinstance(value, yaml.ScalarNode)
                ):
                    mapped = map_namespace(value.value, mapping)
                    if mapped != value.value:
                        start, end = value.start_mark.index, value.end_mark.index
                        if value.style in ("'", '"'):
                            start, end = start + 1, end - 1
                        if source[start:end] != value.value:
                            line = value.start_mark.line + 1
                            return source, (
                                f"line {line}: namespace {value.value!r} is written in a form "
                                "namespace_map cannot rewrite in place; write it plain"
                            )
                        spans[start] = (end, mapped)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    for start in sorted(spans, reverse=True):
        end, mapped = spans[start]
        source = source[:start] + mapped + source[end:]
    return source, None


def _names_a_kestra_namespace(node: yaml.MappingNode) -> bool:
    """Whether this mapping's `namespace:` names a Kestra namespace: beside a `flowId`, or in a
    condition (a `type` in Kestra's condition package, such as ExecutionNamespace)."""
    scalars = {
        key.value: value.value
        for key, value in node.value
        if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode)
    }
    kind = scalars.get("type", "")
    return "flowId" in scalars or (isinstance(kind, str) and ".condition." in kind)


def _collisions(local: list[LocalFlow]) -> list[Diagnostic]:
    """Two flows of git that the mapping makes one on the server."""
    first: dict[Any, LocalFlow] = {}
    problems = []
    for flow in local:
        if flow.ref is None:
            continue
        other = first.setdefault(flow.ref, flow)
        if other is not flow:
            problems.append(
                Diagnostic(
                    str(flow.path),
                    f"namespace_map makes this flow {flow.ref}, as {other.path} already is",
                    ERROR,
                    code="namespace-map",
                )
            )
    return problems


def overlay_problems(settings: Any, kinds: Iterable[Any]) -> list[Diagnostic]:
    """For `validate`: every environment's overlays, each read by its kind's own rules
    (``overlay_problems``: bad keys, values that look like secrets, paths Kestra refuses), and
    those named for no environment."""
    problems: list[Diagnostic] = []
    overlays = find_overlays(settings, problems)
    for kind in kinds:
        problems += kind.overlay_problems(overlays, settings)
    return problems
