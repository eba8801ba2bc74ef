"""Cron schedule triggers, evaluated on the daemon's own clock.

APScheduler's :class:`CronTrigger` computes the fire times; the daemon's clock (real,
accelerated or stepped) decides when they are due, so a schedule behaves the same in
the sandbox at 60x as in production. Ticks missed while the daemon was down are not
replayed: a schedule resumes from the next tick after start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from aiops.model import ManualSignal, SignalKind


@dataclass
class _Entry:
    runbook: str
    trigger: CronTrigger
    labels: dict[str, str]
    next_at: float | None


def _next(trigger: CronTrigger, after: float) -> float | None:
    start = datetime.fromtimestamp(after, UTC) + timedelta(microseconds=1)
    fire = trigger.get_next_fire_time(None, start)
    return None if fire is None else float(fire.timestamp())


class CronSchedules:
    """Which scheduled runbooks are due at ``now``.

    >>> s = CronSchedules([("nightly", "0 3 * * *", {})], now=0.0)
    >>> [sig.t for sig in s.due(2 * 86400)]
    [10800.0, 97200.0]
    >>> s.due(2 * 86400)
    []
    """

    def __init__(self, schedules: Sequence[tuple[str, str, dict[str, str]]], *, now: float) -> None:
        self._entries = []
        for runbook, cron, labels in schedules:
            trigger = CronTrigger.from_crontab(cron, timezone=UTC)
            self._entries.append(_Entry(runbook, trigger, dict(labels), _next(trigger, now)))

    def __len__(self) -> int:
        return len(self._entries)

    def due(self, now: float) -> list[ManualSignal]:
        """Signals for every tick at or before ``now`` not yet returned, oldest first."""
        out: list[ManualSignal] = []
        for e in self._entries:
            while e.next_at is not None and e.next_at <= now:
                out.append(
                    ManualSignal(runbook=e.runbook, t=e.next_at, labels=dict(e.labels),
                                 requested_by="schedule", source=SignalKind.SCHEDULE)
                )
                e.next_at = _next(e.trigger, e.next_at)
        out.sort(key=lambda s: s.t)
        return out
