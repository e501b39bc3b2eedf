"""Flow tests (Kestra Enterprise): test suites, each a YAML document kept in the ``_tests``
folder of its namespace's folder (``flows/company/team/_tests/orders-smoke.yml``)::

    id: orders-smoke
    namespace: company.team
    flowId: orders-etl              # the flow it tests: must be a flow of git
    testCases:
      - id: loads_one_row
        type: io.kestra.core.tests.flow.UnitTest
        fixtures:
          tasks:
            - id: extract           # a task id of the flow
              outputs: {rows: 1}
        assertions:
          - taskId: load
            value: "{{ outputs.load.count }}"
            equalTo: 1

The model is Kestra's ``TestSuite`` (id, namespace, flowId and at least one test case) and
``UnitTest`` (id, type, assertions; fixtures optional): kestra-io/kestra
core/src/main/java/io/kestra/core/test/TestSuite.java at 1d3573ec and
core/.../test/flow/UnitTest.java at 2fa1e1e6. The id patterns are the TestSuite schema's in
Kestra's OpenAPI description (docs/kestra-api.md).

The server keeps a suite's YAML source (``TestSuite.source``): a suite is compared by the digest
of that text, written with ``POST /api/v1/{tenant}/tests`` (create) and ``PUT
…/tests/{namespace}/{id}`` (update), and pulled back byte for byte. A suite is written after
the flow it tests and deleted before it (applying/apply.py). Offline, the flow a suite names
and the task ids its fixtures and assertions name must exist in git (``check_against_flows``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..models import ERROR, Diagnostic, FlowRef, LocalFlow
from ..source.ignorefile import IGNORE_FILE, IgnoreRules
from ..source.walk import FLOW_SUFFIXES, TESTS_DIR, is_files_dir, walk_files
from ..source.yamlindex import parse_yaml
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
    second_path_is_an_error,
    source_diff,
)

if TYPE_CHECKING:
    from ..models import Change
    from .pulling import Pulled, PullScope, PullTarget

KIND = "test"
SUITE_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]*")  # TestSuite.id in the OpenAPI description
FLOW_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")  # TestSuite.flowId
ENTERPRISE_ONLY = (
    "flow tests need Kestra Enterprise: this server has no /tests API (it answered 404 to {what})"
)
ENTERPRISE_HINT = "point kestra-sync at an Enterprise server, or remove the _tests folders"


def digest(source: str) -> str:
    return "sha256:" + hashlib.sha256(source.encode("utf-8")).hexdigest()


def payload_of(source: str, flow_id: str) -> dict[str, str]:
    """What a plan carries for a suite: its source, and the flow it tests (write order)."""
    return {"source": source, "flowId": flow_id}


def tested_flow(change: Change) -> FlowRef | None:
    """The flow a suite change tests, or None for a change that is not a suite's."""
    if change.kind != KIND or not isinstance(change.payload, dict):
        return None
    flow_id = change.payload.get("flowId")
    if not isinstance(flow_id, str):
        return None
    return FlowRef(change.ref.tenant, change.ref.namespace, flow_id)


def _no_file(name: str) -> bool:
    return False


def _holds_suites(name: str) -> bool:
    """The folders searched for `_tests`: not hidden, not a namespace's files (`_files`)."""
    return not name.startswith(".") and not is_files_dir(name)


def _is_tests_dir(name: str) -> bool:
    return name == TESTS_DIR


def _is_suite_file(name: str) -> bool:
    return name.endswith(FLOW_SUFFIXES) and not name.startswith(".")


def _case_problems(cases: Any) -> str | None:
    """Why ``testCases`` is not a list of UnitTest Kestra accepts, or None."""
    if not isinstance(cases, list) or not cases:
        return "`testCases` must be a list of at least one test case"
    seen: set[str] = set()
    for n, case in enumerate(cases, 1):
        if not isinstance(case, dict):
            return f"test case {n} must be a mapping with id, type and assertions"
        missing = [k for k in ("id", "type", "assertions") if case.get(k) is None]
        if missing:
            return f"test case {case.get('id') or n} has no {', '.join(missing)}"
        if not isinstance(case["id"], str) or not isinstance(case["type"], str):
            return f"test case {n}: `id` and `type` must be text"
        if case["id"] in seen:
            return f"test case {case['id']!r} is written twice"
        seen.add(case["id"])
        if not isinstance(case["assertions"], list):
            return f"test case {case['id']!r}: `assertions` must be a list"
        if case.get("fixtures") is not None and not isinstance(case["fixtures"], dict):
            return f"test case {case['id']!r}: `fixtures` must be a mapping"
    return None


