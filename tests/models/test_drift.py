"""Drift against the training window: a daily pattern is not drift, a lasting shift is."""

from __future__ import annotations

import math

import numpy as np

from aiops.model import SeriesKey
from aiops.models.drift import KEEP, DriftWatch

KEY = SeriesKey.of("latency_p99", workload="checkout")
STEP = 300.0  # 5-minute samples
DAY = 86400.0


def daily(t: float, rng: np.random.Generator, level: float = 10.0) -> float:
    return level + 4.0 * math.sin(2 * math.pi * t / DAY) + rng.normal(0, 0.5)


def run(days: float, value: object) -> tuple[DriftWatch, list[object]]:
    w = DriftWatch(reference=DAY, window=DAY, bins=10, threshold=0.25)
    changes: list[object] = []
    for i in range(int(days * DAY / STEP)):
        t = i * STEP
        changes += w.update([(KEY, t, value(t))])  # type: ignore[operator]
    return w, changes


def test_a_steady_daily_pattern_never_drifts() -> None:
    """Four days of the same daily sine: judged every hour after day two, never drifted."""
    rng = np.random.default_rng(3)
    w, changes = run(4, lambda t: daily(t, rng))
    assert changes == []
    assert w.psi_of(KEY) < 0.1  # judged, and close to the reference


def test_a_lasting_shift_drifts_once_and_names_the_training_window() -> None:
    """From day 2.5 the level is 60% higher: one drift, after the shift, with its reference."""
    rng = np.random.default_rng(4)
    w, changes = run(4, lambda t: daily(t, rng, 16.0 if t >= 2.5 * DAY else 10.0))
    started = [c for c in changes if c.started]  # type: ignore[attr-defined]
    assert len(started) == 1
    c = started[0]
    assert 2.5 * DAY < c.t <= 3.5 * DAY and c.psi > 0.25
    assert c.reference[0] == 0.0 and DAY <= c.reference[1] < DAY + STEP
    assert w.drifted() == [KEY]


def test_a_drift_ends_when_the_series_is_back() -> None:
    """A shift lasting half a day drifts, and the drift ends a window after it is over."""
    rng = np.random.default_rng(5)
    _, changes = run(5, lambda t: daily(t, rng, 16.0 if 2.2 * DAY <= t < 2.7 * DAY else 10.0))
    kinds = [c.started for c in changes]  # type: ignore[attr-defined]
    assert kinds == [True, False]


def test_the_reference_keeps_a_bounded_sample_however_long_it_is() -> None:
    """A week-long reference of 1-minute samples keeps at most KEEP values."""
    w = DriftWatch(reference=7 * DAY, window=DAY)
    for i in range(int(3 * DAY / 60)):
        w.update([(KEY, 60.0 * i, float(i % 97))])
    assert len(w._collect[0] or []) <= KEEP  # still collecting, and bounded


def test_the_column_path_judges_exactly_as_the_per_sample_one() -> None:
    """update_table (key-table rows, NaNs, a series beyond max_series) gives update's drifts."""
    from aiops.sources.base import SeriesTable

    rng = np.random.default_rng(5)
    keys = [SeriesKey.of("cpu", pod=str(i)) for i in range(5)]
    per_sample = DriftWatch(reference=3600.0, window=3600.0, bins=4, max_series=4)
    by_table = DriftWatch(reference=3600.0, window=3600.0, bins=4, max_series=4)
    table = SeriesTable()
    got: list[list[object]] = [[], []]
    for i in range(900):
        t = 15.0 * i
        level = 10.0 if i < 500 else 13.0
        values = rng.normal(level, 1.0, len(keys))
        values[rng.random(len(keys)) < 0.05] = math.nan
        order = rng.permutation(len(keys))
        got[0] += per_sample.update([(keys[k], t, float(values[k])) for k in order])
        got[1] += by_table.update_table(table, table.rows([keys[k] for k in order]),
                                        np.full(len(keys), t), values[order])
    assert got[0] == got[1] and any(c.started for c in got[0])  # type: ignore[attr-defined]
    assert by_table.overflow == per_sample.overflow > 0
    assert np.array_equal([by_table.psi_of(k) for k in keys], [per_sample.psi_of(k) for k in keys],
                          equal_nan=True)
