"""``aiops runbook backtest``: replay sandbox metric history through detection and runbooks.

The same engines as the daemon (scrape+detect, remediation) run against a fresh
sandbox world driven by the real demand trace, as fast as the CPU allows, with an
in-memory journal. The report counts how often each runbook fired and lists every
decision (runs and the first skip of each streak) on a timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from aiops.actuators.sandbox import SandboxActuator
from aiops.config.detect import DetectConfig
from aiops.config.sources import SandboxConfig
from aiops.detect.bank import DetectorBank
from aiops.engines.remediate import Remediator
from aiops.engines.remediate_replay import quiet_logger
from aiops.engines.scrape import ScrapeEngine
from aiops.journal import Journal
from aiops.model import Decision, Score
from aiops.runbook.schema import Runbook
from aiops.sim import open_world
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
    metrics = Metrics()
    detect = DetectConfig()
    scrape = _Unexported(source=SandboxSource(world, None), bank=DetectorBank(detect),
                          metrics=metrics, signal_floor=detect.signal_floor,
                          log=quiet_logger())
    journal = Journal(":memory:")
    rem = Remediator(runbooks, journal, SandboxActuator(world, None), metrics,
                     quiet_logger(), mode_override="dry-run" if dry_run else None,
                     executors={})
    firings = {rb.name: 0 for rb in runbooks}
    skips: dict[str, int] = {}
    rows: list[Row] = []
    last_skip: dict[tuple[str, str], str] = {}
    cycles = 0
    t = start
    while t < end:
        fine = t < busy_until or bool(journal.open_incidents())
        step = MIN_STEP if fine else coarse
        world.timing = fine_timing if fine else coarse_timing
        t = min(t + step, end)
        cycles += 1
        report = scrape.cycle(t)
        for anomaly in report.anomalies:
            for p in rem.handle(anomaly, t):
                key = (p.runbook, str(p.target))
                reason = p.reasons[-1] if p.reasons else ""
                if p.decision is Decision.SKIP:
                    skips[p.runbook] = skips.get(p.runbook, 0) + 1
                    kind = reason.split(" ", 2)[1] if " " in reason else reason
                    if last_skip.get(key) == kind:
                        continue
                    last_skip[key] = kind
                else:
                    firings[p.runbook] += 1
                    last_skip.pop(key, None)
                rows.append(Row(t=t, runbook=p.runbook, target=str(p.target),
                                decision=str(p.decision), reason=reason if p.decision is
                                Decision.SKIP else " -> ".join(s.description for s in p.steps)))
        rem.tick(t, scrape.latest)
    outcomes = {i.id: f"{i.runbook} on {i.target}: {i.status}"
                for i in journal.incidents(limit=100_000)}
    for inc in journal.incidents(limit=100_000):
        for e in journal.timeline(inc.id):
            if e.kind in ("verify", "closed", "action"):
                rows.append(Row(t=e.t, runbook=inc.runbook, target=str(inc.target),
                                decision=e.kind, reason=e.reason))
    journal.close()
    rows.sort(key=lambda r: r.t)
    return BacktestReport(start=start, end=end, step=coarse, cycles=cycles, firings=firings,
                          skips=skips, timeline=tuple(rows), outcomes=outcomes)
