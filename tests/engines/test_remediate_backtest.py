"""Backtest: a simulated week of the sandbox through detection and the sandbox runbooks."""

from __future__ import annotations

from aiops.engines.remediate_backtest import backtest
from aiops.runbook import load_runbooks
from tests.runbook.factories import SANDBOX_RUNBOOKS


def test_week_fires_each_fault_runbook_once() -> None:
    """Each sandbox fault fires its runbook once in a week; quiet days fire nothing."""
    report = backtest(load_runbooks([SANDBOX_RUNBOOKS]), start=0.0, end=7 * 86400.0)
    assert report.firings == {"cart-memory-leak": 1, "checkout-bad-rollout": 1,
                              "frontend-traffic-surge": 1, "payments-crash-loop": 1}
    assert report.cycles <= 3000  # coarse steps after the faults keep a week cheap
    runs = [r for r in report.timeline if r.decision == "run"]
    assert all(r.t - report.start < 3 * 3600 for r in runs)
    closed = [r for r in report.timeline if r.decision == "closed"]
    assert len(closed) == 4 and all("resolved" in r.reason for r in closed)


def test_fault_free_day_never_fires() -> None:
    """Without faults the runbooks never act over a day of the real demand trace."""
    report = backtest(load_runbooks([SANDBOX_RUNBOOKS]), start=0.0, end=86400.0, faults=False)
    assert set(report.firings.values()) == {0}
    assert [r for r in report.timeline if r.decision in ("run", "action")] == []
