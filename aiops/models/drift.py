"""Has a series drifted away from the distribution its model was trained on? Pure.

Per series, the **reference** is the distribution of its first ``reference`` seconds of
samples under the running model version (the training window: the start-up backfill
counts): up to :data:`KEEP` of its values, evenly thinned, give ``bins`` quantile bins
and their shares. After that, every sample is counted into its bin in a ring of 24
slots covering the last ``window`` seconds. Once a whole window has been counted past
the reference, at every slot boundary the recent shares are compared with the
reference's (given at least :data:`PER_BIN` samples per bin) by the population
stability index

    PSI = sum_i (q_i - p_i) * ln(q_i / p_i)     (shares floored at 1e-4)

and a series whose PSI exceeds ``threshold`` has drifted (a :class:`DriftChange` with
``started``); it is back when the PSI falls below 0.8 x ``threshold``. A whole window
(a day by default) is compared, not the last hour, so a daily pattern is not mistaken
for drift. Memory per series: ``bins`` x 25 numbers, plus the reference values until
the reference is complete.

>>> import numpy as np
>>> from aiops.model import SeriesKey
>>> w = DriftWatch(reference=3600.0, window=3600.0, bins=4, threshold=0.25)
>>> k = SeriesKey.of("cpu", workload="cart")
>>> rng = np.random.default_rng(1)
>>> changes = []
>>> for i in range(720):  # 1 h of reference, 1 h alike, then 1 h shifted by 3 sd
...     v = rng.normal(10 if i < 480 else 13, 1)
...     changes += w.update([(k, 15.0 * i, float(v))])
>>> [(c.started, c.psi > 0.25) for c in changes]
[(True, True)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aiops.detect.columns import KeyTable
from aiops.detect.series_rows import SeriesRows
from aiops.model import SeriesKey

IntP = npt.NDArray[np.intp]
F64 = npt.NDArray[np.float64]

#: Reference values kept per series at most (thinned evenly over the reference span).
KEEP = 512
#: Slots of the recent window's ring.
SLOTS = 24
#: Floor on a bin's share (an empty bin would make the index infinite).
EPS = 1e-4
#: Back to normal below this share of the threshold (hysteresis).
CLEAR = 0.8
#: A window is judged only with at least this many samples per bin: the index of a
#: sample of n points from the reference itself is about (bins - 1) / n, so a sparse
#: window would look drifted by chance alone (20 per bin: about 0.05).
PER_BIN = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftChange:
    """A series started (or stopped) drifting at ``t``."""

    key: SeriesKey
    t: float
    psi: float
    started: bool
    since: float  # when this drift started
    reference: tuple[float, float]  # the reference (training) window


class DriftWatch:
    """The reference and recent distribution of every series watched."""

    def __init__(self, *, reference: float, window: float, bins: int = 10,
                 threshold: float = 0.25, max_series: int = 5000) -> None:
        self.reference, self.window, self.bins = reference, window, bins
        self.threshold, self.max_series = threshold, max_series
        self.slot_len = window / SLOTS
        self._rows = SeriesRows(max_series=max_series)
        self._collect: list[list[float] | None] = []  # reference values (None: done)
        self._stride: list[int] = []
        self._seen: list[int] = []
        self._start: list[float] = []
        self._edges = np.zeros((0, bins - 1))
        self._ref = np.zeros((0, bins))
        self._ready = np.zeros(0)  # when the reference was complete (inf: not yet)
        self._ring = np.zeros((0, SLOTS, bins), np.float32)
        self._drifted = np.zeros(0, bool)
        self._collecting = np.zeros(0, bool)  # the reference is still being collected
        self._since = np.zeros(0)
        self.psi = np.zeros(0)  # latest index per row (NaN: not judged yet)
        self._slot: int | None = None

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def overflow(self) -> int:
        """Series seen beyond ``max_series`` (not watched)."""
        return self._rows.overflow

    def update(self, samples: Sequence[tuple[SeriesKey, float, float]]) -> list[DriftChange]:
        """Count one cycle's ``(key, t, value)`` samples; the drifts that began or ended."""
        if not samples:
            return []
        changes, slot = self._advance(max(s[1] for s in samples))
        counted: list[int] = []
        values: list[float] = []
        for key, ts, v in samples:
            if not math.isfinite(v):
                continue
            row = self._row(key, ts)
            if row >= 0:
                self._take(row, ts, v, counted, values)
        self._count(np.asarray(counted, np.intp), np.asarray(values), slot)
        return changes

    def update_table(self, table: KeyTable, index: IntP, t: F64,
                     value: F64) -> list[DriftChange]:
        """:meth:`update` with each sample's key given by its ``table`` row (the daemon's
        cycle: no tuple per sample, a key lookup only for series not met before)."""
        if not index.shape[0]:
            return []
        changes, slot = self._advance(float(t.max()))
        finite = np.flatnonzero(np.isfinite(value))
        index, t, value = index[finite], t[finite], value[finite]
        rows, new = self._rows.rows_in(table, index)
        for p in new.tolist():
            self._init_row(int(rows[p]), float(t[p]))
        ok = rows >= 0
        collecting = ok & self._collecting[np.maximum(rows, 0)]
        # Rows still building their reference go one sample at a time (their reference
        # can complete mid-batch); every other row is counted as columns.
        counted: list[int] = []
        values: list[float] = []
        at = np.flatnonzero(collecting)
        for row, ts, v in zip(rows[at].tolist(), t[at].tolist(), value[at].tolist(),
                              strict=True):
            self._take(row, ts, v, counted, values)
        rest = np.flatnonzero(ok & ~collecting)
        rest = rest[t[rest] >= self._ready[rows[rest]]]
        self._count(np.concatenate([np.asarray(counted, np.intp), rows[rest]]),
                    np.concatenate([np.asarray(values), value[rest]]), slot)
        return changes

    def _advance(self, t: float) -> tuple[list[DriftChange], int]:
        """Judge the slots that ``t`` closes and clear the ring slots it enters."""
        changes: list[DriftChange] = []
        slot = math.floor(t / self.slot_len)
        if self._slot is not None and slot > self._slot:
            changes = self._judge(self._slot * self.slot_len + self.slot_len)
            for s in range(self._slot + 1, min(slot, self._slot + SLOTS) + 1):
                self._ring[:, s % SLOTS, :] = 0.0
        if self._slot is None or slot > self._slot:
            self._slot = slot
        return changes, slot

    def _take(self, row: int, ts: float, v: float, counted: list[int],
              values: list[float]) -> None:
        """One finite sample of ``row``: into its reference, or counted if after it."""
        collecting = self._collect[row]
        if collecting is not None:
            self._learn_reference(row, ts, v, collecting)
        elif ts >= self._ready[row]:
            counted.append(row)
            values.append(v)

    def _count(self, rows: IntP, x: F64, slot: int) -> None:
        if rows.shape[0]:
            b = np.sum(x[:, None] > self._edges[rows], axis=1).astype(np.intp)
            at = np.full_like(rows, slot % SLOTS)
            np.add.at(self._ring, (rows, at, b), 1.0)

    def drifted(self) -> list[SeriesKey]:
        """Series drifting now."""
        return [self._rows.key(int(i)) for i in np.flatnonzero(self._drifted[: len(self._rows)])]

    def psi_of(self, key: SeriesKey) -> float:
        """The latest PSI of ``key`` (NaN: not judged yet, or not watched)."""
        row = self._rows.get(key)
        return float("nan") if row is None else float(self.psi[row])

    def reference_of(self, key: SeriesKey) -> tuple[float, float] | None:
        """The reference window of ``key`` (None: unknown or not complete)."""
        row = self._rows.get(key)
        if row is None or not math.isfinite(self._ready[row]):
            return None
        return (self._start[row], float(self._ready[row]))

    # -- internals --------------------------------------------------------------------
    def _learn_reference(self, row: int, t: float, v: float, values: list[float]) -> None:
        self._seen[row] += 1
        if self._seen[row] % self._stride[row] == 0:
            values.append(v)
            if len(values) >= KEEP:
                del values[1::2]
                self._stride[row] *= 2
        if t - self._start[row] >= self.reference and len(values) >= 32:
            ref = np.asarray(values)
            edges = np.unique(np.quantile(ref, np.arange(1, self.bins) / self.bins))
            padded = np.full(self.bins - 1, np.inf)
            padded[: len(edges)] = edges
            self._edges[row] = padded
            counts = np.bincount(np.sum(ref[:, None] > padded, axis=1), minlength=self.bins)
            self._ref[row] = counts / counts.sum()
            self._ready[row] = t
            self._collect[row] = None
            self._collecting[row] = False

    def _judge(self, end: float) -> list[DriftChange]:
        """PSI of every series with a whole window counted after its reference."""
        n = len(self._rows)
        due = np.flatnonzero(self._ready[:n] <= end - self.window)
        if not len(due):
            return []
        counts = self._ring[due].sum(axis=1).astype(np.float64)
        total = counts.sum(axis=1)
        enough = total >= PER_BIN * self.bins
        due, counts, total = due[enough], counts[enough], total[enough]
        q = np.maximum(counts / total[:, None], EPS)
        p = np.maximum(self._ref[due], EPS)
        psi = np.sum((q - p) * np.log(q / p), axis=1)
        self.psi[due] = psi
        was = self._drifted[due]
        start = ~was & (psi > self.threshold)
        stop = was & (psi < CLEAR * self.threshold)
        out: list[DriftChange] = []
        for i, began in [(int(i), True) for i in due[start]] + [(int(i), False)
                                                              for i in due[stop]]:
            if began:
                self._since[i] = end
            self._drifted[i] = began
            out.append(DriftChange(key=self._rows.key(i), t=end, psi=float(self.psi[i]),
                                   started=began, since=float(self._since[i]),
                                   reference=(self._start[i], float(self._ready[i]))))
        return out

    def _row(self, key: SeriesKey, t: float) -> int:
        row, new = self._rows.find_or_add(key)
        if new:
            self._init_row(row, t)
        return row

    def _init_row(self, row: int, t: float) -> None:
        """A new series' row (rows come in order): its reference starts at ``t``."""
        self._collect.append([])
        self._stride.append(1)
        self._seen.append(0)
        self._start.append(t)
        if row >= len(self._ready):
            self._grow(max(16, 2 * len(self._ready)))
        self._collecting[row] = True

    def _grow(self, cap: int) -> None:
        extra = cap - len(self._ready)
        self._edges = np.vstack([self._edges, np.full((extra, self.bins - 1), np.inf)])
        self._ref = np.vstack([self._ref, np.zeros((extra, self.bins))])
        self._ready = np.concatenate([self._ready, np.full(extra, np.inf)])
        self._ring = np.concatenate([self._ring, np.zeros((extra, SLOTS, self.bins),
                                                          np.float32)])
        self._drifted = np.concatenate([self._drifted, np.zeros(extra, bool)])
        self._collecting = np.concatenate([self._collecting, np.zeros(extra, bool)])
        self._since = np.concatenate([self._since, np.zeros(extra)])
        self.psi = np.concatenate([self.psi, np.full(extra, np.nan)])
