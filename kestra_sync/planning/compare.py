"""The compare step of every kind, flows included: the pipeline hands each kind these
comparisons (``kinds.base.Comparisons``) and the kind picks its own (``Kind.compare``): flows
by source and revision (``plan.build_plan``), the others by content digest
(``resourceplan.compare_kind``). Both are the pure planning core; what was read from the
server and the plan's options are given here, so a comparison does no I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..kinds.base import Kind, KindListing, LocalScan
from ..models import LocalFlow
from .options import PlanOptions
from .plan import Plan, Snapshot, build_plan
from .resourceplan import compare_kind


class PlanComparisons:
    """Adds each kind's changes and errors to ``plan``, compared under ``options``."""

    def __init__(
        self,
        plan: Plan,
        options: PlanOptions,
        *,
        local: list[LocalFlow],
        snapshot: Snapshot,
        scans: dict[str, LocalScan],
        listings: list[KindListing],
        summarize: Callable[[str, str], Any] | None = None,
    ):
        self.plan, self.options, self.summarize = plan, options, summarize
        self.local, self.snapshot = local, snapshot
        self.scans, self.listings = scans, listings

    def by_source(self) -> None:
        from .ownership import ownership_rule
        from .references import referenced_flows

        flows = build_plan(
            self.local,
            self.snapshot,
            delete=self.options.delete,
            allow_empty_namespace=self.options.empty_allowed,
            max_deletes=None,  # counted once, over every kind, by the pipeline
            summarize=self.summarize,
            references=referenced_flows,
            owns=ownership_rule(self.options.ownership_label),
        )
        self.plan.scopes = flows.scopes
        self.plan.changes += flows.changes
        self.plan.errors += flows.errors

    def by_digest(self, kind: Kind[Any]) -> None:
        scan = self.scans.get(kind.name)
        if scan is None:  # git's side of the kind was not scanned (a saved plan without it)
            return
        changes, errors = compare_kind(
            kind,
            scan,
            self.listings,
            delete=self.options.delete,
            allow_empty_namespace=self.options.empty_allowed,
        )
        self.plan.changes += changes
        self.plan.errors += errors
