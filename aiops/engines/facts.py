"""Gather the guards' inputs: the journal (every guard's state) and the actuator's view.

Shared by intake (plan time) and the step runner (the re-check before every mutating
step), so neither reaches into the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from aiops.actuators.base import Actuator
from aiops.errors import AiopsError
from aiops.journal import Journal
from aiops.model import Target, TargetState
from aiops.runbook.guards import HOUR, GuardFacts
from aiops.runbook.schema import Runbook

Log = structlog.typing.FilteringBoundLogger


class FactsReader:
    """Reads :class:`GuardFacts` for a runbook and target at ``now``."""

    def __init__(
        self, *, journal: Journal, actuator: Actuator, log: Log,
        changes_per_hour: int | None = None, deny_namespaces: Sequence[str] = ("kube-system",),
        allow_namespaces: Sequence[str] = (), shard: tuple[int, int] = (0, 1),
    ) -> None:
        self.journal = journal
        self.actuator = actuator
        self.log = log
        self.changes_per_hour = changes_per_hour
        self.deny_namespaces = tuple(deny_namespaces)
        self.allow_namespaces = tuple(allow_namespaces)
        self.shard_ordinal, self.shard_count = shard

    def observe(self, target: Target, now: float) -> TargetState | None:
        """The actuator's view of ``target``, or ``None`` if it cannot be observed now."""
        try:
            return self.actuator.observe(target, now=now)
        except AiopsError as exc:
            self.log.warning("observe failed", target=str(target), error=str(exc))
            return None

    def facts(
        self, rb: Runbook | None, target: Target, now: float, *, recheck: bool = False
    ) -> GuardFacts:
        """Everything the guards of ``rb`` need to judge a run on ``target`` now."""
        if rb is None:
            return GuardFacts(deny_namespaces=self.deny_namespaces,
                              allow_namespaces=self.allow_namespaces,
                              shard_count=self.shard_count, shard_ordinal=self.shard_ordinal)
        running = None if recheck else self.journal.holding(target)
        windows = [w.per for w in rb.spec.guards.max_runs]
        return GuardFacts(
            running=running,
            last_closed_at=self.journal.last_closed_at(rb.name, target),
            run_starts=self.journal.run_starts(rb.name, target, now - max(windows))
            if windows else (),
            changes_last_hour=self.journal.changes_since(now - HOUR)
            if self.changes_per_hour is not None else 0,
            changes_per_hour=self.changes_per_hour,
            firing_alerts=self.journal.firing_alerts(),
            state=None if running else self.observe(target, now),
            pods_deleted_last_hour=self.journal.actions_since(target, "delete_pod", now - HOUR)
            if rb.spec.guards.max_pods_fraction is not None else 0,
            deny_namespaces=self.deny_namespaces,
            allow_namespaces=self.allow_namespaces,
            shard_count=self.shard_count,
            shard_ordinal=self.shard_ordinal,
        )
