"""Bounded recent history of scores and forecasts, for the web page to draw.

The daemon records each cycle's :class:`~aiops.model.Score` values (value, expected
band, score, warm) and each :class:`~aiops.model.ForecastSignal`; the page's JSON routes
read windows of them back. It is bounded by construction, whatever the source serves:

- at most ``points`` points per series, in a fixed-size ring of floats (8 bytes a field);
- at most ``max_series`` series; when full, a new series is admitted only while it is
  anomalous (score at or above ``admit_score``), in place of the series that has been
  quiet longest, so the series behind an incident have history even among 10k series;
- at most ``max_workloads`` forecast rings of ``points`` points.

At the defaults (1440 points, 128 series) it holds at most ~10 MB. Thread-safe: the poll
loop writes, HTTP threads read. It reads no clock: every point carries its own ``t``.

>>> from aiops.model import Score, SeriesKey
>>> h = SeriesHistory(points=3, max_series=2)
>>> k = SeriesKey.of("cpu", workload="web")
>>> for t in range(5):
...     _ = h.record([Score(key=k, t=float(t), value=t, score=0.1, expected=1, lower=0, upper=2)])
>>> [p.t for p in h.window(k)]
[2.0, 3.0, 4.0]
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from aiops.detect.columns import ScoreBatch
from aiops.model import ForecastSignal, Score, SeriesKey

DEFAULT_POINTS = 1440  # six hours at the default 15 s interval
DEFAULT_SERIES = 128
DEFAULT_WORKLOADS = 32


@dataclass(frozen=True, kw_only=True, slots=True)
class ScorePoint:
    """One scored sample as the page draws it."""

    t: float
    value: float
    expected: float
    lower: float
    upper: float
    score: float
    warm: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Counts:
    """What the last :meth:`SeriesHistory.record` saw: scores, warm ones, anomalous ones."""

    t: float = math.nan
    scored: int = 0
    warm: int = 0
    anomalous: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class _Tally:
    """What one record call saw (see :class:`Counts`) and how many points it kept."""

    kept: int
    fresh: int
    t: float
    warm: int
    loud: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ForecastPoint:
    """One forecast: demand predicted at ``t + horizon`` against capacity at ``t``."""

    t: float
    horizon: float
    predicted: float
    lower: float
    upper: float
    capacity: float
    desired_replicas: int
    current_replicas: int


class _Ring:
    """``size`` rows of ``width`` floats, overwritten oldest first."""

    __slots__ = ("count", "head", "last_t", "size", "values", "width")

    def __init__(self, size: int, width: int) -> None:
        self.size, self.width = size, width
        self.values = array("d", bytes(8 * size * width))
        self.head = 0  # next row to write
        self.count = 0
        self.last_t = -math.inf

    def append(self, row: Sequence[float]) -> None:
        base = self.head * self.width
        self.values[base:base + self.width] = array("d", row)
        self.head = (self.head + 1) % self.size
        self.count = min(self.count + 1, self.size)
        self.last_t = row[0]

    def rows(self, start: float, end: float) -> list[tuple[float, ...]]:
        out = []
        first = (self.head - self.count) % self.size
        for i in range(self.count):
            base = ((first + i) % self.size) * self.width
            if start <= self.values[base] <= end:
                out.append(tuple(self.values[base:base + self.width]))
        return out

    @property
    def nbytes(self) -> int:
        return self.values.itemsize * len(self.values)


class SeriesHistory:
    """Recent scores per series and forecasts per workload, within fixed bounds."""

    def __init__(self, *, points: int = DEFAULT_POINTS, max_series: int = DEFAULT_SERIES,
                 max_workloads: int = DEFAULT_WORKLOADS, admit_score: float = 0.5) -> None:
        if points < 1 or max_series < 1 or max_workloads < 1:
            raise ValueError("history bounds must be positive")
        self.points = points
        self.max_series = max_series
        self.max_workloads = max_workloads
        self.admit_score = admit_score
        self._series: dict[SeriesKey, _Ring] = {}
        self._loud: dict[SeriesKey, float] = {}  # last time a series was anomalous (or admitted)
        self._forecasts: dict[SeriesKey, _Ring] = {}
        self._lock = threading.Lock()
        #: Series refused for want of room (a count, for the status panel).
        self.refused = 0
        #: The counts of the last :meth:`record` (for the status panel).
        self.last = Counts()
        # Where the series held sit in the last key table seen (record_batch).
        self._table_keys: Sequence[SeriesKey] | None = None
        self._table_rows: dict[SeriesKey, int] = {}
        self._scanned = 0

    # -- writing (the poll loop) ----------------------------------------------------------

    def record(self, scores: Iterable[Score]) -> int:
        """Keep every score newer than its series' last point; returns how many were kept.

        Pass one cycle's scores: a score not newer than its series' last point is skipped.
        :attr:`last` counts the new scores, kept or not (a series refused for want of room
        still counts).
        """
        return self._record((sc.key, sc.t, sc.value, sc.expected, sc.lower, sc.upper,
                             sc.score, sc.warm) for sc in scores)

    def record_batch(self, sb: ScoreBatch) -> int:
        """Like :meth:`record`, for the valid samples of a bank's column batch.

        The same points (and :attr:`last`, :attr:`refused`) :meth:`record` keeps for the
        batch's Scores (a warming sample's band collapses to its value), without building
        a Score per sample: once the history is full, only samples of series it holds and
        anomalous ones (which may be admitted) are looked at one by one; every other one
        is a refused fresh sample, counted as columns.
        """
        at = np.flatnonzero(sb.valid)
        with self._lock:
            if len(self._series) >= self.max_series and at.shape[0]:
                held = np.zeros(len(sb.keys), dtype=bool)
                held[self._rows_held(sb.keys)] = True
                loud = sb.warm[at] & (sb.score[at] >= self.admit_score)
                look = held[sb.index[at]] | loud
                rest = at[~look]
                at = at[look]
            else:
                rest = at[:0]
            warm = sb.warm[at]
            value = sb.value[at]
            cols = [np.where(warm, c[at], value).tolist() for c in (sb.expected, sb.lower,
                                                                     sb.upper)]
            keys = sb.keys
            tally = self._record_locked(zip(
                [keys[i] for i in sb.index[at].tolist()], sb.t[at].tolist(), value.tolist(),
                *cols, sb.score[at].tolist(), warm.tolist(), strict=True))
            if rest.shape[0]:
                self.refused += int(rest.shape[0])
                tally = _Tally(kept=tally.kept, fresh=tally.fresh + int(rest.shape[0]),
                               t=float(np.fmax(tally.t, sb.t[rest].max())),
                               warm=tally.warm + int(np.count_nonzero(sb.warm[rest])),
                               loud=tally.loud)
            self._note(tally)
        return tally.kept

    def _rows_held(self, keys: Sequence[SeriesKey]) -> list[int]:
        """Rows in ``keys`` (a key table's append-only list) of the series held."""
        if self._table_keys is not keys:
            self._table_keys, self._table_rows, self._scanned = keys, {}, 0
        for i in range(self._scanned, len(keys)):
            self._table_rows.setdefault(keys[i], i)
        self._scanned = len(keys)
        return [r for k in self._series if (r := self._table_rows.get(k)) is not None]

    def _record(self, rows: Iterable[tuple[SeriesKey, float, float, float, float, float,
                                            float, bool]]) -> int:
        with self._lock:
            tally = self._record_locked(rows)
            self._note(tally)
        return tally.kept

    def _note(self, tally: _Tally) -> None:
        if tally.fresh:
            self.last = Counts(t=tally.t, scored=tally.fresh, warm=tally.warm,
                               anomalous=tally.loud)

    def _record_locked(self, rows: Iterable[tuple[SeriesKey, float, float, float, float,
                                                  float, float, bool]]) -> _Tally:
        kept = fresh = warm = loud = 0
        t = math.nan
        for key, st, value, expected, lower, upper, score, is_warm in rows:
            ring = self._series.get(key)
            if ring is not None and st <= ring.last_t:
                continue
            fresh += 1
            t = st if math.isnan(t) else max(t, st)
            anomalous = is_warm and score >= self.admit_score
            warm += is_warm
            loud += anomalous
            if ring is None:
                ring = self._admit(key, st, anomalous)
                if ring is None:
                    continue
            ring.append((st, value, expected, lower, upper, score,
                         1.0 if is_warm else 0.0))
            if anomalous:
                self._loud[key] = st
            kept += 1
        return _Tally(kept=kept, fresh=fresh, t=t, warm=warm, loud=loud)

    def _admit(self, key: SeriesKey, t: float, anomalous: bool) -> _Ring | None:
        if len(self._series) >= self.max_series:
            if not anomalous:
                self.refused += 1
                return None
            quietest = min(self._loud, key=self._loud.__getitem__)
            del self._series[quietest], self._loud[quietest]
        ring = self._series[key] = _Ring(self.points, 7)
        self._loud[key] = t
        return ring

    def record_forecasts(self, signals: Iterable[ForecastSignal]) -> None:
        """Keep each forecast (a workload beyond ``max_workloads`` is not kept)."""
        with self._lock:
            for f in signals:
                ring = self._forecasts.get(f.key)
                if ring is None:
                    if len(self._forecasts) >= self.max_workloads:
                        continue
                    ring = self._forecasts[f.key] = _Ring(self.points, 8)
                elif f.t <= ring.last_t:
                    continue
                ring.append((f.t, f.horizon, f.predicted, f.lower, f.upper, f.capacity,
                             float(f.desired_replicas), float(f.current_replicas)))

    # -- reading (HTTP threads) -------------------------------------------------------------

    def series_keys(self) -> list[SeriesKey]:
        """Series with history, in the order they were first kept."""
        with self._lock:
            return list(self._series)

    def window(self, key: SeriesKey, start: float = -math.inf,
               end: float = math.inf) -> list[ScorePoint]:
        """Points of ``key`` with ``start <= t <= end``, oldest first."""
        with self._lock:
            ring = self._series.get(key)
            rows = ring.rows(start, end) if ring is not None else []
        return [ScorePoint(t=r[0], value=r[1], expected=r[2], lower=r[3], upper=r[4],
                           score=r[5], warm=r[6] > 0) for r in rows]

    def forecast_keys(self) -> list[SeriesKey]:
        with self._lock:
            return list(self._forecasts)

    def forecasts(self, key: SeriesKey, start: float = -math.inf,
                  end: float = math.inf) -> list[ForecastPoint]:
        """Forecasts made for ``key`` with ``start <= t <= end``, oldest first."""
        with self._lock:
            ring = self._forecasts.get(key)
            rows = ring.rows(start, end) if ring is not None else []
        return [ForecastPoint(t=r[0], horizon=r[1], predicted=r[2], lower=r[3], upper=r[4],
                              capacity=r[5], desired_replicas=int(r[6]),
                              current_replicas=int(r[7])) for r in rows]

    @property
    def nbytes(self) -> int:
        """Bytes held by the rings."""
        with self._lock:
            return sum(r.nbytes for r in (*self._series.values(), *self._forecasts.values()))
