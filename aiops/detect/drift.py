"""Page-Hinkley drift detection over many series: is a lasting shift a new normal?

:class:`PageHinkleyBank` runs the two-sided Page-Hinkley test of river's
``river.drift.PageHinkley`` on one numpy row per series, one call per step. Per row it
keeps the running mean since the last reset and two cumulative sums of deviations from
it, ``up = alpha * up + dev - delta`` and ``down = alpha * down + dev + delta``; a drift
is flagged once ``min_instances`` points were seen and ``up`` rose more than
``threshold`` above its minimum (or ``down`` fell more than ``threshold`` below its
maximum). As in river, ``alpha`` fades the cumulative sums (river's docstring calls it
the weight of the observed value and the mean); the mean itself is the plain running
mean since the last reset. After a drift the row starts afresh, as river does.

Scale-free thresholds: one bank holds series of wildly different units (bytes, seconds,
ratios), so ``step(values, scale=...)`` divides each deviation by a spread the caller
supplies per row (e.g. the robust detector's learnt spread). ``delta`` and ``threshold``
are then in spreads and spread-samples: the defaults tolerate drifts under half a
spread and need about 50 spread-samples of sustained evidence. Deviations are
winsorized at ``clip`` spreads, both in the sums and in the running mean, so one huge
spike (an anomaly) adds at most ``clip - delta`` to a sum and cannot masquerade as a new
level; a sustained shift of ``s`` spreads is flagged after about
``threshold / (min(s, clip) - delta)`` samples. With ``scale=None`` (spread 1) and
``clip=inf`` (:meth:`DriftParams.river`) the bank computes exactly what river does.

On a drift, :class:`Change` also reports the new level: the mean of the values since
the estimated change point, the last zero of Page's (unfaded) CUSUM on the drifting
side, ``max(0, c + dev - delta)`` (the current value if that CUSUM is at zero).
:class:`DriftDetector` wraps a bank of one row in river's ``learn_one``/``score_one``
shape, learning its own spread from successive differences.

>>> import numpy as np
>>> bank = PageHinkleyBank(DriftParams(min_instances=10, threshold=20.0))
>>> bank.grow(2)
>>> flags = []
>>> for t in range(200):
...     wiggle = 0.5 * (t % 3 - 1)
...     shift = 4.0 if t >= 100 else 0.0  # row 1 moves to a new level at t = 100
...     ch = bank.update(np.array([5.0 + wiggle, 1e6 * (1.0 + wiggle + shift)]),
...                      scale=np.array([0.5, 1e6]))
...     flags.extend((t, row, round(float(ch.level[row]))) for row in np.nonzero(ch.drift)[0])
>>> [(t, int(row), level) for t, row, level in flags]
[(106, 1, 5000000)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aiops.detect.robust import MAX_ABS, usable
from aiops.detect.rows import with_room

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

# Per-row float state, in this order; counters are kept as int64.
_FLOAT_FIELDS = (
    "mean", "up", "down", "up_min", "down_max", "up_cusum", "down_cusum", "up_sum", "down_sum",
)
_INT_FIELDS = ("n", "up_count", "down_count")
# Initial values of a fresh (or reset) row.
_FLOAT_INIT = np.array([0.0, 0.0, 0.0, np.inf, -np.inf, 0.0, 0.0, 0.0, 0.0])
# Scaled deviations are capped here so a tiny spread cannot overflow the sums.
_DEV_MAX = 1e150
# sigma of Gaussian noise from successive differences: E|x_t - x_(t-1)| = 2 sigma / sqrt(pi),
# median |x_t - x_(t-1)| = 0.6745 * sqrt(2) * sigma.
_MEAN_ABS_DIFF = 2.0 / math.sqrt(math.pi)
_MEDIAN_ABS_DIFF = 0.6744897501960817 * math.sqrt(2.0)


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftParams:
    """Page-Hinkley parameters; ``delta``, ``threshold`` and ``clip`` are in spreads.

    >>> DriftParams().threshold, DriftParams.river().clip
    (50.0, inf)
    >>> DriftParams(delta=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: delta must be >= 0, got -1.0
    """

    min_instances: int = 30
    delta: float = 0.5
    threshold: float = 50.0
    alpha: float = 1.0 - 0.0001
    clip: float = 4.0

    def __post_init__(self) -> None:
        if self.min_instances < 1:
            raise ValueError(f"min_instances must be >= 1, got {self.min_instances}")
        if not self.delta >= 0.0:
            raise ValueError(f"delta must be >= 0, got {self.delta}")
        if not self.threshold > 0.0:
            raise ValueError(f"threshold must be > 0, got {self.threshold}")
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")
        if not self.clip > self.delta:
            raise ValueError(f"clip must exceed delta, got {self.clip}")

    @classmethod
    def river(
        cls,
        *,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1.0 - 0.0001,
    ) -> DriftParams:
        """river's ``PageHinkley`` defaults, without winsorizing (same flags as river)."""
        return cls(min_instances=min_instances, delta=delta, threshold=threshold, alpha=alpha,
                   clip=math.inf)


@dataclass(frozen=True, kw_only=True, slots=True)
class Change:
    """What one step found for every row.

    ``drift``: the test crossed its threshold (the row has been reset); ``direction``:
    +1 up, -1 down, 0 none; ``level``: the mean of the values since the estimated change
    point on drifting rows, NaN elsewhere; ``statistic``: the larger test statistic over
    the threshold (before any reset; 0 while warming up or for a skipped row);
    ``valid``: the row's value and spread were usable.
    """

    drift: Bool
    direction: I64
    level: F64
    statistic: F64
    valid: Bool


@dataclass(frozen=True, kw_only=True, slots=True)
class _Next:
    """The state every row would have after one step (valid rows only moved)."""

    valid: Bool
    f: F64
    n: I64
    counts: I64
    up_stat: F64
    down_stat: F64
    warm: Bool


class PageHinkleyBank:
    """Two-sided Page-Hinkley state for many series; ``step`` tests one value per row."""

    def __init__(self, params: DriftParams | None = None) -> None:
        self.params = params if params is not None else DriftParams()
        self.size = 0
        self.skipped = 0
        self._f = np.zeros((len(_FLOAT_FIELDS), 0))
        self._i = np.zeros((len(_INT_FIELDS), 0), dtype=np.int64)

    # -- state management -------------------------------------------------------
    def grow(self, size: int) -> None:
        """Make room for ``size`` series; new rows start empty (warming up)."""
        if size <= self.size:
            return
        self._f, self._i = with_room(self._f, size), with_room(self._i, size)
        self._f[:, self.size : size] = _FLOAT_INIT[:, None]
        self._i[:, self.size : size] = 0
        self.size = size

    def reset(self, rows: Bool | I64) -> None:
        """Start the given rows afresh (a mask over all rows, or row indices)."""
        idx = np.nonzero(rows)[0] if np.asarray(rows).dtype == np.bool_ else np.asarray(rows)
        self._f[:, idx] = _FLOAT_INIT[:, None]
        self._i[:, idx] = 0

    def learned(self, row: int) -> int:
        """Points row ``row`` has seen since its last reset."""
        return int(self._i[0, row])

    def state(self) -> dict[str, npt.NDArray[np.generic]]:
        """Copies of the live state arrays, by field name (npz-friendly, no objects)."""
        out: dict[str, npt.NDArray[np.generic]] = {}
        for k, name in enumerate(_FLOAT_FIELDS):
            out[name] = self._f[k, : self.size].copy()
        for k, name in enumerate(_INT_FIELDS):
            out[name] = self._i[k, : self.size].copy()
        return out

    def load(self, state: Mapping[str, npt.NDArray[np.generic]], skipped: int = 0) -> None:
        """Replace the state with arrays produced by :meth:`state`."""
        size = int(np.asarray(state["mean"]).shape[0])
        if any(np.shape(state[n]) != (size,) for n in _FLOAT_FIELDS + _INT_FIELDS):
            raise ValueError("inconsistent drift state arrays")
        f = np.stack([np.asarray(state[n], dtype=np.float64) for n in _FLOAT_FIELDS])
        i = np.stack([np.asarray(state[n], dtype=np.int64) for n in _INT_FIELDS])
        self._f, self._i = f, i
        self.size = size
        self.skipped = skipped

    @property
    def nbytes(self) -> int:
        """Bytes of state currently allocated."""
        return int(self._f.nbytes + self._i.nbytes)

    # -- the test ---------------------------------------------------------------
    def _advance(self, values: F64, scale: F64 | None) -> _Next:
        """Every row's state after one more value (pure: nothing is stored)."""
        p = self.params
        x = np.asarray(values, dtype=np.float64)
        if x.shape != (self.size,):
            raise ValueError(f"expected {self.size} values, got shape {x.shape}")
        if scale is None:
            sc = np.ones(self.size)
        else:
            sc = np.broadcast_to(np.asarray(scale, dtype=np.float64), (self.size,))
        with np.errstate(invalid="ignore"):
            valid = usable(x) & (sc > 0.0) & (sc <= MAX_ABS)
        xs = np.where(valid, x, 0.0)
        sc = np.where(valid, sc, 1.0)
        f = self._f[:, : self.size].copy()
        n = self._i[0, : self.size] + valid
        counts = self._i[1:, : self.size].copy()
        mean, up, down, up_min, down_max, up_cusum, down_cusum, up_sum, down_sum = f
        # Running mean (river's stats.Mean: mean += (1 / n) * (x - mean)), winsorized
        # except on a row's first point.
        lim = np.where(n > 1, p.clip * sc, np.inf)
        step = np.clip(xs - mean, -lim, lim)
        mean_new = mean + (1.0 / np.maximum(n, 1)) * step
        with np.errstate(over="ignore"):
            dev = (xs - mean_new) / sc
        np.clip(dev, -min(p.clip, _DEV_MAX), min(p.clip, _DEV_MAX), out=dev)
        up_new = p.alpha * up + dev - p.delta
        down_new = p.alpha * down + dev + p.delta
        mean[:] = np.where(valid, mean_new, mean)
        up[:] = np.where(valid, up_new, up)
        down[:] = np.where(valid, down_new, down)
        up_min[:] = np.where(valid, np.minimum(up_min, up), up_min)
        down_max[:] = np.where(valid, np.maximum(down_max, down), down_max)
        # Change-point estimate: the last zero of Page's (unfaded) CUSUM on each side;
        # the new level is the mean of the values since then.
        up_c = up_cusum + dev - p.delta
        down_c = down_cusum - dev - p.delta
        up_zero = valid & (up_c <= 0.0)
        down_zero = valid & (down_c <= 0.0)
        up_cusum[:] = np.where(up_zero, 0.0, np.where(valid, up_c, up_cusum))
        down_cusum[:] = np.where(down_zero, 0.0, np.where(valid, down_c, down_cusum))
        up_sum[:] = np.where(up_zero, 0.0, up_sum + xs)
        down_sum[:] = np.where(down_zero, 0.0, down_sum + xs)
        counts[0] = np.where(up_zero, 0, counts[0] + valid)
        counts[1] = np.where(down_zero, 0, counts[1] + valid)
        warm = valid & (n >= p.min_instances)
        return _Next(valid=valid, f=f, n=n, counts=counts, up_stat=up - up_min,
                     down_stat=down_max - down, warm=warm)

    def peek(self, values: F64, scale: F64 | None = None) -> F64:
        """The statistic (over the threshold) each row would reach with ``values``.

        Nothing is learnt: this is ``update(values, scale).statistic`` without the update.
        """
        nxt = self._advance(values, scale)
        return self._statistic(nxt)

    def _statistic(self, nxt: _Next) -> F64:
        stat = np.maximum(nxt.up_stat, nxt.down_stat) / self.params.threshold
        out: F64 = np.where(nxt.warm, stat, 0.0)
        return out

    def update(self, values: F64, scale: F64 | None = None) -> Change:
        """Test one value per row; rows that drift are reported and reset.

        ``scale`` is each row's spread (a scalar or one per row; default 1, raw units).
        Rows whose value is NaN/inf (or beyond ``MAX_ABS``) or whose spread is not a
        positive finite number are skipped and counted, their state untouched.
        """
        nxt = self._advance(values, scale)
        thr = self.params.threshold
        up_hit = nxt.warm & (nxt.up_stat > thr)
        down_hit = nxt.warm & (nxt.down_stat > thr)
        drift = up_hit | down_hit
        go_up = up_hit & (~down_hit | (nxt.up_stat >= nxt.down_stat))
        direction = np.where(drift, np.where(go_up, 1, -1), 0).astype(np.int64)
        total = np.where(go_up, nxt.f[7], nxt.f[8])
        count = np.where(go_up, nxt.counts[0], nxt.counts[1])
        with np.errstate(invalid="ignore", divide="ignore"):
            level = np.where(count > 0, total / count, np.asarray(values, dtype=np.float64))
        level = np.where(drift, level, np.nan)
        statistic = self._statistic(nxt)
        self._f[:, : self.size] = nxt.f
        self._i[0, : self.size] = nxt.n
        self._i[1:, : self.size] = nxt.counts
        if drift.any():
            self.reset(drift)
        self.skipped += int(self.size - np.count_nonzero(nxt.valid))
        return Change(drift=drift, direction=direction, level=level, statistic=statistic,
                      valid=nxt.valid)

    def step(self, values: F64, scale: F64 | None = None) -> Bool:
        """Drift flags per row (see :meth:`update`)."""
        return self.update(values, scale).drift


def _usable_one(x: Mapping[str, float], key: str) -> float | None:
    """The value under ``key`` if present, numeric, finite and of sane magnitude."""
    v = x.get(key)
    if isinstance(v, int | float) and math.isfinite(v) and abs(v) <= MAX_ABS:
        return float(v)
    return None


class DriftDetector:
    """Page-Hinkley on one series, in river's ``learn_one`` / ``score_one`` shape.

    The spread is learnt from successive differences, which a level shift barely moves:
    the median over the first ``warmup`` differences, then an EWMA (rate
    ``spread_alpha``) of differences winsorized at ``clip`` spreads, floored at a
    thousandth of the value's magnitude. The score is the Page-Hinkley statistic over its
    threshold, clipped to [0, 1]: 0 while warming up (``warmup + 1`` points for the
    spread, then ``min_instances`` for the test), 1 when the point would signal a drift.
    ``drift_detected`` and ``level`` describe the last learnt point.

    >>> det = DriftDetector(DriftParams(min_instances=10, threshold=20.0), warmup=10)
    >>> values = [10.0 + 0.1 * (i % 5) for i in range(100)] + [12.0] * 60
    >>> for i, v in enumerate(values):
    ...     det.learn_one({"value": v})
    ...     if det.drift_detected:
    ...         print(i, round(det.level))
    105 12
    """

    def __init__(
        self,
        params: DriftParams | None = None,
        *,
        key: str = "value",
        warmup: int = 20,
        spread_alpha: float = 0.01,
    ) -> None:
        if warmup < 1:
            raise ValueError(f"warmup must be >= 1, got {warmup}")
        self.params = params if params is not None else DriftParams()
        self.key = key
        self.warmup = warmup
        self.spread_alpha = spread_alpha
        self.skipped = 0
        self.drift_detected = False
        self.level = math.nan
        self._bank = PageHinkleyBank(self.params)
        self._bank.grow(1)
        self._last: float | None = None
        self._diffs: list[float] = []
        self._sigma = 0.0
        self._spread_ready = False

    def _spread(self, v: float) -> float:
        return self._sigma + 1e-3 * abs(v) + 1e-12

    def score_one(self, x: Mapping[str, float]) -> float:
        """Drift evidence in [0, 1] for ``x``, without learning it."""
        v = _usable_one(x, self.key)
        if v is None or not self._spread_ready:
            return 0.0
        s = self._bank.peek(np.array([v]), np.array([self._spread(v)]))[0]
        return float(min(1.0, max(0.0, s)))

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Learn ``x``; invalid (NaN, inf, missing) values are counted and ignored."""
        v = _usable_one(x, self.key)
        if v is None:
            self.skipped += 1
            return
        self.drift_detected, self.level = False, math.nan
        last, self._last = self._last, v
        if last is None:
            return
        diff = abs(v - last)
        if not self._spread_ready:
            self._diffs.append(diff)
            if len(self._diffs) == self.warmup:
                self._sigma = float(np.median(self._diffs)) / _MEDIAN_ABS_DIFF
                self._diffs = []
                self._spread_ready = True
            return
        ch = self._bank.update(np.array([v]), np.array([self._spread(v)]))
        if bool(ch.drift[0]):
            self.drift_detected, self.level = True, float(ch.level[0])
        lim = self.params.clip * math.sqrt(2.0) * self._spread(v)
        sample = min(diff, lim) / _MEAN_ABS_DIFF
        self._sigma += self.spread_alpha * (sample - self._sigma)
