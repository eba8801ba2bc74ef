"""Recurring-pattern envelope: how high and how low a series has gone at each phase.

Many ops series repeat their extremes: a backup job spikes CPU at about the same hour
every day, a batch upload bursts the network every night. The robust detector flags
each repeat again, because an anomaly never teaches its spread. The envelope
remembers, per series and per phase bin of a period (a day in 24 bins), the highest and
lowest value seen there recently, every point included, anomalous or not. The extremes
relax towards the series' long-run level with a half-life counted in periods (one
step per finished visit to the bin, however many samples the visit held, so the memory
is the same at a 15 s and at a 5 min sampling interval): an old peak is forgotten after
some periods. Only finished visits to a bin count
(a day's values at 02:00 join the 02:00 bin when the series moves on to 03:00), so a
sustained anomaly does not make itself "seen before". Nor does it through a
neighbouring bin: per series the envelope remembers its last few finished visits (as
many as it consults neighbours, plus one), each with its bin's extremes from before the
visit and the time the visit ended. For a value of an anomalous run (``run`` in
:meth:`PhaseEnvelope.inside`) that began before such a visit ended, that bin counts
without the visit; so a fault that starts a minute before a bin boundary is not "seen"
by its own first minute. A value inside the
envelope of its own bin or a neighbouring bin (jobs drift by a few minutes), that is
between the long-run level and the most extreme value seen on its side, has been seen
at this time of day before: the ensemble multiplies its score by ``discount``. A value
beyond every extreme seen there keeps its full score.

>>> import numpy as np
>>> env = PhaseEnvelope(period=86400.0, bins=24, halflife=25.0, neighbours=1)
>>> env.grow(1)
>>> for day in range(3):  # a nightly spike to 9 at 02:00, 1.0 otherwise
...     for h in range(24):
...         t = np.array([day * 86400.0 + h * 3600.0])
...         v = np.array([9.0 if h == 2 else 1.0])
...         env.learn(v, t, np.array([True]))
>>> t = np.array([3 * 86400.0 + 2 * 3600.0])
>>> env.inside(np.array([8.5]), t).tolist(), env.inside(np.array([20.0]), t).tolist()
([True], [False])
>>> env.inside(np.array([8.5]), np.array([3 * 86400.0 + 12 * 3600.0])).tolist()
[False]
>>> fault = PhaseEnvelope(period=86400.0, bins=24, halflife=25.0, neighbours=1)
>>> fault.grow(1)
>>> for m in range(0, 75, 5):  # 1.0 from 01:00, a fault at 9 from 01:55 on
...     v = np.array([9.0 if m >= 55 else 1.0])
...     fault.learn(v, np.array([3600.0 + m * 60.0]), np.array([True]))
>>> at = np.array([2 * 3600.0 + 900.0])  # 02:15 consults its neighbour, 01:00
>>> fault.inside(np.array([9.0]), at).tolist()  # a burst at 02:15 alone: seen an hour ago
[True]
>>> fault.inside(np.array([9.0]), at, run=np.array([3600.0 + 55 * 60.0])).tolist()
[False]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aiops.detect.rows import gather_bins, one_bin, phase_bins, with_room

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

# EWMA weight of the long-run level the extremes relax towards.
_CENTER_ALPHA = 0.01
# An empty slot of the recent visits: no bin, ended never, extremes empty.
_NO_VISIT = np.array([-1.0, -np.inf, -np.inf, np.inf])[:, None, None]


class PhaseEnvelope:
    """Per series, per phase bin: decaying maximum and minimum of the values seen."""

    def __init__(
        self, *, period: float, bins: int, halflife: float, neighbours: int, margin: float = 0.0
    ) -> None:
        if period <= 0 or bins < 1 or halflife <= 0 or neighbours < 0 or margin < 0:
            raise ValueError("an envelope needs a positive period, bins and half-life")
        self.period = float(period)
        self.margin = float(margin)
        self.bins = int(bins)
        self.decay = float(0.5 ** (1.0 / halflife))
        self.neighbours = min(int(neighbours), self.bins // 2)
        self.size = 0
        self.hi = np.zeros((self.bins, 0))
        self.lo = np.zeros((self.bins, 0))
        self.center = np.zeros(0)
        self.count = np.zeros(0)
        # The visit in progress: its bin, start time, sample count and extremes. A visit
        # joins the envelope when it ends (the series moves to another bin, or half a
        # period passes), so what is seen *today* does not count as seen at this phase.
        self.visit = np.zeros((5, 0))
        # The last few finished visits, newest first: bin (-1: none), when the visit
        # ended, and the bin's extremes before it joined them (what the bin had seen
        # before a run that began earlier).
        self.recent = np.zeros((4, self.neighbours + 1, 0))

    def grow(self, size: int) -> None:
        """Make room for ``size`` series (new ones have an empty envelope)."""
        if size <= self.size:
            return
        self.hi, self.lo = with_room(self.hi, size), with_room(self.lo, size)
        self.center, self.count = with_room(self.center, size), with_room(self.count, size)
        self.hi[:, self.size : size] = -np.inf
        self.lo[:, self.size : size] = np.inf
        self.center[self.size : size] = 0.0
        self.count[self.size : size] = 0.0
        self.visit = with_room(self.visit, size)
        self.visit[:, self.size : size] = np.array([[-1.0], [0.0], [0.0], [-np.inf], [np.inf]])
        self.recent = with_room(self.recent, size)
        self.recent[:, :, self.size : size] = self.no_recent(size - self.size)
        self.size = size

    def no_recent(self, size: int) -> F64:
        """Recent-visit state for ``size`` series that have finished no visit."""
        out: F64 = np.broadcast_to(_NO_VISIT, (4, self.neighbours + 1, size)).copy()
        return out

    def bin_of(self, t: F64) -> npt.NDArray[np.intp]:
        """The phase bin of each time (pass it back to skip recomputing it)."""
        return phase_bins(t, self.period, self.bins)

    def inside(
        self, values: F64, t: F64, rows: slice | None = None, center: F64 | None = None,
        b: npt.NDArray[np.intp] | None = None, run: F64 | None = None,
    ) -> Bool:
        """Rows whose value lies within the envelope of its phase bin or a neighbour's.

        The envelope always contains the long-run level: a value between the level and
        the most extreme value seen on its side at this phase (stretched by ``margin``
        of that distance) counts as seen. ``center`` replaces the envelope's own level
        (an envelope of anomalies borrows the level of all points). ``b`` is
        :meth:`bin_of` of ``t`` when the caller has it. ``run`` is when each row's
        current run of anomalous samples began (NaN: none): a bin whose latest visit
        ended after that (it held part of the run) counts without that visit.
        """
        r = slice(0, self.size) if rows is None else rows
        b = self.bin_of(t) if b is None else b
        c = self.center[r] if center is None else center
        hi = c.copy()
        lo = c.copy()
        one = one_bin(b)
        for j in range(-self.neighbours, self.neighbours + 1):
            if one is not None:  # one scrape time for all rows: plain row views
                k = (one + j) % self.bins
                bhi, blo = self.hi[k, r], self.lo[k, r]
            else:
                bj = (b + j) % self.bins
                bhi, blo = gather_bins(self.hi, bj, r), gather_bins(self.lo, bj, r)
            np.maximum(hi, bhi, out=hi)  # -inf unseen: no effect
            np.minimum(lo, blo, out=lo)
        inrun = np.flatnonzero(~np.isnan(run)) if run is not None else np.zeros(0, np.intp)
        if inrun.size:  # the few rows in a run: their bins again, without later visits
            assert run is not None
            hi[inrun], lo[inrun] = self._before_run(b[inrun], inrun + r.start, c[inrun],
                                                    run[inrun])
        if self.margin > 0:
            hi = c + (hi - c) * (1.0 + self.margin)
            lo = c - (c - lo) * (1.0 + self.margin)
        with np.errstate(invalid="ignore"):
            out: Bool = (values >= lo) & (values <= hi) & (self.count[r] > 0)
        return out

    def _before_run(self, b: npt.NDArray[np.intp], rows: npt.NDArray[np.intp], c: F64,
                    began: F64) -> tuple[F64, F64]:
        """The envelope (highest, lowest) of rows ``rows`` (in bins ``b``, level ``c``)
        over their bin and its neighbours, each bin without its recent visits that ended
        after ``began``."""
        vbin, vend, vhi, vlo = self.recent[:, :, rows]
        hi, lo = c.copy(), c.copy()
        for j in range(-self.neighbours, self.neighbours + 1):
            bj = (b + j) % self.bins
            up, down = self.hi[bj, rows], self.lo[bj, rows]
            for k in range(vbin.shape[0]):  # newest first: the oldest such visit wins
                later = (vbin[k] == bj) & (vend[k] > began)
                up = np.where(later, vhi[k], up)
                down = np.where(later, vlo[k], down)
            np.maximum(hi, up, out=hi)
            np.minimum(lo, down, out=lo)
        return hi, lo

    def learn(
        self, values: F64, t: F64, mask: Bool, rows: slice | None = None,
        center: F64 | None = None, b: npt.NDArray[np.intp] | None = None,
    ) -> None:
        """Add each masked row's value to its visit; a finished visit widens its bin.

        The bin's extremes first relax towards the level (one half-life per
        ``halflife`` visits, i.e. periods). With ``center`` given, extremes relax
        towards it and the envelope's own level is left alone (``b`` as in :meth:`inside`).
        """
        r = slice(0, self.size) if rows is None else rows
        b = self.bin_of(t) if b is None else b
        x = np.where(mask, values, 0.0)
        if center is None:
            first = mask & (self.count[r] == 0)
            c = np.where(first, x, self.center[r])
            self.center[r] = np.where(mask & ~first, c + _CENTER_ALPHA * (x - c), c)
        else:
            c = center
        vbin, vstart, vcount, vhi, vlo = self.visit[:, r]  # views: updated in place
        tt = np.where(np.isfinite(t), t, 0.0)
        # A visit is over once time moves past it, whether or not this sample is learnt.
        done = np.isfinite(t) & (vbin >= 0) & ((vbin != b) | (tt - vstart >= 0.5 * self.period))
        ended = np.flatnonzero(done)
        if ended.size:
            self._close(ended, ended + r.start, c, tt)
            vbin[ended], vhi[ended], vlo[ended] = -1.0, -np.inf, np.inf
        begin = mask & (vbin < 0)
        np.copyto(vbin, b, where=begin)
        np.copyto(vstart, tt, where=begin)
        vcount[begin] = 0.0
        vcount += mask
        np.maximum(vhi, x, out=vhi, where=mask)
        np.minimum(vlo, x, out=vlo, where=mask)
        self.count[r] += mask

    def _close(
        self, which: npt.NDArray[np.intp], rows: npt.NDArray[np.intp], c: F64, t: F64
    ) -> None:
        """Merge the visits of rows ``rows`` (block positions ``which``) that ended at
        ``t`` into their bins, keeping each bin's extremes from before."""
        vbin, _, _, vhi, vlo = self.visit[:, rows]
        b = vbin.astype(np.intp)
        cc = c[which]
        d = self.decay  # one visit: one period of memory
        hi, lo = self.hi[b, rows], self.lo[b, rows]
        self.recent[:, 1:, rows] = self.recent[:, :-1, rows]
        self.recent[:, 0, rows] = np.stack([vbin, t[which], hi, lo])
        with np.errstate(invalid="ignore"):
            self.hi[b, rows] = np.maximum(vhi, cc + d * (hi - cc))
            self.lo[b, rows] = np.minimum(vlo, cc + d * (lo - cc))

    @property
    def nbytes(self) -> int:
        """Bytes of state allocated."""
        return int(self.hi.nbytes + self.lo.nbytes + self.center.nbytes + self.count.nbytes
                   + self.visit.nbytes + self.recent.nbytes)
