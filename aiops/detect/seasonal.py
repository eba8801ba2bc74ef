"""Seasonal baselines: a per-series profile of the usual level at each phase of a period.

A profile splits a period (a day, a week) into ``bins`` by the sample's time and keeps
an EWMA of the value per bin. The residual ``value - profile[bin]`` removes the daily
or weekly shape, so a robust detector on residuals sees "unusual for this time of
day" rather than "unusual overall". A bin not yet seen yields residual 0 (no opinion).

>>> import numpy as np
>>> prof = SeasonalProfile(period=86400.0, bins=24, alpha=0.5)
>>> prof.grow(1)
>>> for day in range(3):
...     for h in range(24):
...         t = np.array([day * 86400.0 + h * 3600.0])
...         prof.learn(np.array([float(h)]), t, np.array([True]))
>>> float(prof.residual(np.array([20.0]), np.array([3 * 86400.0 + 5 * 3600.0]))[0])
15.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aiops.detect.rows import gather_bins, phase_bins, scatter_bins, with_room

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]


class SeasonalProfile:
    """``bins`` EWMA levels per series over one ``period`` (seconds)."""

    def __init__(self, *, period: float, bins: int, alpha: float) -> None:
        if period <= 0 or bins < 1:
            raise ValueError("a season needs a positive period and at least one bin")
        self.period = float(period)
        self.bins = int(bins)
        self.alpha = float(alpha)
        self.size = 0
        self.level = np.zeros((self.bins, 0))
        self.count = np.zeros((self.bins, 0))

    def grow(self, size: int) -> None:
        """Make room for ``size`` series (new ones start with empty profiles)."""
        if size <= self.size:
            return
        self.level, self.count = with_room(self.level, size), with_room(self.count, size)
        self.level[:, self.size : size] = 0.0
        self.count[:, self.size : size] = 0.0
        self.size = size

    def bin_of(self, t: F64) -> npt.NDArray[np.intp]:
        """The phase bin of each time (pass it back to skip recomputing it)."""
        return phase_bins(t, self.period, self.bins)

    def _slice(self, rows: slice | None) -> slice:
        return slice(0, self.size) if rows is None else rows

    def expected(
        self, t: F64, rows: slice | None = None, b: npt.NDArray[np.intp] | None = None
    ) -> tuple[F64, Bool]:
        """Profile level at each row's time, and whether that bin has been seen.

        Arrays are per row of ``rows`` (a block; default all rows); ``b`` is
        :meth:`bin_of` of ``t`` when the caller has it.
        """
        r = self._slice(rows)
        b = self.bin_of(t) if b is None else b
        return gather_bins(self.level, b, r), gather_bins(self.count, b, r) > 0

    def residual(self, values: F64, t: F64, rows: slice | None = None) -> F64:
        """``value - profile`` per row; 0 where the bin is unseen, NaN stays NaN."""
        level, seen = self.expected(t, rows)
        out: F64 = np.where(seen, values - level, np.where(np.isfinite(values), 0.0, np.nan))
        return out

    def learn(
        self, values: F64, t: F64, mask: Bool, rows: slice | None = None,
        b: npt.NDArray[np.intp] | None = None,
    ) -> None:
        """Move each masked row's bin towards its value (``b`` as in :meth:`expected`)."""
        r = self._slice(rows)
        b = self.bin_of(t) if b is None else b
        x = np.where(mask, values, 0.0)
        c = gather_bins(self.count, b, r)
        level = gather_bins(self.level, b, r)
        a = np.maximum(self.alpha, 1.0 / (c + 1.0)) * mask
        level += a * (x - level)
        scatter_bins(self.level, b, r, level)
        scatter_bins(self.count, b, r, c + mask)

    def shift(self, t: F64, rows: npt.NDArray[np.intp], offset: F64, everywhere: Bool) -> None:
        """Move profiles of ``rows`` by ``offset``: every seen bin where ``everywhere``,
        else only the bin at time ``t`` (one time per row)."""
        seen = self.count[:, rows] > 0
        self.level[:, rows] += np.where(seen & everywhere, offset, 0.0)
        b = self.bin_of(t)
        self.level[b, rows] += np.where(everywhere, 0.0, offset)

    @property
    def nbytes(self) -> int:
        """Bytes of state allocated."""
        return int(self.level.nbytes + self.count.nbytes)
