"""Live forecast quality: the streaming MASE and coverage equal the batch figures."""

from __future__ import annotations

import math

import numpy as np

from aiops.forecast.accuracy import mase
from aiops.model import SeriesKey
from aiops.models.forecast_quality import ForecastQuality

KEY = SeriesKey.of("request_rate", workload="catalog")


def test_streaming_mase_and_coverage_match_the_batch_definition() -> None:
    """Forecasts made `lead` cycles ahead, scored when their demand comes, equal the bench's
    MASE (daily seasonal naive scale) and the share at or below the upper band."""
    rng = np.random.default_rng(7)
    season, lead, n = 24, 3, 24 * 20
    t = np.arange(n)
    y = 100 + 30 * np.sin(2 * np.pi * t / season) + rng.normal(0, 5, n)
    point = y + rng.normal(0, 8, n)  # the forecast made at k for k + lead
    upper = point + 10
    q = ForecastQuality(lead=lead, season=season)
    for k in range(n):
        fc = point[k + lead] if k + lead < n else math.nan
        up = upper[k + lead] if k + lead < n else math.nan
        q.update(KEY, actual=float(y[k]), predicted=float(fc), upper=float(up))
    s = q.score(KEY)
    # every point from `lead` on has its forecast; the naive needs a day of history
    expected = mase(y[lead:], point[lead:], y, season=season)
    assert math.isclose(s.mase_total, expected, rel_tol=1e-9)
    assert math.isclose(s.coverage_total, float(np.mean(y[lead:] <= upper[lead:])), rel_tol=1e-9)
    assert s.points == n - lead


def test_recent_quality_forgets_and_shows_a_decay() -> None:
    """After the forecast goes bad, the last-day view is worse than the since-start one."""
    q = ForecastQuality(lead=1, season=3, recent_steps=50)
    for k in range(2000):
        y = 10.0 + (k % 4)
        bad = k >= 1900
        q.update(KEY, actual=y, predicted=y + (5.0 if bad else 0.1), upper=y + (-1 if bad else 1))
    s = q.score(KEY)
    assert s.mase_recent > 2 * s.mase_total
    assert s.coverage_recent < s.coverage_total


def test_a_gap_scores_nothing_and_workloads_are_bounded() -> None:
    """A NaN demand is not scored; a workload beyond max_workloads is not tracked."""
    q = ForecastQuality(lead=1, season=2, max_workloads=1)
    for y in (1.0, math.nan, 3.0):
        q.update(KEY, actual=y, predicted=2.0, upper=5.0)
    q.update(SeriesKey.of("request_rate", workload="other"), actual=1, predicted=1, upper=1)
    assert q.score(KEY).points == 1 and q.workloads() == [KEY]


def test_backfilled_history_scales_the_first_scored_points_and_scores_nothing() -> None:
    """Demand remembered from the start-up backfill is the naive's history (the MASE has a
    scale from the first scored point on) but is never itself a scored point."""
    q = ForecastQuality(lead=1, season=2)
    for y in (10.0, 14.0):
        q.remember(KEY, y)
    assert q.score(KEY).points == 0
    q.update(KEY, actual=12.0, predicted=11.0, upper=13.0)  # nothing pending yet
    q.update(KEY, actual=16.0, predicted=11.0, upper=13.0)  # scored: |16-11|=5; naive |16-14|=2
    s = q.score(KEY)
    assert s.points == 1 and math.isclose(s.mase_total, 2.5)
    cold = ForecastQuality(lead=1, season=2)
    for y in (12.0, 16.0):
        cold.update(KEY, actual=y, predicted=11.0, upper=13.0)
    assert math.isnan(cold.score(KEY).mase_total)  # without the backfill: no scale yet
