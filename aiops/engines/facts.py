"""Gather the guards' inputs: the journal (every guard's state) and the actuator's view.

Shared by intake (plan time) and the step runner (the re-check before every mutating
step), so neither reaches into the other. :meth:`FactsReader.recheck_windows` judges
the guards again inside the transaction that journals the decision, with the cooldown
and ``max_runs`` state read there, under the target's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import structlog

from aiops.actuators.base import Actuator
from aiops.errors import AiopsError, TemporaryError
from aiops.journal import Journal
from aiops.journal.reads import Reads
from aiops.model import Reason, Target, TargetState
from aiops.runbook.guards import HOUR, GuardFacts, check_guards
from aiops.runbook.schema import Runbook

Log = structlog.typing.FilteringBoundLogger


class FactsReader:
    """Reads :class:`GuardFacts` for a runbook and target at ``now``."""

    def __init__(
        self, *, journal: Journal, actuator: Actuator, log: Log,
        changes_per_hour: int | None = None, deny_namespaces: Sequence[str] = ("kube-system",),
        allow_namespaces: Sequence[str] = (),
    ) -> None:
        self.journal = journal
        self.actuator = actuator
        self.log = log
        self.changes_per_hour = changes_per_hour
        self.deny_namespaces = tuple(deny_namespaces)
        self.allow_namespaces = tuple(allow_namespaces)
        self._unreachable: tuple[float, str] | None = None

    def unreachable(self, now: float) -> str | None:
        """Why the actuator is not to be called again in the tick at ``now`` (it failed
        with a temporary error, e.g. a timeout, earlier in this tick), else ``None``.

        One stalled API must not hold the daemon's lock for one timeout per call: after
        the first temporary failure of a tick the rest of the tick skips the actuator,
        and the steps that needed it are retried later.
        """
        return self._unreachable[1] if self._unreachable and self._unreachable[0] == now \
            else None

    def mark_unreachable(self, now: float, error: str) -> None:
        self._unreachable = (now, error)

    def observe(self, target: Target, now: float) -> TargetState | None:
        """The actuator's view of ``target``, or ``None`` if it cannot be observed now."""
        if self.unreachable(now) is not None:
            return None
        try:
            return self.actuator.observe(target, now=now)
        except TemporaryError as exc:
            self.mark_unreachable(now, str(exc))
            self.log.warning("observe failed", target=str(target), error=str(exc))
            return None
        except AiopsError as exc:
            self.log.warning("observe failed", target=str(target), error=str(exc))
            return None

    def facts(
        self, rb: Runbook | None, target: Target, now: float, *, recheck: bool = False
    ) -> GuardFacts:
        """Everything the guards of ``rb`` need to judge a run on ``target`` now."""
        if rb is None:
            return GuardFacts(deny_namespaces=self.deny_namespaces,
                              allow_namespaces=self.allow_namespaces)
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
        )

    def recheck_windows(self, reads: Reads, rb: Runbook, target: Target, facts: GuardFacts,
                        *, now: float) -> Reason | None:
        """:func:`check_guards` on ``facts`` with the windows read from ``reads`` now.

        ``reads`` is the transaction about to journal the decision, holding the
        target's lock: the cooldown and ``max_runs`` windows cannot change before it
        commits. Who holds the target is the database's unique index to judge.
        """
        windows = [w.per for w in rb.spec.guards.max_runs]
        fresh = replace(
            facts, running=None, last_closed_at=reads.last_closed_at(rb.name, target),
            run_starts=reads.run_starts(rb.name, target, now - max(windows)) if windows else ())
        return check_guards(rb.spec.guards, target, fresh, now=now)
