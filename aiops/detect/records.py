"""Range records: a value beyond everything a series has ever shown.

The statistical views judge a value against a learnt level and spread, and a bursty
series teaches them little (an anomaly never teaches its spread). A plainer question
catches what they miss: has this series *ever* gone this high, or this low? Per series
the tracker keeps the lowest and highest valid value seen (two floats); a value beyond
that range by more than ``tolerance`` of its width is a record. Numenta's NAB detector
calls the same idea a spatial anomaly.

How surprising is a record? If a series' values were exchangeable, the n-th value
would be the highest so far with probability 1/n: a record on a young series (its
range still being found) is common, one after a month of samples is not. Beyond the
range, values thin out like a tail: with a tail scale ``s`` (``tolerance`` times the
range, or the series' usual spread if larger), a value ``d`` beyond it has probability
about ``exp(-d / s) / n``. :meth:`RangeRecords.decades` is that evidence in decades,
``log10 n + d / (s ln 10)``; the ensemble scores a record at least that (a slow climb
that sets a new maximum each sample, by a sliver, stays unremarkable).

**Chances are counted from the record history.** Exchangeable values set about
``ln n`` records in ``n`` samples (the harmonic number), so ``k`` records set so far
stand for about ``e^k`` exchangeable chances. A series whose extremes come from a few
events (a daily job's spike, bursts, a range found in the first hours) sets far fewer
records than its sample count suggests: its ``n`` samples are not ``n`` chances to set
the next one. The count ``n`` in the evidence is therefore capped at ``e^(k + 1)``, with
``k`` the records set on either side (one e-fold of slack): for exchangeable values
(about ``2 ln n`` records on the two sides) the cap sits far above ``n`` and changes
nothing, while a spike that tops the last few by a few percent is no longer priced as a
1-in-n event. The tail term ``d / (s ln 10)`` is untouched: a value far beyond the
range stays as surprising as before.

>>> import numpy as np
>>> rec = RangeRecords(tolerance=0.1)
>>> rec.grow(1)
>>> for v in (1.0, 3.0, 2.0, 1.5):
...     _ = rec.step(np.array([v]))
>>> rec.step(np.array([3.1])).tolist(), rec.step(np.array([3.5])).tolist()
([False], [True])
>>> rec.step(np.array([3.6])).tolist()  # 3.5 widened the range: 3.6 is within tolerance
[False]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aiops.detect.rows import with_room

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

# e-folds of chances granted beyond the records seen (``n`` is capped at e^(k + this)).
RECORD_SLACK = 1.0


class RangeRecords:
    """Per series: lowest and highest value seen; flags values beyond them."""

    def __init__(self, *, tolerance: float) -> None:
        if tolerance < 0:
            raise ValueError("record tolerance must be >= 0")
        self.tolerance = float(tolerance)
        self.size = 0
        self.lo = np.zeros(0)
        self.hi = np.zeros(0)
        self.count = np.zeros(0)
        # Records set so far (values beyond the range by the tolerance, when learnt).
        self.records = np.zeros(0)

    def grow(self, size: int) -> None:
        """Make room for ``size`` series (new ones have seen nothing: +inf/-inf)."""
        if size <= self.size:
            return
        self.lo, self.hi = with_room(self.lo, size), with_room(self.hi, size)
        self.count = with_room(self.count, size)
        self.lo[self.size : size] = np.inf
        self.hi[self.size : size] = -np.inf
        self.count[self.size : size] = 0.0
        self.records = with_room(self.records, size)
        self.records[self.size : size] = 0.0
        self.size = size

    def check(self, values: F64, rows: slice | None = None) -> Bool:
        """Rows whose value lies beyond the range seen so far (by the tolerance)."""
        r = slice(0, self.size) if rows is None else rows
        lo, hi = self.lo[r], self.hi[r]
        with np.errstate(invalid="ignore"):
            width = hi - lo
            pad = self.tolerance * width
            out: Bool = (width > 0) & ((values > hi + pad) | (values < lo - pad))
        return out

    def decades(self, values: F64, spread: F64 | None = None, rows: slice | None = None) -> F64:
        """Evidence of each row's value as a record, ``-log10 p`` (0 if not a record).

        The tail scale beyond the range is ``tolerance`` times its width, or the row's
        ``spread`` (its usual deviation) if larger: a young series' narrow range does
        not make an ordinary excursion look extreme. The chances ``n`` are the samples
        seen, capped by the records set (see the module docstring).
        """
        r = slice(0, self.size) if rows is None else rows
        lo, hi = self.lo[r], self.hi[r]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            width = hi - lo
            beyond = np.fmax(values - hi, lo - values)
            ok = (width > 0) & (beyond > self.tolerance * width)
            scale = self.tolerance * width
            if spread is not None:
                scale = np.fmax(scale, spread)
            tail = beyond / (scale * np.log(10.0))
            chances = np.minimum(self.count[r], np.exp(self.records[r] + RECORD_SLACK))
            out: F64 = np.where(ok, np.log10(np.maximum(chances, 1.0)) + tail, 0.0)
        return out

    def learn(self, values: F64, mask: Bool, rows: slice | None = None) -> None:
        """Widen each masked row's range to include its value (counting records)."""
        r = slice(0, self.size) if rows is None else rows
        x = np.asarray(values, dtype=np.float64)
        self.records[r] += mask & self.check(x, r)
        self.lo[r] = np.where(mask, np.fmin(self.lo[r], x), self.lo[r])
        self.hi[r] = np.where(mask, np.fmax(self.hi[r], x), self.hi[r])
        self.count[r] += mask

    def step(self, values: F64) -> Bool:
        """Check every row, then learn its value if it is finite."""
        x = np.asarray(values, dtype=np.float64)
        out = self.check(x)
        self.learn(x, np.isfinite(x))
        return out

    @property
    def nbytes(self) -> int:
        """Bytes of state allocated."""
        return int(self.lo.nbytes + self.hi.nbytes + self.count.nbytes + self.records.nbytes)
