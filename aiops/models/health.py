"""Per-series detector health from the live scores: warm, episodes, adoptions. Pure.

Read from the stream of :class:`~aiops.model.Score` values the bank returns, so it
needs nothing from the detector's internals:

* ``warm``: the series is past its warm-up;
* ``episodes`` and their rate per day: how often the series raises a signal (scores at
  or above the signal floor, counted the way :mod:`aiops.models.episodes` counts them);
* ``adoptions``: how often the detector accepted a new normal; the bank adopts the
  recent level after ``adopt_after`` consecutive scores at or above ``threshold``, so
  every such run is counted as one (a Page-Hinkley adoption, when enabled, can come
  sooner and is not seen here).

State is a few numbers per series in numpy arrays, for at most ``max_series`` series
(further ones are counted in ``overflow``).

>>> from aiops.model import Score, SeriesKey
>>> k = SeriesKey.of("cpu", workload="cart")
>>> h = SeriesHealthBank(floor=0.9, threshold=0.9, adopt_after=3)
>>> for t, s in enumerate([0.1, 0.95, 0.97, 0.99, 0.2, 0.95]):
...     h.update([Score(key=k, t=3600.0 * t, value=1, score=s, expected=0, lower=0, upper=1)])
>>> [r] = h.rows()
>>> (r.warm, r.episodes, r.adoptions, round(r.per_day, 1))
(True, 2, 1, 9.6)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aiops.detect.columns import KeyTable
from aiops.detect.series_rows import SeriesRows
from aiops.model import Score, SeriesKey

DAY = 86400.0


@dataclass(frozen=True, kw_only=True, slots=True)
class SeriesHealth:
    """One series' detector health."""

    key: SeriesKey
    warm: bool
    episodes: int
    adoptions: int
    seen: float  # seconds between the first and the latest score
    per_day: float  # episodes per day over ``seen`` (at least an hour)

    def to_json(self) -> dict[str, object]:
        return {"series": str(self.key), "warm": self.warm, "episodes": self.episodes,
                "adoptions": self.adoptions, "seen": self.seen, "per_day": self.per_day}


class SeriesHealthBank:
    """Health counters of every series scored by one detector bank."""

    def __init__(self, *, floor: float, threshold: float, adopt_after: int,
                 max_series: int = 5000) -> None:
        self.floor, self.threshold, self.adopt_after = floor, threshold, adopt_after
        self.max_series = max_series
        self._rows = SeriesRows(max_series=max_series)
        self._warm = np.zeros(0, bool)
        self._in_episode = np.zeros(0, bool)
        self._episodes = np.zeros(0, np.int64)
        self._adoptions = np.zeros(0, np.int64)
        self._streak = np.zeros(0, np.int64)
        self._first = np.zeros(0)
        self._last = np.zeros(0)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def overflow(self) -> int:
        """Series seen beyond ``max_series`` (not watched)."""
        return self._rows.overflow

    def update(self, scores: Sequence[Score]) -> None:
        """Count one cycle's scores."""
        self.update_columns(
            [s.key for s in scores], np.fromiter((s.warm for s in scores), bool, len(scores)),
            np.fromiter((s.score for s in scores), np.float64, len(scores)),
            np.fromiter((s.t for s in scores), np.float64, len(scores)))

    def update_columns(self, keys: Sequence[SeriesKey], warm: npt.NDArray[np.bool_],
                       score: npt.NDArray[np.float64], t: npt.NDArray[np.float64]) -> None:
        """Count one cycle's scores given as columns (one entry per scored sample)."""
        if not keys:
            return
        rows = np.fromiter((self._row(k, ti) for k, ti in zip(keys, t.tolist(), strict=True)),
                           np.intp, len(keys))
        self._count(rows, warm, score, t)

    def update_table(self, table: KeyTable, index: npt.NDArray[np.intp],
                     warm: npt.NDArray[np.bool_], score: npt.NDArray[np.float64],
                     t: npt.NDArray[np.float64]) -> None:
        """:meth:`update_columns` with each sample's key given by its ``table`` row (the
        daemon's cycle: a key lookup only for series not met before)."""
        if not index.shape[0]:
            return
        rows, new = self._rows.rows_in(table, index)
        for p in new.tolist():
            self._grow(int(rows[p]) + 1, float(t[p]))
        self._count(rows, warm, score, t)

    def _count(self, rows: npt.NDArray[np.intp], warm: npt.NDArray[np.bool_],
               score: npt.NDArray[np.float64], t: npt.NDArray[np.float64]) -> None:
        ok = rows >= 0
        if not ok.all():
            rows, warm, score, t = rows[ok], warm[ok], score[ok], t[ok]
            if not len(rows):
                return
        hot = warm & (score >= self.floor)
        self._episodes[rows[hot & ~self._in_episode[rows]]] += 1
        self._in_episode[rows] = hot
        streak = np.where(warm & (score >= self.threshold), self._streak[rows] + 1, 0)
        adopted = streak >= self.adopt_after
        self._adoptions[rows[adopted]] += 1
        self._streak[rows] = np.where(adopted, 0, streak)
        self._warm[rows] = warm
        self._last[rows] = t

    def rows(self) -> list[SeriesHealth]:
        """Every series' health, in the order first seen."""
        seen = self._last - self._first
        per_day = self._episodes / np.maximum(seen, 3600.0) * DAY
        return [SeriesHealth(key=k, warm=bool(self._warm[i]), episodes=int(self._episodes[i]),
                             adoptions=int(self._adoptions[i]), seen=float(seen[i]),
                             per_day=float(per_day[i]))
                for i, k in enumerate(self._rows.keys) if k is not None]

    def _row(self, key: SeriesKey, t: float) -> int:
        row, new = self._rows.find_or_add(key)
        if not new:
            return row
        self._grow(row + 1, t)
        return row

    def _grow(self, size: int, t: float) -> None:
        if size <= len(self._warm):
            self._first[size - 1] = self._last[size - 1] = t
            return
        cap = max(size, 2 * len(self._warm), 16)
        extra = cap - len(self._warm)
        self._warm = np.concatenate([self._warm, np.zeros(extra, bool)])
        self._in_episode = np.concatenate([self._in_episode, np.zeros(extra, bool)])
        for name in ("_episodes", "_adoptions", "_streak"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra, np.int64)]))
        self._first = np.concatenate([self._first, np.zeros(extra)])
        self._last = np.concatenate([self._last, np.zeros(extra)])
        self._first[size - 1] = self._last[size - 1] = t
