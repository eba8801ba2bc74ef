"""Replay recorded signals and samples through the real remediation engine, offline.

``aiops runbook test`` uses it: the same :class:`Remediator`, an in-memory journal
and a :class:`RecordingActuator`, so what it prints is what the daemon would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from aiops.actuators.base import Executors
from aiops.actuators.record import RecordingActuator
from aiops.engines.remediate import Remediator
from aiops.journal import EventView, IncidentView, Journal
from aiops.model import (
    Action,
    Outcome,
    OutcomeStatus,
    Plan,
    Sample,
    SeriesKey,
    Target,
    TargetState,
)
from aiops.runbook.fixture import Fixture, timeline
from aiops.runbook.schema import Runbook
from aiops.telemetry.metrics import Metrics


def quiet_logger() -> structlog.typing.FilteringBoundLogger:
    """A logger that drops everything: offline replays report through their result."""
    logger: structlog.typing.FilteringBoundLogger = structlog.wrap_logger(
        structlog.PrintLogger(), wrapper_class=structlog.make_filtering_bound_logger(50))
    return logger


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplayResult:
    """What the runbooks decided and did over the fixture's timeline."""

    plans: tuple[tuple[float, Plan], ...]
    events: tuple[EventView, ...]
    incidents: tuple[IncidentView, ...]
    actions: tuple[Action, ...]


def replay(
    runbooks: Sequence[Runbook], fx: Fixture, *, start: float = 0.0,
    mode_override: str | None = None,
) -> ReplayResult:
    """Run the fixture through a Remediator; ticks every ``fx.step`` seconds."""
    rec = RecordingActuator(replicas=fx.state.replicas, revision=fx.state.revision)
    journal = Journal(":memory:")
    offline = _NoNetwork()
    rem = Remediator(runbooks, journal, Executors(workloads=rec, by_kind={
        k: offline for k in ("notify", "webhook", "command")}), Metrics(), quiet_logger(),
        mode_override=mode_override)
    due = timeline(fx, start=start)
    end = start + (fx.until if fx.until is not None else due[-1].t - start + 1800.0)
    latest: dict[SeriesKey, Sample] = {}
    plans: list[tuple[float, Plan]] = []
    t, i = start, 0
    while t <= end:
        while i < len(due) and due[i].t <= t:
            item = due[i]
            for s in item.samples:
                latest[s.key] = Sample(key=s.key, t=t, value=s.value)
            if item.signal is not None:
                plans += [(t, p) for p in rem.handle(item.signal, t)]
            i += 1
        rem.tick(t, latest)
        if i >= len(due) and not journal.open_incidents():
            break
        t += fx.step
    result = ReplayResult(
        plans=tuple(plans), events=tuple(reversed(journal.events(limit=100_000))),
        incidents=tuple(journal.incidents(limit=100_000)), actions=tuple(rec.calls),
    )
    journal.close()
    return result


class _NoNetwork:
    """Stands in for webhook/command executors in a replay: records, sends nothing."""

    name = "replay"

    def apply(self, action: Action, *, now: float) -> Outcome:
        return Outcome(action_id=action.id, status=OutcomeStatus.DRY_RUN,
                       message=f"would {action.kind} (not sent during a test)")

    def observe(self, target: Target, *, now: float) -> TargetState:
        return TargetState(target=target)

    def close(self) -> None:
        return None
