"""Apply a plan that holds namespace files or KV pairs besides flows, in three phases:

1. write files and KV values (in parallel): a flow that reads ``etl/load.py`` or
   ``{{ kv('region') }}`` finds them once it is written;
2. the flows, through apply.apply_plan's own scheduler (dependencies, deletes last);
3. delete files and KV pairs, after the flows that stopped using them, and only when nothing
   failed before: a failed write leaves every delete not attempted (a re-run converges).

Every change gets an Outcome, as for flows. A file write is idempotent (POST replaces the
file), a KV PUT too, and a delete of something already gone is done: re-running converges.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .apply import DONE, FAILED, ApplyResult, Outcome
from .errors import KestraSyncError, TransportError
from .kinds import KINDS
from .plan import CHANGING, DELETE, Plan


def apply_with_kinds(
    plan: Plan,
    client,
    *,
    parallelism: int = 4,
    fail_fast: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    cancel: threading.Event | None = None,
) -> ApplyResult:
    from dataclasses import replace

    from .apply import apply_plan

    changing = [c for c in plan.changes if c.action in CHANGING]
    others = [c for c in changing if c.kind != "flow"]
    order = list(KINDS)
    writes = sorted(
        (c for c in others if c.action != DELETE), key=lambda c: (order.index(c.kind), c.ref)
    )
    deletes = sorted((c for c in others if c.action == DELETE), key=lambda c: c.ref)
    clients: dict[str, object] = {}
    lock = threading.Lock()

    def client_for(tenant: str):
        with lock:
            if tenant not in clients:
                clients[tenant] = client if tenant == client.tenant else client.with_tenant(tenant)
            return clients[tenant]

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
        for change in blocked:
            outcome = Outcome(
                change,
                error="not attempted: a namespace file or KV write of its namespace failed",
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
        )
        flow_result.outcomes += result.outcomes
        flow_result.interrupted = result.interrupted
    if not stopped and any(o.status != DONE for o in outcomes + flow_result.outcomes):
        stopped.append("a write failed or was not applied, so nothing is deleted")
    phase(deletes)
    everything = outcomes + flow_result.outcomes
    everything.sort(key=lambda o: (o.change.ref.tenant, o.change.ref.namespace, o.change.ref))
    return ApplyResult(
        everything,
        interrupted=flow_result.interrupted or bool(cancel is not None and cancel.is_set()),
    )
