"""Backtest: a simulated week of the sandbox through detection and the sandbox runbooks."""

from __future__ import annotations

import random
from pathlib import Path

from aiops.config.sources import SandboxConfig
from aiops.engines.remediate_backtest import backtest, backtest_history, open_world
from aiops.runbook import load_runbooks
from tests.runbook.factories import LADDER, SANDBOX_RUNBOOKS, runbook


def test_week_fires_each_fault_runbook_once() -> None:
    """Each sandbox fault fires its runbook once in a week; quiet days fire nothing.

    The backtest replays metrics, not forecasts, so the predictive runbook never fires.
    """
    report = backtest(load_runbooks([SANDBOX_RUNBOOKS]), start=0.0, end=7 * 86400.0)
    assert report.firings == {"cart-memory-leak": 1, "checkout-bad-rollout": 1,
                              "frontend-traffic-surge": 1, "payments-crash-loop": 1,
                              "catalog-predictive-scaling": 0}
    assert report.cycles <= 3000  # coarse steps after the faults keep a week cheap
    runs = [r for r in report.timeline if r.decision == "run"]
    assert all(r.t - report.start < 3 * 3600 for r in runs)
    closed = [r for r in report.timeline if r.decision == "closed"]
    assert len(closed) == 4 and all("resolved" in r.reason for r in closed)


def test_a_fault_starting_just_before_an_hour_still_fires_its_runbook() -> None:
    """Each fault, begun 1.5 to 2.25 min before an hour boundary, fires its runbook once.

    Its first samples end the old hour's phase bin; they must not make the rest of the
    fault "seen before" in the next hour (the daemon starts at any wall-clock minute).
    """
    hour = 1796227200.0  # 16:00 UTC
    world = open_world(SandboxConfig(fault_schedule="default", seed=7), None, 0.0)
    expected = {"cart-memory-leak": 1, "checkout-bad-rollout": 1, "frontend-traffic-surge": 1,
                "payments-crash-loop": 1, "catalog-predictive-scaling": 0}
    runbooks = load_runbooks([SANDBOX_RUNBOOKS])
    for fault in world.faults:
        for lead in (90.0, 105.0, 120.0, 135.0):  # 105 and 120 s once lost checkout's
            start = hour - fault.start - lead
            report = backtest(runbooks, start=start, end=start + 3 * 3600, step=15.0)
            assert report.firings == expected, (fault.name, lead)


def test_fault_free_day_never_fires() -> None:
    """Without faults the runbooks never act over a day of the real demand trace."""
    report = backtest(load_runbooks([SANDBOX_RUNBOOKS]), start=0.0, end=86400.0, faults=False)
    assert set(report.firings.values()) == {0}
    assert [r for r in report.timeline if r.decision in ("run", "action")] == []


def test_fault_free_week_at_the_daemon_cycle_never_fires() -> None:
    """A fault-free simulated week stepped at the daemon's 15 s cycle fires no runbook.

    Weekly demand (a quiet weekend, then the weekday evening peak again) must read as
    seen before, at the cycle the daemon really runs, not only at coarse steps.
    """
    report = backtest(load_runbooks([SANDBOX_RUNBOOKS]), start=0.0, end=7 * 86400.0,
                      faults=False, step=15.0)
    assert report.cycles == 7 * 86400 // 15
    assert set(report.firings.values()) == {0}
    assert [r for r in report.timeline if r.decision in ("run", "action")] == []


def _history(path: Path, *, spike_at: int | None) -> Path:
    rng = random.Random(3)
    lines = ["timestamp,metric,value,namespace,workload"]
    for i in range(480):
        value = 0.3 + rng.gauss(0, 0.01)
        if spike_at is not None and i >= spike_at:
            value = 1.5 + rng.gauss(0, 0.01)
        lines.append(f"{1_700_000_000 + 60 * i},latency_p99,{value:.4f},shop,checkout")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_history_csv_backtest_fires_on_the_recorded_spike(tmp_path: Path) -> None:
    """A recorded latency jump fires the ladder after the jump; a flat history never fires."""
    books = [runbook(LADDER)]
    flat = backtest_history(books, _history(tmp_path / "flat.csv", spike_at=None))
    assert flat.firings == {"ladder": 0}
    report = backtest_history(books, _history(tmp_path / "spike.csv", spike_at=300))
    runs = [r for r in report.timeline if r.decision == "run"]
    assert report.firings["ladder"] == len(runs) >= 1
    assert runs[0].t >= 1_700_000_000 + 60 * 300
    assert runs[0].target == "SandboxWorkload/shop/checkout"
    actions = [r for r in report.timeline if r.decision == "action"]
    assert "scale" in actions[0].reason
