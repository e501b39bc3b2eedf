"""Run an apply's changes on worker threads: dependency order, bounded parallelism, deletes
last behind one guard, and an outcome for every change.

Each worker takes its next change itself as soon as it settles the last one. (A scheduling
thread that hands changes to a pool puts two thread wake-ups between a finished request and
the next one, each waiting for the GIL while the other workers build and parse requests: in a
first deploy of 2,000 flows the workers sat idle a few milliseconds between changes, issue 13.)

The bookkeeping keeps counts, not scans: a change becomes ready when its last dependency is
done, so each step costs O(its own edges) and thousands of changes schedule in linear time.
(Scanning every pending change after each completion was quadratic, run under the GIL the
workers need: 4,000 creates + 100 deletes spent 100 s in bookkeeping.)
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

# What a guard or a stop check reads of an outcome.
DONE = "done"
FAILED = "failed"


class _Outcome(Protocol):
    status: str
    error: str


class _Throttle(Protocol):
    @property
    def allowed(self) -> int: ...


_GUARD: Any = object()  # the task "check the deletes", run once by one worker

Ref = TypeVar("Ref", bound=Hashable)  # what names a change (a FlowRef)
Out = TypeVar("Out", bound=_Outcome)  # a change's outcome


class Scheduler(Generic[Ref, Out]):
    """One apply's schedule. ``run(ref)`` performs a change and returns its outcome (never
    raises for a change that failed); ``guard(deletes)`` returns the deletes that must not run
    and why, once every write is settled; ``blocked(ref, error)`` makes the outcome of a change
    that is not attempted; ``stop_reason()`` says, after each outcome, why nothing more should
    start (the server is gone), or None. ``delete_stage(ref)``: deletes of a stage start only
    once every delete of the stages before it is settled (flows before the files and KV pairs
    they used). ``dependency_error(dependency, why)``: the error of a change not attempted
    because ``dependency`` failed or was not applied."""

    def __init__(
        self,
        refs: Iterable[Ref],
        deps: Mapping[Ref, Collection[Ref]],
        deletes: Iterable[Ref],
        *,
        order: Callable[[Ref], Any],
        run: Callable[[Ref], Out],
        guard: Callable[[list[Ref]], Mapping[Ref, str]],
        blocked: Callable[[Ref, str], Out],
        workers: int,
        throttle: _Throttle,
        on_outcome: Callable[[Ref, Out], None],
        cancel: threading.Event | None = None,
        fail_fast: bool = False,
        stop_reason: Callable[[], str | None] = lambda: None,
        delete_stage: Callable[[Ref], int] = lambda ref: 0,
        dependency_error: Callable[[Ref, str], str] | None = None,
    ):
        self._order, self._run, self._guard, self._blocked = order, run, guard, blocked
        self._workers, self._throttle, self._on_outcome = max(1, workers), throttle, on_outcome
        self._cancel, self._fail_fast, self._stop_reason = cancel, fail_fast, stop_reason
        self._cond = threading.Condition()
        self._dependents: dict[Any, list[Any]] = {}
        self._waiting: dict[Any, int] = {}
        for ref, before in deps.items():
            self._waiting[ref] = len(before)
            for dep in before:
                self._dependents.setdefault(dep, []).append(ref)
        # Among ready changes, the same sorted order as the final report.
        self._ready = [(order(ref), ref) for ref in deps if not self._waiting[ref]]
        heapq.heapify(self._ready)
        self._stage = delete_stage
        self._dependency_error = dependency_error or (
            lambda dep, why: f"not attempted: it depends on {dep}, which {why}"
        )
        # Popped from the end: by stage, then in the report's order.
        self._deletes = sorted(deletes, key=lambda r: (delete_stage(r), order(r)), reverse=True)
        self._deleting: dict[Any, int] = {}  # deletes in flight -> their stage
        # The first delete that did not succeed, and its stage: the later stages' deletes were
        # allowed by the guard because it would be gone (a flow that used a file or KV pair).
        self._failed_delete: tuple[Any, int] | None = None
        self._writes_left = len(deps)
        self.unstarted = set(refs)
        self._running = 0  # changes holding a slot: sending, or refused and waiting to resend
        self._backing_off = 0  # of those, refused (429/503) and waiting: not in the server
        self._guarding = self._guarded = False
        self.stopped = self.interrupted = False
        self._abandoned = False  # run() has returned on a second Ctrl-C: report nothing more
        self.stop_why = ""  # from stop_reason()
        self._error: BaseException | None = None

    # -- run ------------------------------------------------------------------------------

    def run(self) -> None:
        """Run every change that can run; return when none is running and none can start.
        An exception in a worker (a bug, never a failed change) is raised here."""
        count = min(self._workers, len(self.unstarted)) or 1
        threads = [
            threading.Thread(target=self._work, name=f"kestra-sync-apply-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                # A timeout so that a Ctrl-C's handler runs, and wakes the idle workers.
                while thread.is_alive():
                    thread.join(0.1)
                    if self._cancel is not None and self._cancel.is_set():
                        with self._cond:
                            self._cond.notify_all()
        except BaseException:
            # A second Ctrl-C quits at once (README): start nothing more and do not wait for the
            # requests in flight (a hung server would hold the process until its timeout). The
            # workers are daemon threads; whatever they still finish is not reported.
            with self._cond:
                self.stopped = self._abandoned = True
                self._cond.notify_all()
            raise
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        holding = False  # whether this worker counts in self._running
        try:
            while True:
                with self._cond:
                    task = self._next()
                    while task is None:
                        if self._finished():
                            self._cond.notify_all()
                            return
                        self._cond.wait()
                        task = self._next()
                if task is _GUARD:
                    self._check_deletes()
                    continue
                holding = True
                outcome = self._run(task)
                with self._cond:
                    self._running -= 1
                    stage = self._deleting.pop(task, None)
                    holding = False
                    if stage is not None and outcome.status != DONE:
                        self._note_failed_delete(task, stage)
                    if self._abandoned:
                        return
                    self._settle(task, outcome)
                    if outcome.status == FAILED and self._fail_fast:
                        self.stopped = True
                    why = None if self.stopped else self._stop_reason()
                    if why:
                        self.stopped, self.stop_why = True, why
                    self._cond.notify_all()
        except BaseException as err:  # noqa: BLE001 - carried to the caller of run()
            with self._cond:
                self._error = self._error or err
                if holding:
                    self._running -= 1
                self.stopped = True
                self._cond.notify_all()

    def send_again_after(self, pause: Callable[[], bool]) -> bool:
        """For a change the server refused (429/503), from inside ``run``: ``pause()`` waits
        (True when cancelled); then wait until fewer changes are in the server than the
        throttle allows now, so that the refused ones do not all come back at once. True when
        it may be sent again; False on a Ctrl-C. (It keeps its slot all along: no new change
        takes it.)"""
        with self._cond:
            self._backing_off += 1
            self._cond.notify_all()  # one fewer in the server: a waiting retry may go
        counted = True
        try:
            if pause():
                return False
            with self._cond:
                while self._running - self._backing_off >= self._slots():
                    if self._abandoned or (self._cancel is not None and self._cancel.is_set()):
                        return False
                    self._cond.wait()  # a settle, or run() every 0.1 s after a Ctrl-C
                self._backing_off -= 1  # under the same lock as the check: one at a time
                counted = False
            return True
        finally:
            if counted:
                with self._cond:
                    self._backing_off -= 1

    # -- under the lock -------------------------------------------------------------------

    def _next(self) -> Any:
        """The next task this worker may start now, or None (wait, or nothing is left)."""
        if self._cancel is not None and self._cancel.is_set() and not self.stopped:
            self.stopped = self.interrupted = True
        if self.stopped or self._guarding:
            return None
        if self._deletes and not self._writes_left and not self._guarded:
            self._guarding = True  # every write is settled: check the deletes, once
            return _GUARD
        if self._running >= self._slots():
            return None
        if self._ready:
            ref = heapq.heappop(self._ready)[1]
        else:
            ref = self._next_delete()
            if ref is None:
                return None
        self.unstarted.discard(ref)
        self._running += 1
        return ref

    def _note_failed_delete(self, ref: Any, stage: int) -> None:
        if self._failed_delete is None or stage < self._failed_delete[1]:
            self._failed_delete = (ref, stage)

    def _next_delete(self) -> Any:
        """The next delete that may start, or None. Deletes run last, after every write, by
        stage; none of a stage after one whose delete failed (what stays may still use it)."""
        while self._deletes and not self._writes_left:
            ref = self._deletes[-1]
            stage = self._stage(ref)
            if any(running < stage for running in self._deleting.values()):
                return None  # an earlier stage is still deleting
            self._deletes.pop()
            if self._failed_delete is not None and self._failed_delete[1] < stage:
                failed = self._failed_delete[0]
                why = (
                    f"not attempted: the delete of {failed} failed, and it may still use this; "
                    "a re-run converges"
                )
                self._settle(ref, self._blocked(ref, why))
                continue
            self._deleting[ref] = stage
            return ref
        return None

    def _slots(self) -> int:
        """How many changes may be in the server now: the workers, fewer after a 429/503."""
        return min(self._workers, self._throttle.allowed)

    def _finished(self) -> bool:
        if self._running or self._guarding:
            return False
        if self.stopped:
            return True
        return not self._ready and not (self._deletes and not self._writes_left)

    def _settle(self, ref: Ref, outcome: Out) -> None:
        stack = [(ref, outcome)]
        while stack:
            ref, outcome = stack.pop()
            self.unstarted.discard(ref)
            if ref in self._waiting:  # a write, not a delete
                self._writes_left -= 1
            self._on_outcome(ref, outcome)
            for dependent in self._dependents.get(ref, ()):
                if dependent not in self.unstarted:
                    continue
                if outcome.status == DONE:
                    self._waiting[dependent] -= 1
                    if not self._waiting[dependent]:
                        heapq.heappush(self._ready, (self._order(dependent), dependent))
                else:
                    why = "failed" if outcome.status == FAILED else "was not applied"
                    self.unstarted.discard(dependent)  # settled below, never started
                    error = self._dependency_error(ref, why)
                    stack.append((dependent, self._blocked(dependent, error)))

    # -- the delete guard (reads the server: outside the lock) -----------------------------

    def _check_deletes(self) -> None:
        with self._cond:
            deletes = list(self._deletes)
        # Whatever happens (the guard or on_outcome raising), the guard is over when this
        # returns: the other workers wait while it runs, and would otherwise wait forever. After
        # an error no delete starts (stopped is set under the same lock as the guard ends).
        ok = False
        try:
            blocked = self._guard(deletes)
            with self._cond:
                # The guard may have ordered the deletes (delete_stage): sort them again.
                self._deletes = sorted(
                    (ref for ref in self._deletes if ref not in blocked),
                    key=lambda r: (self._stage(r), self._order(r)),
                    reverse=True,
                )
                blocked_in_order = sorted(blocked.items(), key=lambda item: self._order(item[0]))
                for ref, why in [] if self._abandoned else blocked_in_order:
                    self._settle(ref, self._blocked(ref, why))
            ok = True
        finally:
            with self._cond:
                self._guarding, self._guarded = False, True
                self.stopped = self.stopped or not ok
                self._cond.notify_all()
