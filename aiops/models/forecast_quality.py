"""A forecaster's live error per workload: MASE and band coverage, as it runs. Pure.

Every forecast cycle a workload's signal carries the point forecast and the band at
the lead time (``lead`` cycles ahead); when that cycle comes, the demand seen is scored
against what was forecast for it:

* **MASE**: mean absolute error over the mean absolute error of the daily seasonal
  naive forecast on the same points (``|y_t - y_{t-season}|``), as the bench and
  ``docs/forecasting.md`` define it (1.0 = no better than "same time yesterday");
* **coverage**: share of points at or below the upper band (the quantile capacity is
  provisioned for; nominal: the configured quantile).

Two views of each: ``total`` (everything since the daemon started, what shadow summaries
journal) and ``recent`` (exponentially weighted over ``recent_steps`` cycles, what
``/metrics`` shows, so a decaying forecast shows).

>>> from aiops.model import SeriesKey
>>> q = ForecastQuality(lead=1, season=2)
>>> k = SeriesKey.of("request_rate", workload="catalog")
>>> for y in [10, 20, 12, 18, 10, 22]:  # forecast: the mean, band up to 19
...     q.update(k, actual=y, predicted=15.0, upper=19.0)
>>> s = q.score(k)  # errors 5,3,3,5,7 against the naive's 2,2,2,4 (on the last four)
>>> (round(s.mase_total, 2), s.coverage_total, s.points)
(1.84, 0.6, 5)
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from aiops.model import SeriesKey

#: Sums kept per view: |error|, points, |naive error|, naive points, covered, band points.
_SUMS = 6


@dataclass(frozen=True, kw_only=True, slots=True)
class QualityScore:
    """One workload's forecast quality (NaN where nothing was scored yet)."""

    key: SeriesKey
    mase_total: float
    coverage_total: float
    mase_recent: float
    coverage_recent: float
    points: int
    sums: tuple[float, ...]  # the running totals (for journaled summaries)

    def to_json(self) -> dict[str, object]:
        return {"workload": str(self.key), "mase": _num(self.mase_total),
                "coverage": _num(self.coverage_total), "mase_recent": _num(self.mase_recent),
                "coverage_recent": _num(self.coverage_recent), "points": self.points,
                "sums": list(self.sums)}


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def mase_of(sums: tuple[float, ...] | list[float]) -> float:
    """MASE from running sums (NaN when nothing was scored; inf when the naive is exact)."""
    err, n, naive, m = sums[0], sums[1], sums[2], sums[3]
    if n <= 0 or m <= 0:
        return float("nan")
    return (err / n) / (naive / m) if naive > 0 else float("inf")


def coverage_of(sums: tuple[float, ...] | list[float]) -> float:
    """Share of points at or below the upper band (NaN when none)."""
    return sums[4] / sums[5] if sums[5] > 0 else float("nan")


class _Workload:
    __slots__ = ("history", "pending", "recent", "total")

    def __init__(self, lead: int, season: int) -> None:
        self.pending: deque[tuple[float, float]] = deque(maxlen=lead)
        self.history: deque[float] = deque(maxlen=season)
        self.total = np.zeros(_SUMS)
        self.recent = np.zeros(_SUMS)


class ForecastQuality:
    """Scores each workload's forecasts when the demand they were made for arrives."""

    def __init__(self, *, lead: int, season: int, recent_steps: int = 1440,
                 max_workloads: int = 1000) -> None:
        self.lead, self.season = max(1, lead), max(1, season)
        self.decay = 1.0 - 1.0 / max(1, recent_steps)
        self.max_workloads = max_workloads
        self._w: dict[SeriesKey, _Workload] = {}

    def update(self, key: SeriesKey, *, actual: float, predicted: float, upper: float) -> None:
        """This cycle's demand of ``key`` and its forecast for ``lead`` cycles ahead."""
        w = self._w.get(key)
        if w is None:
            if len(self._w) >= self.max_workloads:
                return
            w = self._w[key] = _Workload(self.lead, self.season)
        if len(w.pending) == self.lead and math.isfinite(actual):
            point, up = w.pending[0]
            row = np.zeros(_SUMS)
            if math.isfinite(point):
                row[0], row[1] = abs(actual - point), 1.0
            if len(w.history) == self.season and math.isfinite(w.history[0]):
                row[2], row[3] = abs(actual - w.history[0]), 1.0
            if math.isfinite(up):
                row[4], row[5] = float(actual <= up), 1.0
            w.total += row
            w.recent = w.recent * self.decay + row
        w.history.append(actual)
        w.pending.append((predicted, upper))

    def remember(self, key: SeriesKey, actual: float) -> None:
        """Past demand (the start-up backfill): history for the naive scale, nothing scored."""
        w = self._w.get(key)
        if w is None:
            if len(self._w) >= self.max_workloads:
                return
            w = self._w[key] = _Workload(self.lead, self.season)
        w.history.append(actual)

    def workloads(self) -> list[SeriesKey]:
        return sorted(self._w, key=str)

    def score(self, key: SeriesKey) -> QualityScore:
        """The quality of ``key`` so far (KeyError if never seen)."""
        w = self._w[key]
        total = tuple(float(x) for x in w.total)
        return QualityScore(key=key, mase_total=mase_of(total), coverage_total=coverage_of(total),
                            mase_recent=mase_of(list(w.recent)),
                            coverage_recent=coverage_of(list(w.recent)),
                            points=int(w.total[1]), sums=total)