def suite_problem(data: Any) -> str | None:
    """Why a parsed suite is not one Kestra's model accepts, or None."""
    if not isinstance(data, dict):
        return "a test suite must be a mapping with id, namespace, flowId and testCases"
    missing = [k for k in ("id", "namespace", "flowId", "testCases") if data.get(k) is None]
    if missing:
        return f"a test suite needs {', '.join(missing)}"
    suite_id, namespace, flow_id = data["id"], data["namespace"], data["flowId"]
    if not isinstance(suite_id, str) or not SUITE_ID.fullmatch(suite_id):
        return f"id {suite_id!r}: a test suite id is a letter or digit, then letters, digits, _ -"
    if not isinstance(namespace, str):
        return f"namespace {namespace!r} is not text"
    why = bad_namespace(namespace)
    if why:
        return why
    if not isinstance(flow_id, str) or not FLOW_ID.fullmatch(flow_id) or len(flow_id) > 100:
        return f"flowId {flow_id!r} is not a Kestra flow id"
    return _case_problems(data["testCases"])


def task_ids(flow: Any) -> tuple[set[str], set[str]]:
    """(task ids, trigger ids) of a parsed flow: every mapping with an ``id`` and a ``type``
    under its tasks, errors, finally and afterExecution, at any depth (flowable tasks hold
    theirs in tasks, then, else, cases...), and its triggers."""
    tasks: set[str] = set()
    if not isinstance(flow, dict):
        return tasks, set()
    stack = [flow.get(k) for k in ("tasks", "errors", "finally", "afterExecution")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and "type" in node:
                tasks.add(node["id"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    triggers = flow.get("triggers")
    trigger_ids = {
        t["id"] for t in triggers or [] if isinstance(t, dict) and isinstance(t.get("id"), str)
    }
    return tasks, trigger_ids if isinstance(triggers, list) else set()


def _named_tasks(case: dict) -> Iterator[tuple[str, str]]:
    """(where, task id) of every task a test case names: fixtures and assertions."""
    fixtures = case.get("fixtures") or {}
    for fixture in fixtures.get("tasks") or []:
        if isinstance(fixture, dict) and isinstance(fixture.get("id"), str):
            yield "a task fixture", fixture["id"]
    for assertion in case.get("assertions") or []:
        if isinstance(assertion, dict) and isinstance(assertion.get("taskId"), str):
            yield "an assertion", assertion["taskId"]


def check_against_flows(scan: LocalScan, flows: list[LocalFlow]) -> list[Diagnostic]:
    """Each suite's flow is a flow of git (same tenant and namespace), and every task and
    trigger id its test cases name is one of that flow's: a typo fails in review, not after
    the deploy."""
    by_ref = {f.ref: f for f in flows if f.ref is not None}
    found = []
    for item in scan.items:
        data = parse_yaml(item.payload["source"]).data
        flow_ref = FlowRef(item.ref.tenant, item.ref.namespace, item.payload["flowId"])
        flow = by_ref.get(flow_ref)
        if flow is None:
            found.append(
                Diagnostic(
                    item.path,
                    f"test suite {item.ref.id} tests flow {flow_ref.namespace}/{flow_ref.id}, "
                    "which is not a flow of git: check flowId and namespace (a suite is deployed "
                    "after the flow it tests)",
                    ERROR,
                    code="test-unknown-flow",
                )
            )
            continue
        if not isinstance(flow.data, dict):
            continue  # a flow that does not parse is reported as such
        tasks, triggers = task_ids(flow.data)
        for case in data.get("testCases") or []:
            for where, task_id in _named_tasks(case):
                if task_id not in tasks:
                    found.append(_unknown_task(item, case["id"], where, task_id, flow_ref))
            trigger = (case.get("fixtures") or {}).get("trigger")
            if isinstance(trigger, dict) and trigger.get("id") not in triggers:
                found.append(
                    _unknown_task(
                        item, case["id"], "the trigger fixture", trigger.get("id"), flow_ref
                    )
                )
    return found


def _unknown_task(item: LocalItem, case: str, where: str, task: Any, flow: FlowRef) -> Diagnostic:
    return Diagnostic(
        item.path,
        f"test case {case!r}: {where} names {task!r}, which is not a task of flow "
        f"{flow.namespace}/{flow.id}",
        ERROR,
        code="test-unknown-task",
    )


class TestSuites(KindBase):
    name = KIND
    noun = "test suite"
    target_example = "company.team/orders-smoke"
    # Written after the flows of its namespace (the one it tests among them), deleted before.
    write_phase = 2

    def map_sources(self, scan: LocalScan, mapping: dict[str, str], map_source: Any) -> list:
        """For an environment's namespace_map (source.environments): each suite's source."""
        return rewrite_namespaces(scan, mapping, map_source)

    def check_against_flows(self, scan: LocalScan, flows: list[LocalFlow]) -> list[Diagnostic]:
        """For validate (rules.validate): the flow and task ids each suite names exist."""
        return check_against_flows(scan, flows)

    # -- git --------------------------------------------------------------------------------

    def scan(self, settings: Any) -> LocalScan:
        scan = LocalScan()
        for tenant, directory in settings.directories().items():
            directory = Path(directory)
            if not directory.is_dir():
                continue
            ignore = IgnoreRules.load(directory / IGNORE_FILE)
            for namespace, tests_dir in self._find_tests_dirs(scan, directory, ignore):
                scan.namespaces.add((tenant, namespace))
                files, problems = walk_files(
                    tests_dir, None, wanted=_is_suite_file, enter=_no_file, boundary=directory
                )
                scan.diagnostics += [
                    not_regular_is_an_error(
                        d,
                        "the test suite it may hold is unknown; replace it with a regular file",
                        "test-not-a-file",
                    )
                    for d in problems
                ]
                for file in files:
                    self._load(scan, tenant, namespace, file)
        return scan

    def _find_tests_dirs(
        self, scan: LocalScan, directory: Path, ignore: IgnoreRules
    ) -> list[tuple[str, Path]]:
        """(namespace, path) of each ``_tests`` folder, found by the flow scan's walker (the
        same rules for links, unreadable folders and .kestraignore)."""
        found, problems = walk_files(
            directory, ignore, wanted=_no_file, enter=_holds_suites, collect_dir=_is_tests_dir
        )
        out: list[tuple[str, Path]] = []
        for tests_dir in found:
            rel = tests_dir.parent.relative_to(directory).as_posix()
            why = (
                "a _tests folder must sit in a namespace's folder (flows/company/team/_tests)"
                if rel == "."
                else bad_namespace(rel.replace("/", "."))
            )
            if why:
                scan.diagnostics.append(Diagnostic(str(tests_dir), why, code="test-no-namespace"))
                continue
            out.append((rel.replace("/", "."), tests_dir))
        scan.diagnostics += [
            second_path_is_an_error(d, out, "test suites", "test-two-namespaces") for d in problems
        ]
        return out

    def _load(self, scan: LocalScan, tenant: str, folder_namespace: str, file: Path) -> None:
        shown = str(file)

        def problem(message: str, line: int | None = None, code: str = "test-invalid") -> None:
            scan.diagnostics.append(Diagnostic(shown, message, ERROR, line, None, code))

        try:
            source = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            problem(f"cannot read: {err}")
            return
        parsed = parse_yaml(source)
        errors = [p for p in parsed.problems if p.severity == "error"]
        if errors:
            problem(f"invalid YAML: {errors[0].message}", errors[0].line, "yaml-syntax")
            return
        why = suite_problem(parsed.data)
        if why:
            problem(why)
            return
        data = parsed.data
        if data["namespace"] != folder_namespace:
            line = parsed.key_position(("namespace",))[0]
            problem(
                f"namespace {data['namespace']} differs from its folder's, {folder_namespace}: "
                "keep a suite in the _tests folder of its namespace",
                line,
            )
            return
        ref = FlowRef(tenant, data["namespace"], data["id"], KIND)
        other = next((i.path for i in scan.items if i.ref == ref), None)
        if other is not None:
            problem(f"test suite {data['id']} of {data['namespace']} is also declared in {other}")
            return
        scan.items.append(LocalItem(ref, shown, payload_of(source, data["flowId"]), digest(source)))

    # -- server -----------------------------------------------------------------------------

    def read(self, client: KindClient, tenant: str, namespace: str) -> list[RemoteItem]:
        try:
            suites = client.list_test_suites(namespace)
        except NotFoundError as err:
            raise KindUnsupported(
                ENTERPRISE_ONLY.format(what=f"the test suites of {namespace}"),
                hint=ENTERPRISE_HINT,
            ) from err
        return [
            RemoteItem(
                FlowRef(tenant, namespace, suite["id"], KIND),
                payload_of(suite["source"], suite["flowId"]),
                digest(suite["source"]),
            )
            for suite in sorted(suites, key=lambda s: s["id"])
        ]

    def write(self, client: KindClient, change: Change) -> Written:
        ref, source = change.ref, change.payload["source"]
        if change.action == "create":
            return Written(client.create_test_suite(source))
        try:
            client.update_test_suite(ref.namespace, ref.id, source)
        except NotFoundError:  # deleted since the plan: create it again
            return Written(client.create_test_suite(source))
        return Written("updated")

    def delete(self, client: KindClient, change: Change) -> Written:
        existed = client.delete_test_suite(change.ref.namespace, change.ref.id)
        return Written("deleted" if existed else "already deleted")

    def pull_read(self, client: KindClient, scope: PullScope) -> list[RemoteItem]:
        """A server without the /tests API (OSS) has none: nothing said. A token without the
        TEST permission still pulls the rest: the namespace's suites are said not pulled."""
        from ..errors import AuthError

        items: list[RemoteItem] = []
        for namespace in scope.namespaces:
            try:
                items += self.read(client, scope.tenant, namespace)
            except KindUnsupported as err:
                raise KindUnsupported("") from err
            except AuthError as err:
                if err.status != 403:
                    raise
                scope.say(f"not pulled {namespace} test suites: {err.message}")
        return items

    def pull_files(self, items: list[RemoteItem], target: PullTarget) -> Pulled:
        """Each suite as `_tests/<id>.yml` in its namespace's folder, its source byte for byte
        (the scan compares that text)."""
        from .pulling import Pulled, PullFile, PullGroup, escaping

        pulled = Pulled()
        for namespace in sorted({item.ref.namespace for item in items}):
            root = target.folder(namespace) / TESTS_DIR
            mine = {f"/{i.ref.id}.yml": i.payload for i in items if i.ref.namespace == namespace}
            # An id Kestra refuses (`sub/x`, `x.y`) would name a file the scan never reads or
            # validate refuses: no file name for it.
            pulled.refused += [
                f"{namespace} test suite {i.ref.id!r}: not a test suite id Kestra accepts, so "
                "no file name; rename it on the server"
                for i in sorted(items, key=lambda i: i.ref)
                if i.ref.namespace == namespace and not SUITE_ID.fullmatch(i.ref.id)
            ]
            mine = {n: p for n, p in mine.items() if SUITE_ID.fullmatch(n[1:-4])}
            pulled.refused += [
                f"{namespace} test suite {name}: it would be written outside {root}"
                for name in escaping(list(mine), root, target.directory)
            ]
            group = PullGroup()
            for name, payload in sorted(mine.items()):
                data = payload["source"].encode("utf-8")
                group.files.append(PullFile(root / name[1:], data, f"{namespace} test suite"))
            pulled.groups.append(group)
        return pulled

    # -- reports ----------------------------------------------------------------------------

    def describe(self, local: LocalItem | None, remote: RemoteItem | None) -> Described:
        """A suite holds no secret (fixtures are test data in git): the diff is shown."""
        if local is None:
            assert remote is not None
            return Described([f"tests flow {remote.payload['flowId']}"])
        summary = [f"tests flow {local.payload['flowId']}"]
        if remote is None:
            return Described(summary)
        label = f"server {local.ref.namespace} test suite {local.ref.id}"
        diff = source_diff(remote.payload["source"], local.payload["source"], label, local.path)
        if diff is None:
            return Described([*summary, "source changed (too large to show a diff)"])
        return Described(summary, diff)

    # -- saved plan -------------------------------------------------------------------------

    def encode(self, payload: Any) -> Any:
        return payload

    def decode(self, data: Any) -> Any:
        if not (
            isinstance(data, dict)
            and isinstance(data.get("source"), str)
            and isinstance(data.get("flowId"), str)
        ):
            raise ValueError("a test suite's payload must be {source, flowId}")
        return payload_of(data["source"], data["flowId"])

    def payload_digest(self, payload: Any) -> str:
        return digest(payload["source"])

    def file_bytes(self, payload: Any) -> bytes | None:
        """A suite's file is its YAML source, byte for byte (pull --branch writes it back)."""
        return str(payload["source"]).encode("utf-8")


def rewrite_namespaces(scan: LocalScan, mapping: dict[str, str], map_source: Any) -> list:
    """An environment's namespace_map moves a suite to another namespace: its source says so
    too (the server refuses a suite whose YAML names another namespace than its URL)."""
    problems = []
    for item in scan.items:
        source, why = map_source(item.payload["source"], mapping)
        if why:
            problems.append(Diagnostic(item.path, why, ERROR, code="test-namespace-map"))
            continue
        item.payload = payload_of(source, item.payload["flowId"])
        item.digest = digest(source)
    return problems
