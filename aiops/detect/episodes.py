"""Anomaly episodes: one start, ongoing samples and one end per burst of evidence.

A score is per sample; what a person (and NAB) wants is per *episode*: one signal when
a series turns anomalous, quiet while the same disturbance goes on, and a clear end.
Per series the tracker keeps a small state machine over the bank's scores:

* **start**: a warm sample scoring at least ``open_level`` while no episode is open;
* **ongoing**: every later sample of the open episode;
* **end**: the sample at which the episode has lasted at least ``min_length`` samples
  and the last ``calm`` samples all scored below ``open_level``.

A range record (a value beyond everything the series has shown) is news even inside an
episode: it starts a new one, unless the episode began less than ``calm`` samples ago
(a jump sets a few records as noise rides on it: one onset). So is a sample scoring
at least ``renew_level`` (0 = off) after a full calm spell: the episode was held open
only by ``min_length``, so a strong anomaly now is a new event, not the old burst; but
only if its value lies beyond every value that scored ``open_level`` in this series
before (by ``renew_margin`` of its range): the same burst height again is more of the
series' old pattern, not news. Per series the tracker keeps that range of anomalous
values (two numbers).
Beside the episode, ``since`` is when the current *run* began: the first of the consecutive samples
scoring at least ``open_level`` (NaN after a calm sample). A runbook's ``for:`` reads
it: a fault whose first sample scores just under the signal floor and its next ones
far above it has been anomalous since that first sample. Samples without a value
leave the state untouched (code NONE).

>>> import numpy as np
>>> ep = EpisodeTracker(open_level=0.5, min_length=3, calm=2)
>>> ep.grow(1)
>>> codes = []
>>> for i, s in enumerate([0.1, 0.6, 0.95, 0.2, 0.1, 0.1, 0.1, 0.7]):
...     step = ep.step(np.array([s]), np.array([True]), np.array([False]), np.array([i * 1.0]))
...     codes.append(Phase(int(step.code[0])).name)
>>> codes
['NONE', 'START', 'ONGOING', 'ONGOING', 'END', 'NONE', 'NONE', 'START']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from aiops.detect.rows import with_room

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
Bool = npt.NDArray[np.bool_]


class Phase(IntEnum):
    """Where a sample stands in its series' episode (the codes the bank returns)."""

    NONE = 0
    START = 1
    ONGOING = 2
    END = 3


@dataclass(frozen=True, kw_only=True, slots=True)
class EpisodeStep:
    """Per row of one step: phase code, episode start, run start, peak score."""

    code: I8
    start: F64
    since: F64
    peak: F64


_INT_FIELDS = ("open", "age", "calm")
# Float fields and their value for a series that has seen nothing: no episode yet, and
# an empty range of anomalous values (alo..ahi).
_FLOAT_EMPTY = {"start": np.nan, "since": np.nan, "peak": np.nan,
                "alo": np.inf, "ahi": -np.inf}
_FLOAT_FIELDS = tuple(_FLOAT_EMPTY)
_SINCE = _FLOAT_FIELDS.index("since")
_EMPTY_COLUMN = np.array(list(_FLOAT_EMPTY.values()))[:, None]
# Fields a snapshot from before they existed lacks (they load empty).
_LATER_FIELDS = ("alo", "ahi")


