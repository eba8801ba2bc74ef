"""``aiops runbook backtest``: replay metric history through detection and runbooks.

The same engines as the daemon (scrape+detect, remediation) run as fast as the CPU
allows with an in-memory journal, against a fresh sandbox world driven by the real
demand trace (which reacts to the runbooks' actions) or a recorded history CSV. The
report counts how often each runbook fired and lists every decision (runs and the
first skip of each streak) on a timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from aiops.actuators.base import Actuator
from aiops.actuators.record import RecordingActuator
from aiops.actuators.sandbox import SandboxActuator
from aiops.config.detect import DetectConfig
from aiops.config.sources import SandboxConfig
from aiops.detect.bank import DetectorBank
from aiops.detect.columns import ScoreBatch
from aiops.engines.remediate import Remediator
from aiops.engines.remediate_replay import quiet_logger
from aiops.engines.scrape import ScrapeEngine
from aiops.journal import Journal
from aiops.model import Decision, Score
from aiops.runbook.lifecycle import CLOSING_KINDS
from aiops.runbook.schema import Runbook
from aiops.sim import open_world
from aiops.sources.base import SampleBatch, Source
from aiops.sources.replay import ReplaySource
from aiops.sources.sandbox import SandboxSource
from aiops.telemetry.metrics import Metrics

#: Cycles a backtest aims for; the step grows with the range to keep a week under ~10 s.
TARGET_CYCLES = 2000
MIN_STEP = 15.0
SIM_STEP = 30.0
FINE_AFTER = 3600.0


class _Unexported(ScrapeEngine):
    """The scrape engine without per-series gauges: nobody scrapes a backtest."""

    def _export(self, scores: list[Score]) -> None:
        return None

    def _export_columns(self, sb: ScoreBatch, batch: SampleBatch) -> None:
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Row:
    t: float
    runbook: str
    target: str
    decision: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class BacktestReport:
    start: float
    end: float
    step: float
    cycles: int
    firings: dict[str, int] = field(default_factory=dict)
    skips: dict[str, int] = field(default_factory=dict)
    timeline: tuple[Row, ...] = ()
    outcomes: dict[str, str] = field(default_factory=dict)


def backtest(
    runbooks: Sequence[Runbook], *, start: float, end: float, faults: bool = True,
    step: float | None = None, dry_run: bool = False, seed: int = 7,
) -> BacktestReport:
    """Run the sandbox from ``start`` to ``end`` seconds and record every decision."""
    coarse = step or max(MIN_STEP, (end - start) / TARGET_CYCLES)
    cfg = SandboxConfig(fault_schedule="default" if faults else "none", seed=seed)
    world = open_world(cfg, None, start)
    fine_timing = world.timing
    coarse_timing = replace(fine_timing, step=max(fine_timing.step, min(SIM_STEP, coarse)))
    # Fine steps (as the daemon runs) while faults are scheduled and an hour after;
    # coarse steps for the quiet rest of a long range keep a simulated week fast.
    busy_until = max((f.end or f.start for f in world.faults), default=start) + FINE_AFTER

    def next_step(t: float, busy: bool) -> float:
        fine = t < busy_until or busy
        world.timing = fine_timing if fine else coarse_timing
        return MIN_STEP if fine else coarse

    return _run(runbooks, SandboxSource(world, None), SandboxActuator(world, None),
                start=start, end=end, next_step=next_step, dry_run=dry_run, report_step=coarse)


def backtest_history(
    runbooks: Sequence[Runbook], path: Path, *, start: float = 0.0, end: float | None = None,
    step: float = 60.0,
) -> BacktestReport:
    """Replay a history CSV (``timestamp,metric,value,labels...``) through detection and
    the runbooks; ``start``/``end`` are offsets from the file's first timestamp. History
    cannot react, so actions go to a recording actuator."""
    source = ReplaySource(path)
    first, last = source.span
    t0 = first + start
    t1 = last if end is None else min(last, first + end)
    return _run(runbooks, source, RecordingActuator(), start=t0 - step, end=t1,
                next_step=lambda t, busy: step, dry_run=False, report_step=step)


def _run(
    runbooks: Sequence[Runbook], source: Source, actuator: Actuator, *, start: float,
    end: float, next_step: Callable[[float, bool], float], dry_run: bool, report_step: float,
) -> BacktestReport:
    metrics = Metrics()
    detect = DetectConfig()
    scrape = _Unexported(source=source, bank=DetectorBank(detect), metrics=metrics,
                         signal_floor=detect.signal_floor, log=quiet_logger())
    journal = Journal(":memory:")
    rem = Remediator(runbooks, journal, actuator, metrics, quiet_logger(),
                     mode_override="dry-run" if dry_run else None)
    firings = {rb.name: 0 for rb in runbooks}
    skips: dict[str, int] = {}
    rows: list[Row] = []
    last_skip: dict[tuple[str, str], str] = {}
    cycles = 0
    t = start
    while t < end:
        t = min(t + next_step(t, bool(journal.open_incidents())), end)
        cycles += 1
        report = scrape.cycle(t)
        for anomaly in report.anomalies:
            for p in rem.handle(anomaly, t):
                key = (p.runbook, str(p.target))
                reason = p.reason.message
                if p.decision is Decision.SKIP:
                    skips[p.runbook] = skips.get(p.runbook, 0) + 1
                    kind = p.reason.code.value
                    if last_skip.get(key) == kind:
                        continue
                    last_skip[key] = kind
                else:
                    firings[p.runbook] += 1
                    last_skip.pop(key, None)
                rows.append(Row(t=t, runbook=p.runbook, target=str(p.target),
                                decision=str(p.decision), reason=reason if p.decision is
                                Decision.SKIP else " -> ".join(s.description for s in p.steps)))
        rem.tick(t, scrape.latest_samples())
    outcomes = {i.id: f"{i.runbook} on {i.target}: {i.status}"
                for i in journal.incidents(limit=100_000)}
    for inc in journal.incidents(limit=100_000):
        for e in journal.timeline(inc.id):
            if e.kind in ("verify", "action"):
                rows.append(Row(t=e.t, runbook=inc.runbook, target=str(inc.target),
                                decision=e.kind, reason=e.reason))
            elif e.kind in CLOSING_KINDS:
                rows.append(Row(t=e.t, runbook=inc.runbook, target=str(inc.target),
                                decision="closed", reason=f"{e.kind} [{e.code}]: {e.reason}"))
    journal.close()
    rows.sort(key=lambda r: r.t)
    return BacktestReport(start=start, end=end, step=report_step, cycles=cycles,
                          firings=firings, skips=skips, timeline=tuple(rows), outcomes=outcomes)
