"""Execute a Plan through the client: bounded parallelism, dependency order, deletes last,
and an outcome for every change so a failure half-way says exactly what was and was not done.

Namespace files and KV pairs (kestra_sync.kinds) are written before the flows and deleted after
them (``_apply_with_kinds`` at the end of this module).

Convergence: a create goes through the client's upsert (a 422 "already exists" becomes an
update), an update whose flow vanished between the check below and the write becomes a create,
and a delete of a flow that is already gone counts as done. Re-running the same apply therefore
reaches the desired state and reports what is left as unchanged.

Guards (README "What kestra-sync guarantees"):
- Before the first write in a namespace, the namespace is listed again; a flow that is no longer
  as planned (another revision, gone, or created meanwhile) is not written ("changed on the
  server since the plan"), so a second apply that ran in between is not silently overwritten.
- Deletes run only when every create and update succeeded (as Terraform does), and only after
  the scopes are read again: a flow that changed since the plan, or that a flow on the server
  references, is not deleted.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import attrgetter

from ..errors import ApiError, KestraSyncError, NotFoundError, TransportError
from ..models import DEFAULT_PARALLELISM, FlowRef, LocalFlow
from ..planning.plan import (
    CHANGING,
    CREATE,
    DELETE,
    UNCHANGED,
    UPDATE,
    Change,
    Plan,
    Scope,
    keep_referenced,
)
from ..planning.references import (  # noqa: F401 - re-exported: apply's API of earlier releases
    dependencies,
    referenced_flows,
)
from .scheduler import Scheduler
from .throttle import Throttle

DONE = "done"
FAILED = "failed"
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

CHANGED_SINCE_PLAN = "not attempted: changed on the server since the plan"


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
        client_for: Callable[[str], object],
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
                    flows = self.client_for(key[0]).search_flows(key[1])
                    self.listed[key] = {f.id: f.revision for f in flows if not f.deleted}
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


def _blocked_deletes(
    plan: Plan, deletes: list[Change], client, parallelism: int
) -> dict[FlowRef, str]:
    """Read the scopes again right before deleting; return the deletes that must not run and
    why: the flow changed since the plan, or a flow on the server now references it (a
    caller created or edited meanwhile, in any namespace of the plan's scopes)."""
    from ..planning.snapshot import read_snapshot

    scopes = plan.scopes or sorted({Scope(c.ref.tenant, c.ref.namespace) for c in deletes})
    try:
        snapshot = read_snapshot(client, scopes, parallelism=parallelism)
    except KestraSyncError as err:
        why = f"not attempted: could not read the server again before deleting: {err.message}"
        return {c.ref: why for c in deletes}
    blocked: dict[FlowRef, str] = {}
    for listing in snapshot.failed():
        for change in deletes:
            if change.ref.tenant == listing.scope.tenant and listing.scope.covers(
                change.ref.namespace
            ):
                blocked[change.ref] = (
                    f"not attempted: could not read namespace {listing.scope.namespace} again "
                    f"before deleting: {listing.error}"
                )
    now = {f.ref: f for lst in snapshot.listings if not lst.error for f in lst.flows}
    planned = {c.ref: c for c in deletes if c.ref not in blocked}
    for ref, change in planned.items():
        current = now.get(ref)
        if current is not None and current.revision != change.server_revision:
            blocked[ref] = (
                f"{CHANGED_SINCE_PLAN} (revision {change.server_revision} -> {current.revision})"
            )
    # What stays on the server after the deletes, with its source now: does it call a target?
    staying = [
        Change(
            DELETE if f.ref in planned and f.ref not in blocked else UNCHANGED,
            f.ref,
            server_source=f.source,
        )
        for f in now.values()
        if not f.deleted
    ]
    keep_referenced(staying, referenced_flows)
    for change in staying:
        if change.ref in planned and change.action != DELETE and change.ref not in blocked:
            blocked[change.ref] = "not attempted: " + change.note
    return blocked


def _apply_one(client_for: Callable[[str], object], change: Change) -> Outcome:
    client = client_for(change.ref.tenant)
    ref = change.ref
    outcome = Outcome(change)
    if change.action == CREATE:
        result = client.upsert(change.source, ref.namespace, ref.id)
        outcome.result, outcome.revision = result.action, result.flow.revision
    elif change.action == UPDATE:
        try:
            flow = client.update_flow(ref.namespace, ref.id, change.source)
        except NotFoundError:  # deleted since the plan: create it again
            result = client.upsert(change.source, ref.namespace, ref.id)
            outcome.result, outcome.revision = result.action, result.flow.revision
        else:
            # Kestra keeps the revision when the source is the same (docs/kestra-api.md).
            same = change.server_revision is not None and flow.revision == change.server_revision
            outcome.result, outcome.revision = ("unchanged" if same else "updated"), flow.revision
    elif change.action == DELETE:
        try:
            client.delete_flow(ref.namespace, ref.id)
            outcome.result = "deleted"
        except NotFoundError:
            outcome.result = "already deleted"
    outcome.status = DONE
    return outcome


def _delete_guard(
    plan: Plan, outcomes: dict[FlowRef, Outcome], deletes: list[FlowRef], client, parallelism: int
) -> dict[FlowRef, str]:
    """Which deletes must not run, and why; called once every write has its outcome."""
    writes = [o for o in outcomes.values() if o.change.action in (CREATE, UPDATE)]
    unwritten = [o for o in writes if o.status != DONE]
    if unwritten:
        # A failed write leaves the server between two states: the old callers of a flow being
        # deleted may still be live (their update did not run). Terraform stops there too.
        names = sorted(str(o.change.ref) for o in unwritten)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        why = (
            f"not attempted: nothing is deleted after a failed or skipped write ({shown}); "
            "a re-run converges"
        )
        return {ref: why for ref in deletes}
    return _blocked_deletes(plan, [outcomes[r].change for r in deletes], client, parallelism)


def _tenant_clients(client) -> Callable[[str], object]:
    """A client per tenant, made on first use and shared by the worker threads."""
    clients: dict[str, object] = {}
    lock = threading.Lock()

    def client_for(tenant: str):
        with lock:
            if tenant not in clients:
                clients[tenant] = client if tenant == client.tenant else client.with_tenant(tenant)
            return clients[tenant]

    return client_for


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
    """Apply every create/update/delete of ``plan``. Never raises for a single change: each
    change gets an Outcome (done / failed / not attempted).

    Setting ``cancel`` (the CLI does on Ctrl-C) starts nothing new; the requests in flight
    finish (each is bounded by the client's timeout) so that their outcome is known, and the
    rest are reported as not attempted. ``local``: the scanned flows the plan was made from
    (``PlanResult.local``), whose parses are reused to order the changes. A write the server
    refuses with 429/503 is tried again later with fewer writes in flight (``throttle``)."""
    if any(c.kind != "flow" and c.action in CHANGING for c in plan.changes):
        # Namespace files and KV pairs: written before the flows, deleted after them.
        return _apply_with_kinds(
            plan,
            client,
            parallelism=parallelism,
            fail_fast=fail_fast,
            on_outcome=on_outcome,
            cancel=cancel,
            local=local,
            throttle=throttle,
        )
    changes = [c for c in plan.changes if c.action in CHANGING]
    deps = dependencies(changes, local)
    outcomes = {c.ref: Outcome(c) for c in changes}
    # A write refused with 429/503 is resent by the throttle below, with fewer in flight; the
    # client must not resend it too (KestraClient.leaving_refusals_to_caller).
    leave = getattr(client, "leaving_refusals_to_caller", None)
    client_for = _tenant_clients(leave() if leave is not None else client)
    lock = threading.Lock()  # guards `unreachable` below

    writes_per_namespace: dict[tuple[str, str], int] = {}
    for c in sorted((c for c in changes if c.action != DELETE), key=lambda c: _order(c.ref)):
        key = (c.ref.tenant, c.ref.namespace)
        writes_per_namespace[key] = writes_per_namespace.get(key, 0) + 1
    listings = _Listings(client_for, list(writes_per_namespace.items()), parallelism)
    unreachable: list[str] = []  # the errors of the latest changes in a row that met a dead server
    throttle = throttle or Throttle(parallelism)

    def run(change: Change) -> Outcome:
        attempt = 0
        while True:
            try:
                outcome = _apply_one(client_for, change)
            except ApiError as err:
                if not throttle.should_retry(err.status, attempt):
                    raise
                # 429/503: the server is saturated. Fewer writes in flight, this one later and
                # only when the throttle lets it in (a Ctrl-C ends the wait and reports the
                # refusal).
                delay = throttle.refused(attempt, err.retry_after)
                if not schedule.send_again_after(lambda d=delay: pause(d)):
                    raise
                attempt += 1
                continue
            throttle.succeeded()
            return outcome

    def pause(delay: float) -> bool:
        """Wait ``delay`` seconds; True when a Ctrl-C ended the wait."""
        if cancel is not None:
            return cancel.wait(delay)
        time.sleep(delay)
        return False

    def run_safely(change: Change) -> Outcome:
        if change.action in (CREATE, UPDATE):
            why = listings.why_not(change)
            if why:
                return Outcome(change, NOT_ATTEMPTED, error=why)
        try:
            outcome = run(change)
        except TransportError as err:
            # The client's message says when a write may have been applied (client/http.py);
            # say it for any other transport failure that is not known to have sent nothing.
            error = err.message
            sent_nothing = err.unreachable and not err.maybe_applied
            if "may have been applied" not in error and not sent_nothing:
                error += " (it may have been applied; a re-run converges)"
            outcome = Outcome(change, FAILED, error=error)
            with lock:
                if err.unreachable:
                    unreachable.append(err.message)
                else:
                    unreachable.clear()
            return outcome
        except KestraSyncError as err:
            outcome = Outcome(change, FAILED, error=err.message)
        with lock:
            unreachable.clear()  # the server answered
        return outcome

    def settle(ref: FlowRef, outcome: Outcome) -> None:
        outcomes[ref] = outcome
        if on_outcome:
            on_outcome(outcome)

    def server_gone() -> str | None:
        with lock:
            if len(unreachable) < UNREACHABLE_STOP:
                return None
            return (
                f"not attempted: the server could not be reached for {len(unreachable)} "
                f"changes in a row (last: {unreachable[-1]}); the apply stopped, re-run "
                "it once the server is back"
            )

    workers = max(1, parallelism)
    schedule = Scheduler(
        outcomes,
        deps,
        (c.ref for c in changes if c.action == DELETE),
        order=_order,
        run=lambda ref: run_safely(outcomes[ref].change),
        guard=lambda deletes: _delete_guard(plan, outcomes, deletes, client, workers),
        blocked=lambda ref, error: Outcome(outcomes[ref].change, error=error),
        workers=workers,
        throttle=throttle,
        on_outcome=settle,
        cancel=cancel,
        fail_fast=fail_fast,
        stop_reason=server_gone,
    )
    try:
        schedule.run()
    except BaseException:
        listings.close(wait=False)  # a second Ctrl-C quits at once (README)
        raise
    listings.close()
    for ref in schedule.unstarted:
        if schedule.interrupted:
            outcomes[ref].error = "not attempted: the apply was interrupted"
        elif schedule.stop_why:
            outcomes[ref].error = schedule.stop_why
        elif schedule.stopped:
            outcomes[ref].error = "not attempted: stopped after the first failure (--fail-fast)"
        else:  # never with an acyclic graph
            outcomes[ref].error = "not attempted: its dependencies could not be ordered"
    ordered = [outcomes[c.ref] for c in sorted(changes, key=lambda c: _order(c.ref))]
    return ApplyResult(ordered, interrupted=schedule.interrupted)


# ---------------------------------------------------------------------------------------------
# namespace files and KV pairs (kestra_sync.kinds)


def _apply_with_kinds(
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
    """Apply a plan that holds namespace files or KV pairs besides flows, in three phases:

    1. write files and KV values (in parallel): a flow that reads ``etl/load.py`` or
       ``{{ kv('region') }}`` finds them once it is written;
    2. the flows, through apply.apply_plan's own scheduler (dependencies, deletes last);
    3. delete files and KV pairs, after the flows that stopped using them, and only when nothing
       failed before. A failed file or KV write holds back the flows of its namespace and every
       delete (a re-run converges).

    Every change gets an Outcome, as for flows. A file write is idempotent (POST replaces the
    file), a KV PUT too, and a delete of something already gone is done: re-running converges.
    """
    from dataclasses import replace

    from ..kinds import KINDS

    changing = [c for c in plan.changes if c.action in CHANGING]
    others = [c for c in changing if c.kind != "flow"]
    order = list(KINDS)
    writes = sorted(
        (c for c in others if c.action != DELETE), key=lambda c: (order.index(c.kind), c.ref)
    )
    deletes = sorted((c for c in others if c.action == DELETE), key=lambda c: c.ref)
    client_for = _tenant_clients(client)

    def run(change) -> Outcome:
        if cancel is not None and cancel.is_set():  # queued before Ctrl-C: do not start it
            return Outcome(change, error="not attempted: the apply was interrupted")
        handler = KINDS[change.kind]
        try:
            target = client_for(change.ref.tenant)
            if change.action == DELETE:
                result = handler.delete(target, change)
            else:
                result = handler.write(target, change)
        except TransportError as err:
            hint = "" if change.action == DELETE else " (the write may have reached the server)"
            return Outcome(change, FAILED, error=err.message + hint + "; a re-run converges")
        except KestraSyncError as err:
            return Outcome(change, FAILED, error=err.message)
        return Outcome(change, DONE, result=result)

    outcomes: list[Outcome] = []
    stopped: list[str] = []

    def phase(changes) -> None:
        if not changes:
            return
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            futures = []
            for change in changes:
                if stopped or (cancel is not None and cancel.is_set()):
                    why = stopped[0] if stopped else "the apply was interrupted"
                    outcome = Outcome(change, error=f"not attempted: {why}")
                    outcomes.append(outcome)
                    if on_outcome:
                        on_outcome(outcome)
                    continue
                futures.append(pool.submit(run, change))
                if fail_fast:  # one at a time, so that the first failure stops the rest
                    outcome = futures.pop().result()
                    _settle(outcome)
            for future in futures:
                _settle(future.result())

    def _settle(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if outcome.status == FAILED and fail_fast and not stopped:
            stopped.append("stopped after the first failure (--fail-fast)")
        if on_outcome:
            on_outcome(outcome)

    phase(writes)
    flows = replace(plan, changes=[c for c in plan.changes if c.kind == "flow"])
    flow_result = ApplyResult()
    if stopped or (cancel is not None and cancel.is_set()):
        why = stopped[0] if stopped else "the apply was interrupted"
        for change in flows.changes:
            if change.action in CHANGING:
                outcome = Outcome(change, error=f"not attempted: {why}")
                flow_result.outcomes.append(outcome)
                if on_outcome:
                    on_outcome(outcome)
    else:
        # A flow may read a file or key of its namespace that failed: it is not deployed (a
        # flow whose script is missing or stale would run wrong). Other namespaces go ahead.
        broken = {
            (o.change.ref.tenant, o.change.ref.namespace) for o in outcomes if o.status == FAILED
        }
        blocked = [
            c
            for c in flows.changes
            if c.action in CHANGING and (c.ref.tenant, c.ref.namespace) in broken
        ]
        # As for flows (_delete_guard): after any failed write, no flow is deleted either.
        blocked += [c for c in flows.changes if broken and c.action == DELETE and c not in blocked]
        for change in blocked:
            outcome = Outcome(
                change,
                error="not attempted: nothing is deleted after a failed or skipped write"
                if change.action == DELETE
                else "not attempted: a namespace file or KV write of its namespace failed",
            )
            flow_result.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
        skipped = {id(c) for c in blocked}
        ready = replace(flows, changes=[c for c in flows.changes if id(c) not in skipped])
        result = apply_plan(
            ready,
            client,
            parallelism=parallelism,
            fail_fast=fail_fast,
            on_outcome=on_outcome,
            cancel=cancel,
            local=local,
            throttle=throttle,
        )
        flow_result.outcomes += result.outcomes
        flow_result.interrupted = result.interrupted
    if not stopped and cancel is not None and cancel.is_set():
        stopped.append("the apply was interrupted")  # not "a write failed": none did
    if not stopped and any(o.status != DONE for o in outcomes + flow_result.outcomes):
        stopped.append("a write failed or was not applied, so nothing is deleted")
    phase(deletes)
    everything = outcomes + flow_result.outcomes
    everything.sort(key=lambda o: (o.change.ref.tenant, o.change.ref.namespace, o.change.ref))
    return ApplyResult(
        everything,
        interrupted=flow_result.interrupted or bool(cancel is not None and cancel.is_set()),
    )