class EpisodeTracker:
    """Episode state per series (8 numbers); ``step`` advances every row at once."""

    def __init__(
        self, *, open_level: float, min_length: int, calm: int, renew_level: float = 0.0,
        renew_margin: float = 0.0,
    ) -> None:
        if (not 0 < open_level <= 1 or min_length < 0 or calm < 1
                or not 0 <= renew_level <= 1 or renew_margin < 0):
            raise ValueError(
                "episodes need 0 < open_level <= 1, min_length >= 0, calm >= 1, "
                "0 <= renew_level <= 1, renew_margin >= 0"
            )
        self.open_level = float(open_level)
        self.renew_level = float(renew_level)
        # A renewing value must lie beyond the earlier anomalous values by this share of
        # the series' whole range (``span`` in :meth:`step`).
        self.renew_margin = float(renew_margin)
        self.min_length = int(min_length)
        self.calm = int(calm)
        self.size = 0
        self._i = np.zeros((len(_INT_FIELDS), 0), dtype=np.int64)
        self._f = np.zeros((len(_FLOAT_FIELDS), 0))

    def grow(self, size: int) -> None:
        """Make room for ``size`` series (new ones are outside any episode)."""
        if size <= self.size:
            return
        self._i = with_room(self._i, size)
        self._f = with_room(self._f, size)
        self._i[:, self.size : size] = 0
        self._f[:, self.size : size] = _EMPTY_COLUMN
        self.size = size

    def step(
        self,
        score: F64,
        valid: Bool,
        record: Bool,
        t: F64,
        rows: slice | None = None,
        *,
        value: F64 | None = None,
        span: tuple[F64, F64] | None = None,
    ) -> EpisodeStep:
        """Advance the rows of ``rows`` (default all) by one sample each.

        ``value`` is each row's sample (without it every strong sample counts as novel
        for renewal); ``span`` the lowest and highest value each row has shown, whose
        width times ``renew_margin`` a novel value must clear (no span: no margin).
        """
        r = slice(0, self.size) if rows is None else rows
        ints, fl = self._i[:, r], self._f[:, r]
        is_open, age, calm = ints
        start, since, peak, alo, ahi = fl
        s = np.where(valid, score, 0.0)
        was_open = (is_open > 0) & valid
        hot = valid & (s >= self.open_level)
        restart = was_open & record & (age >= self.calm)  # not the same onset again
        if self.renew_level > 0:
            # Held open only by min_length through a full calm spell: a strong sample
            # at a value no earlier anomaly reached is a new event.
            renew = was_open & (calm >= self.calm) & (s >= self.renew_level)
            if value is not None and renew.any():
                restart |= renew & self._novel(value, alo, ahi, span)
            else:
                restart |= renew
        begin = (hot & ~was_open) | restart
        going = was_open & ~restart
        # Ongoing rows age and count calm samples; a long enough calm ends the episode.
        age[:] = np.where(begin, 0, np.where(going, age + 1, age))
        calm[:] = np.where(begin | (going & hot), 0, np.where(going, calm + 1, calm))
        end = going & (age >= self.min_length) & (calm >= self.calm)
        code = np.where(begin, Phase.START, np.where(end, Phase.END,
                        np.where(going, Phase.ONGOING, Phase.NONE))).astype(np.int8)
        is_open[:] = np.where(begin, 1, np.where(end, 0, is_open))
        start[:] = np.where(begin, t, start)
        peak[:] = np.where(begin, s, np.where(going, np.fmax(peak, s), peak))
        if value is not None and hot.any():
            alo[:] = np.where(hot, np.fmin(alo, value), alo)
            ahi[:] = np.where(hot, np.fmax(ahi, value), ahi)
        # The run behind ``since``: consecutive samples at the open level.
        since[:] = np.where(hot, np.where(np.isnan(since), t, since),
                            np.where(valid, np.nan, since))
        return EpisodeStep(code=code, start=start.copy(), since=since.copy(), peak=peak.copy())

    def run(self, rows: slice | None = None) -> F64:
        """When each row's current run of samples at ``open_level`` began (NaN: none).

        As of the last step: the run the next sample would continue.
        """
        r = slice(0, self.size) if rows is None else rows
        out: F64 = self._f[_SINCE, r].copy()
        return out

    def _novel(self, value: F64, alo: F64, ahi: F64, span: tuple[F64, F64] | None) -> Bool:
        """Rows whose value lies beyond their earlier anomalous values (by the margin)."""
        pad: F64 | float = 0.0
        with np.errstate(invalid="ignore"):
            if span is not None and self.renew_margin > 0:
                width = span[1] - span[0]
                pad = np.where(np.isfinite(width), width, 0.0) * self.renew_margin
            out: Bool = (value > ahi + pad) | (value < alo - pad)
        return out

    @property
    def nbytes(self) -> int:
        """Bytes of state allocated."""
        return int(self._i.nbytes + self._f.nbytes)

    def state(self) -> dict[str, npt.NDArray[np.generic]]:
        """State arrays by name (for snapshots)."""
        out: dict[str, npt.NDArray[np.generic]] = {}
        for k, name in enumerate(_INT_FIELDS):
            out[name] = self._i[k, : self.size].copy()
        for k, name in enumerate(_FLOAT_FIELDS):
            out[name] = self._f[k, : self.size].copy()
        return out

    def load(self, state: dict[str, npt.NDArray[np.generic]]) -> None:
        """Replace the state with arrays produced by :meth:`state`."""
        ints = np.stack([np.asarray(state[n], dtype=np.int64) for n in _INT_FIELDS])
        size = ints.shape[1]
        fl = np.stack([
            np.asarray(state[n], dtype=np.float64) if n in state or n not in _LATER_FIELDS
            else np.full(size, _FLOAT_EMPTY[n])
            for n in _FLOAT_FIELDS
        ])
        if ints.shape[1] != fl.shape[1]:
            raise ValueError("inconsistent episode state arrays")
        self._i, self._f, self.size = ints, fl, int(ints.shape[1])
