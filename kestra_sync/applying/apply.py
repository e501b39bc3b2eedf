"""Execute a Plan through the client: every kind (flows, namespace files, KV pairs) through
one scheduler (scheduler.py) with one throttle, bounded parallelism, dependency order across
kinds (``write_order``: a namespace's files and KV values before its flows, a Subflow's target
before its caller), deletes last behind one guard (deleteguard.py), fail-fast, Ctrl-C and the
"server gone" stop, and an outcome for every change so that a failure half-way says exactly
what was and was not done.

Convergence: a create goes through the client's upsert (a 422 "already exists" becomes an
update), an update whose flow vanished between the check below and the write becomes a create,
and a delete of a flow that is already gone counts as done. Re-running the same apply therefore
reaches the desired state and reports what is left as unchanged.

Guards (README "What kestra-sync guarantees"):
- Before the first write in a namespace, the namespace is listed again; a flow that is no longer
  as planned (another revision, gone, or created meanwhile) is not written ("changed on the
  server since the plan"), so a second apply that ran in between is not silently overwritten.
- Deletes run only when every create and update succeeded (as Terraform does), and only after
  the server is read again: a flow, file or KV pair that changed since the plan, or that a flow
  on the server uses, is not deleted (deleteguard.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from operator import attrgetter
from typing import Any

from ..errors import ApiError, KestraSyncError, TransportError
from ..kinds import FLOWS, facts_of, writer
from ..models import DEFAULT_PARALLELISM, FLOW, FlowRef, LocalFlow
from ..planning.plan import CHANGING, CREATE, DELETE, UPDATE, Change, Plan
from ..planning.references import dependencies
from .deleteguard import CHANGED_SINCE_PLAN, delete_guard
from .scheduler import DONE, FAILED, Scheduler
from .throttle import Throttle

NOT_ATTEMPTED = "not attempted"
# After this many changes in a row failed because the server could not be reached (refused,
# reset, no connection: not an HTTP error, not a slow reply), the apply stops: each of the rest
# would only wait through its own retries and fail the same way.
UNREACHABLE_STOP = 3


@dataclass
class Outcome:
    change: Change
    status: str = NOT_ATTEMPTED
    result: str = ""  # created / updated / unchanged / deleted / already deleted
    revision: int | None = None
    error: str = ""


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False  # stopped by ``cancel`` (Ctrl-C): in-flight changes finished
    tests: Any = None  # testrun.TestRun: the flow tests run after the deploy (--run-tests)

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def ok(self) -> bool:
        return all(o.status == DONE for o in self.outcomes)

    def counts(self) -> dict[str, int]:
        return {s: len(self.by_status(s)) for s in (DONE, FAILED, NOT_ATTEMPTED)}


# FlowRef's own order as a plain tuple: compared in C, where the dataclass's generated __lt__
# builds two tuples per comparison (thousands per apply in the scheduler's heap and sorts).
_order = attrgetter("tenant", "namespace", "id", "kind")


class _Listings:
    """The revisions each namespace holds right before this apply first writes in it.

    Why a listing per namespace and not a GET per flow: the same paged search the plan uses
    costs a constant few requests per namespace, where a GET before each write would double the
    requests of an apply. The price is a window: a flow another apply writes after this listing
    and before this apply's own write of it is not seen. Kestra cannot close that window for us:
    PUT /api/v1/{tenant}/flows/{namespace}/{id} takes no expected revision or If-Match
    (updateFlow in Kestra's OpenAPI description, docs/kestra-api.md), so no client can make a
    write conditional.

    ``ahead``: the namespaces the writes will reach, in the order they start. When a namespace
    is first asked for, the next ones are listed in the background, as many as hold about two
    rounds of writes: otherwise every worker that reaches a new namespace waits a round trip
    for its listing (in a first deploy of 2,000 flows in 50 namespaces, a fifth of the workers'
    time, issue 13). Reading only a little ahead keeps the window short."""

    PREFETCH_THREADS = 2

    def __init__(
        self,
        client_for: Callable[[str], Any],
        ahead: Iterable[tuple[tuple[str, str], int]] = (),
        writes_in_flight: int = 1,
    ):
        self.client_for = client_for
        self.lock = threading.Lock()
        self.per_namespace: dict[tuple[str, str], threading.Lock] = {}
        self.listed: dict[tuple[str, str], dict[str, int] | KestraSyncError] = {}
        self.ahead = list(ahead)  # ((tenant, namespace), writes there), in write order
        self.position = {key: i for i, (key, _) in enumerate(self.ahead)}
        self.prefetched = 0  # self.ahead[:prefetched] have been queued
        self.enough = 2 * max(1, writes_in_flight)
        # Daemon threads, not a ThreadPoolExecutor: Python joins a pool's threads at exit, so a
        # listing the server holds would keep the process after a second Ctrl-C.
        self.queue: deque[tuple[str, str]] = deque()
        self.threads: list[threading.Thread] = []
        self.prefetching = 0  # threads running _prefetch
        self.closed = False

    def revisions(self, tenant: str, namespace: str) -> dict[str, int]:
        key = (tenant, namespace)
        self._prefetch_after(key)
        found = self._list(key)
        if isinstance(found, KestraSyncError):
            raise found
        return found

    def _list(self, key: tuple[str, str]) -> dict[str, int] | KestraSyncError:
        with self.lock:
            ns_lock = self.per_namespace.setdefault(key, threading.Lock())
        with ns_lock:  # the first to ask lists it, the others in this namespace wait for it
            if key not in self.listed:
                try:
                    flows = FLOWS.read(self.client_for(key[0]), *key)
                    self.listed[key] = {f.ref.id: f.payload.revision for f in flows}
                except KestraSyncError as err:
                    self.listed[key] = err
            return self.listed[key]

    def _prefetch_after(self, key: tuple[str, str]) -> None:
        index = self.position.get(key)
        if index is None:
            return
        with self.lock:
            if self.closed:
                return
            start = max(self.prefetched, index + 1)
            stop, writes = start, 0
            while stop < len(self.ahead) and writes < self.enough:
                writes += self.ahead[stop][1]
                stop += 1
            if stop <= start:
                return
            self.prefetched = stop
            self.queue.extend(upcoming for upcoming, _ in self.ahead[start:stop])
            while self.prefetching < min(self.PREFETCH_THREADS, len(self.queue)):
                thread = threading.Thread(
                    target=self._prefetch, name="kestra-sync-listing", daemon=True
                )
                self.prefetching += 1
                self.threads.append(thread)
                thread.start()

    def _prefetch(self) -> None:
        while True:
            with self.lock:
                if self.closed or not self.queue:
                    self.prefetching -= 1
                    return
                key = self.queue.popleft()
            try:
                self._list(key)  # a KestraSyncError is kept for the write that needs it
            except Exception:  # noqa: BLE001, S112 - the write that needs it lists again, and raises
                continue

    def close(self, wait: bool = True) -> None:
        """Start no more listings; wait for those in flight (each bounded by the timeout),
        unless ``wait`` is False (a second Ctrl-C: they end on their own, as daemon threads)."""
        with self.lock:
            self.closed = True
            self.queue.clear()
            threads = list(self.threads)
        for thread in threads if wait else ():
            thread.join()

    def why_not(self, change: Change) -> str | None:
        """None when the flow is still as the plan saw it, else why it is not written."""
        try:
            now = self.revisions(change.ref.tenant, change.ref.namespace).get(change.ref.id)
        except KestraSyncError as err:
            return (
                f"not attempted: could not list namespace {change.ref.namespace} again "
                f"before writing: {err.message}"
            )
        if now == change.server_revision:
            return None
        if change.server_revision is None:
            return f"{CHANGED_SINCE_PLAN} (created meanwhile, revision {now})"
        if now is None:
            return f"{CHANGED_SINCE_PLAN} (deleted meanwhile)"
        return f"{CHANGED_SINCE_PLAN} (revision {change.server_revision} -> {now})"


def _apply_one(client_for: Callable[[str], Any], change: Change) -> Outcome:
    """One attempt at one change, of any kind (kinds.writer); raises what the client raises."""
    kind = writer(change.kind)
    target = client_for(change.ref.tenant)
    done = kind.delete(target, change) if change.action == DELETE else kind.write(target, change)
    return Outcome(change, DONE, result=done.result, revision=done.revision)


def _tenant_clients(client) -> Callable[[str], Any]:
    """A client per tenant, made on first use and shared by the worker threads."""
    clients: dict[str, Any] = {}
    lock = threading.Lock()

    def client_for(tenant: str):
        with lock:
            if tenant not in clients:
                clients[tenant] = client if tenant == client.tenant else client.with_tenant(tenant)
            return clients[tenant]

    return client_for


def write_order(changes: list[Change], local: Iterable[LocalFlow] = ()) -> dict[FlowRef, set]:
    """For each create/update of any kind, the other writes that must be done first: a
    Subflow's target before its caller (references.dependencies), and in a namespace the
    writes of a kind of a lower ``write_phase`` first (its namespace files and KV values
    before its flows, which may read them: ``read('etl/load.py')``, ``kv('region')``).
    Deletes wait for every write, the higher phases first (see ``delete_stage``), so that a
    flow that stops using a file is gone or updated first."""
    flows = [c for c in changes if c.kind == FLOW]
    deps: dict[FlowRef, set] = dict(dependencies(flows, local))
    # (tenant, namespace) -> phase -> the writes of that phase there
    phases: dict[tuple[str, str], dict[int, set[FlowRef]]] = {}
    for change in changes:
        if change.action in (CREATE, UPDATE):
            deps.setdefault(change.ref, set())
            key = (change.ref.tenant, change.ref.namespace)
            phase = _phase(change.ref)
            phases.setdefault(key, {}).setdefault(phase, set()).add(change.ref)
    for ref in deps:
        here = phases.get((ref.tenant, ref.namespace), {})
        phase = _phase(ref)
        for earlier in (p for p in here if p < phase):
            deps[ref] = deps[ref] | here[earlier]
    return deps


def _phase(ref: FlowRef) -> int:
    kind = facts_of(ref.kind)
    return kind.write_phase if kind is not None else 0


# Deletes go by stage: the kinds of a higher write phase first, a flow after the deleted flows
# that call it (``depths``) within its phase.
_PHASE_STAGE = 1 << 30


def delete_stage(ref: FlowRef, depths: dict[FlowRef, int]) -> int:
    return depths.get(ref, 0) - _phase(ref) * _PHASE_STAGE


def _dependency_error(dependency: FlowRef, why: str) -> str:
    if dependency.kind != FLOW:
        kind = facts_of(dependency.kind)
        noun = kind.noun if kind is not None else dependency.kind
        return f"not attempted: a {noun} write of its namespace {why}"
    return f"not attempted: it depends on {dependency}, which {why}"


class _Sender:
    """Sends one change with the throttle (a 429/503 is resent later, with fewer in flight),
    checks a flow write against the namespace listed again, and counts the changes in a row
    that met a server that could not be reached (``server_gone``)."""

    def __init__(self, client, parallelism: int, throttle: Throttle, cancel, changes):
        # A write refused with 429/503 is resent by the throttle, with fewer in flight; the
        # client must not resend it too (KestraClient.leaving_refusals_to_caller).
        leave = getattr(client, "leaving_refusals_to_caller", None)
        self.client_for = _tenant_clients(leave() if leave is not None else client)
        self.throttle, self.cancel = throttle, cancel
        self.lock = threading.Lock()  # guards `unreachable`
        self.unreachable: list[str] = []  # errors of the latest changes in a row to a dead server
        self.schedule: Scheduler[FlowRef, Outcome] | None = None
        writes_per_namespace: dict[tuple[str, str], int] = {}
        for c in sorted(changes, key=lambda c: _order(c.ref)):
            if c.kind == FLOW and c.action != DELETE:
                key = (c.ref.tenant, c.ref.namespace)
                writes_per_namespace[key] = writes_per_namespace.get(key, 0) + 1
        self.listings = _Listings(self.client_for, list(writes_per_namespace.items()), parallelism)

    def send(self, change: Change) -> Outcome:
        if change.kind == FLOW and change.action in (CREATE, UPDATE):
            why = self.listings.why_not(change)
            if why:
                return Outcome(change, NOT_ATTEMPTED, error=why)
        try:
            outcome = self._with_throttle(change)
        except TransportError as err:
            with self.lock:
                if err.unreachable:
                    self.unreachable.append(err.message)
                else:
                    self.unreachable.clear()
            return Outcome(change, FAILED, error=_transport_error(change, err))
        except KestraSyncError as err:
            outcome = Outcome(change, FAILED, error=err.message)
        with self.lock:
            self.unreachable.clear()  # the server answered
        return outcome

    def _with_throttle(self, change: Change) -> Outcome:
        attempt = 0
        while True:
            try:
                outcome = _apply_one(self.client_for, change)
            except ApiError as err:
                if not self.throttle.should_retry(err.status, attempt):
                    raise
                # 429/503: the server is saturated. Fewer writes in flight, this one later and
                # only when the throttle lets it in (a Ctrl-C ends the wait and reports the
                # refusal).
                delay = self.throttle.refused(attempt, err.retry_after)
                assert self.schedule is not None
                if not self.schedule.send_again_after(partial(self._pause, delay)):
                    raise
                attempt += 1
                continue
            self.throttle.succeeded()
            return outcome

    def _pause(self, delay: float) -> bool:
        """Wait ``delay`` seconds; True when a Ctrl-C ended the wait."""
        if self.cancel is not None:
            return self.cancel.wait(delay)
        time.sleep(delay)
        return False

    def server_gone(self) -> str | None:
        with self.lock:
            if len(self.unreachable) < UNREACHABLE_STOP:
                return None
            return (
                f"not attempted: the server could not be reached for {len(self.unreachable)} "
                f"changes in a row (last: {self.unreachable[-1]}); the apply stopped, re-run "
                "it once the server is back"
            )


def _transport_error(change: Change, err: TransportError) -> str:
    """The client's message says when a write may have been applied (client/http.py); say it
    for any other transport failure that is not known to have sent nothing."""
    error = err.message
    if "re-run converges" in error:  # the client said it already
        return error
    if change.kind != FLOW:
        hint = "" if change.action == DELETE else " (the write may have reached the server)"
        return error + hint + "; a re-run converges"
    sent_nothing = err.unreachable and not err.maybe_applied
    if "may have been applied" not in error and not sent_nothing:
        error += " (it may have been applied; a re-run converges)"
    return error


def apply_plan(
    plan: Plan,
    client,
    *,
    parallelism: int = DEFAULT_PARALLELISM,
    fail_fast: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    cancel: threading.Event | None = None,
    local: Iterable[LocalFlow] = (),
    throttle: Throttle | None = None,
) -> ApplyResult:
    """Apply every create/update/delete of ``plan``, of every kind, through one scheduler.
    Never raises for a single change: each change gets an Outcome (done / failed / not
    attempted).

    Setting ``cancel`` (the CLI does on Ctrl-C) starts nothing new; the requests in flight
    finish (each is bounded by the client's timeout) so that their outcome is known, and the
    rest are reported as not attempted. ``local``: the scanned flows the plan was made from
    (``PlanResult.local``), whose parses are reused to order the changes. A write the server
    refuses with 429/503 is tried again later with fewer writes in flight (``throttle``)."""
    changes = [c for c in plan.changes if c.action in CHANGING]
    outcomes = {c.ref: Outcome(c) for c in changes}
    workers = max(1, parallelism)
    sender = _Sender(client, parallelism, throttle or Throttle(parallelism), cancel, changes)
    # Filled by the delete guard: a flow deleted after the deleted flows that call it.
    depths: dict[FlowRef, int] = {}

    def settle(ref: FlowRef, outcome: Outcome) -> None:
        outcomes[ref] = outcome
        if on_outcome:
            on_outcome(outcome)

    schedule = Scheduler(
        outcomes,
        write_order(changes, local),
        (c.ref for c in changes if c.action == DELETE),
        order=_order,
        run=lambda ref: sender.send(outcomes[ref].change),
        guard=lambda deletes: delete_guard(plan, outcomes, deletes, client, workers, depths),
        blocked=lambda ref, error: Outcome(outcomes[ref].change, error=error),
        workers=workers,
        throttle=sender.throttle,
        on_outcome=settle,
        cancel=cancel,
        fail_fast=fail_fast,
        stop_reason=sender.server_gone,
        delete_stage=lambda ref: delete_stage(ref, depths),
        dependency_error=_dependency_error,
    )
    sender.schedule = schedule
    try:
        schedule.run()
    except BaseException:
        sender.listings.close(wait=False)  # a second Ctrl-C quits at once (README)
        raise
    sender.listings.close()
    _explain_unstarted(schedule, outcomes)
    ordered = [outcomes[c.ref] for c in sorted(changes, key=lambda c: _order(c.ref))]
    return ApplyResult(ordered, interrupted=schedule.interrupted)


def _explain_unstarted(schedule: Scheduler, outcomes: dict[FlowRef, Outcome]) -> None:
    for ref in schedule.unstarted:
        if schedule.interrupted:
            outcomes[ref].error = "not attempted: the apply was interrupted"
        elif schedule.stop_why:
            outcomes[ref].error = schedule.stop_why
        elif schedule.stopped:
            outcomes[ref].error = "not attempted: stopped after the first failure (--fail-fast)"
        else:  # never with an acyclic graph
            outcomes[ref].error = "not attempted: its dependencies could not be ordered"
