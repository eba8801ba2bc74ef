"""Vectorized robust detector: one numpy row per series, one call scores them all.

Three statistics per series, each normalized by its own learnt spread:

* ``spike``: the value against the baseline level (EWMA of normal points);
* ``level``: a fast EWMA of the value against the baseline (a sustained shift);
* ``trend``: the fast EWMA against a slow one (a steady drift such as a leak).

A level or trend claim counts only as far as the current sample confirms it (an echo
of a spike in the fast level is no shift). Each z-score becomes a tail probability
(Gaussian body, learnt generalised Pareto tail: see :mod:`aiops.detect.calibration`); the
smallest, times three (Bonferroni), is the evidence, mapped to a score in [0, 1].
Points are scored before they are learnt; points scoring at or above the threshold do
not move the baseline or the spreads. The fast level always follows the data (it is
the test statistic, not the model), so after ``adopt_after`` consecutive anomalous
points the baseline adopts the recent level: a persistent new normal is accepted.
Deviations are clipped at ``clip`` spreads before being learnt, so heavy tails cannot
inflate the model in one step, and NaN/inf never touch the state.

>>> import numpy as np
>>> core = RobustCore(Params(warmup=5))
>>> core.grow(2)
>>> for v in range(30):
...     _ = core.step(np.array([10.0 + (v % 3) * 0.1, 5.0 + (v % 2) * 0.1]))
>>> ev = core.step(np.array([10.1, 50.0]))
>>> bool(ev.score[0] < 0.5), bool(ev.score[1] > 0.99)
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aiops.detect.calibration import (
    PRIOR_IXI,
    PRIOR_KX,
    PRIOR_LOG_RATE,
    Tail,
    evidence_score,
    exponential_excess2,
    learn_tail,
    tail_logp,
    tail_params,
)
from aiops.detect.config import Params
from aiops.detect.rows import with_room

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

STATISTICS = ("spike", "level", "trend")
KINDS = ("none", "spike", "level-shift", "trend", "record")
_BAND_Z = 3.0
# Per-series float state, in this order; counters are kept as int64.
_FLOAT_FIELDS = (
    "mu", "fast", "slow", "s_spike", "s_level", "s_trend",
    "e_spike", "e_level", "e_trend", "m_spike", "m_level", "m_trend",
    "prev", "vol",
    # Derived tail parameters (log rate, shape / scale, body offset, then 1 / shape at
    # the end), refreshed from the tail moments every few steps (and every step while a
    # series is young).
    "lr_spike", "lr_level", "lr_trend", "kx_spike", "kx_level", "kx_trend",
    "lb_spike", "lb_level", "lb_trend",
    # Second moment of the excess over the tail threshold (the shape's evidence).
    "q_spike", "q_level", "q_trend",
    "ixi_spike", "ixi_level", "ixi_trend",
)


def _per_statistic(prefix: str) -> slice:
    """The rows of ``_FLOAT_FIELDS`` holding ``prefix`` for each statistic."""
    start = _FLOAT_FIELDS.index(f"{prefix}_spike")
    return slice(start, start + len(STATISTICS))


# Tail state (exceedance share, first and second moments of the excess) and the tail
# parameters derived from it (see aiops.detect.calibration.Tail).
_EXC, _EXCESS, _EXCESS2 = _per_statistic("e"), _per_statistic("m"), _per_statistic("q")
_LRATE, _KX, _LBODY, _IXI = (_per_statistic(k) for k in ("lr", "kx", "lb", "ixi"))
# Fields a snapshot from before the learnt tail shape lacks or holds in another form
# (rebuilt on load from the tail state).
_SHAPE_FIELDS = frozenset(
    _FLOAT_FIELDS[k] for sl in (_LRATE, _KX, _LBODY, _IXI, _EXCESS2)
    for k in range(sl.start, sl.stop)
)
_REFRESH_EVERY = 16
_YOUNG = 64
# Floors on the three spreads, as shares of the series' long-run volatility (the spread
# of its step-to-step changes, learnt from every valid point): bursty or mostly-flat
# series keep a sense of how much they usually jump.
_FLOOR_SHAPE = np.array([[1.0], [0.5], [0.5]])
_TAIL_LEARN = 0.7  # the tail learns from points scoring below this share of the threshold
# The trend statistic learns its spread from winsorized deviations (at 3 spreads) so a
# slow ramp cannot inflate its own yardstick as fast as it grows.
_TREND_CLIP = 3.0
_G_CLIP = 6.0
_SQRT_HALF = float(np.sqrt(0.5))  # a step of white noise has sqrt(2) times its spread
_INT_FIELDS = ("n", "streak", "shifted")
_SHIFT_MEMORY = 10  # an adopted shift counts as recent for this many adopt_after samples
# A sample confirms a level or trend claim only by what it deviates beyond this many
# spreads (within the band's inner part it is ordinary noise, not evidence of a shift).
_CONFIRM_SLACK = 2.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Evidence:
    """What one step found for every row (invalid rows have score NaN, warm False)."""

    score: F64
    raw: F64
    expected: F64
    lower: F64
    upper: F64
    z: F64
    warm: Bool
    valid: Bool
    kind: I64
    # Episode columns, filled by the ensemble (None from a bare view): phase code
    # (aiops.detect.episodes.Phase), episode start, strong-run start, peak score.
    phase: npt.NDArray[np.int8] | None = None
    start: F64 | None = None
    since: F64 | None = None
    peak: F64 | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class _Work:
    """Per-step intermediates shared by ``score`` and the ``learn`` that follows it."""

    key: tuple[int, int]
    valid: Bool
    xs: F64
    inv: F64
    fast_new: F64
    e: F64
    spread: F64
    warm: Bool


class RobustCore:
    """State arrays for many series; ``step(values)`` scores then learns one value each."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.size = 0
        self.skipped = 0
        self._f = np.zeros((len(_FLOAT_FIELDS), 0))
        self._i = np.zeros((len(_INT_FIELDS), 0), dtype=np.int64)
        self._work: _Work | None = None
        self._steps = 0
        #: Rows (within the last learnt block) that adopted a new level in that step.
        self.adopted = np.zeros(0, dtype=np.intp)
        self._block_start = 0
        self._clip = np.array([[params.clip], [params.clip], [min(params.clip, _TREND_CLIP)]])

    # -- state management -------------------------------------------------------
    def grow(self, size: int) -> None:
        """Make room for ``size`` series; new rows start empty (warming up)."""
        if size <= self.size:
            return
        self._f, self._i = with_room(self._f, size), with_room(self._i, size)
        self._f[:, self.size : size] = 0.0
        self._f[_LRATE, self.size : size] = PRIOR_LOG_RATE
        self._f[_KX, self.size : size] = PRIOR_KX
        self._f[_IXI, self.size : size] = PRIOR_IXI
        self._i[:, self.size : size] = 0
        self.size = size

    def state(self) -> dict[str, npt.NDArray[np.generic]]:
        """Copies of the live state arrays, by field name (for snapshots)."""
        out: dict[str, npt.NDArray[np.generic]] = {}
        for k, name in enumerate(_FLOAT_FIELDS):
            out[name] = self._f[k, : self.size].copy()
        for k, name in enumerate(_INT_FIELDS):
            out[name] = self._i[k, : self.size].copy()
        out["steps"] = np.array([self._steps], dtype=np.int64)
        return out

    def load(self, state: dict[str, npt.NDArray[np.generic]], skipped: int = 0) -> None:
        """Replace the state with arrays produced by :meth:`state`.

        State saved before the tail learnt its shape (no ``q_*`` fields) loads as the
        exponential tail it had, and learns its shape from there.
        """
        size = int(state["mu"].shape[0])
        shaped = "q_spike" in state
        zeros = np.zeros(size)
        self._f = np.stack([
            np.asarray(state[n] if shaped or n not in _SHAPE_FIELDS else zeros, dtype=np.float64)
            for n in _FLOAT_FIELDS
        ])
        self._i = np.stack([np.asarray(state[n], dtype=np.int64) for n in _INT_FIELDS])
        if self._f.shape != (len(_FLOAT_FIELDS), size):
            raise ValueError("inconsistent detector state arrays")
        if not shaped:
            f = self._f
            f[_EXCESS2] = exponential_excess2(f[_EXC], f[_EXCESS])
            _set_tail(f, slice(None), tail_params(f[_EXC], f[_EXCESS], f[_EXCESS2], self._i[0]))
        self.size = size
        self.skipped = skipped
        self._steps = int(state["steps"][0]) if "steps" in state else 0
        self._work = None

    def learned(self, row: int) -> int:
        """How many points row ``row`` has learnt."""
        return int(self._i[0, row])

    @property
    def nbytes(self) -> int:
        """Bytes of state currently allocated."""
        return int(self._f.nbytes + self._i.nbytes)

    # -- scoring ----------------------------------------------------------------
    def _prepare(self, values: F64, rows: slice) -> _Work:
        """Quantities both scoring and learning need (computed once per step)."""
        p = self.params
        x = np.asarray(values, dtype=np.float64)
        f = self._f[:, rows]
        n_rows = f.shape[1]
        if x.shape[0] != n_rows:
            raise ValueError(f"expected {n_rows} values for rows {rows}, got {x.shape[0]}")
        mu, fast, slow = f[0], f[1], f[2]
        n = self._i[0, rows]
        valid = usable(x)
        xs = np.where(valid, x, mu)
        inv: F64 = np.reciprocal(n + 1.0, dtype=np.float64)
        fast_new = fast + np.maximum(p.fast_alpha, inv) * (xs - fast)
        e = np.empty((3, n_rows))
        np.subtract(xs, mu, out=e[0])
        np.subtract(fast_new, mu, out=e[1])
        np.subtract(fast_new, slow, out=e[2])
        spread = np.sqrt(f[3:6])
        spread += _floor(f, p)
        return _Work(
            key=(id(values), rows.start), valid=valid, xs=xs, inv=inv, fast_new=fast_new,
            e=e, spread=spread, warm=valid & (n >= p.warmup),
        )

    def score(self, values: F64, rows: slice | None = None) -> Evidence:
        """Score one value per row without learning.

        ``rows`` is the block of rows scored (default all); ``values`` has one entry per
        row of the block.
        """
        p = self.params
        rows = slice(0, self.size) if rows is None else rows
        w = self._prepare(values, rows)
        self._work = w
        f = self._f[:, rows]
        mu = f[0]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            z = _confirmed(w.e, w.xs - f[2], w.spread[0]) / w.spread
        bad = ~np.isfinite(z)
        if bad.any():  # 0/0 means no evidence; x/0 the largest
            zb = z[bad]
            z[bad] = np.where(np.isnan(zb), 0.0, np.copysign(_Z_MAX, zb))
        az = np.abs(z)
        logp = tail_logp(az, f[_LRATE], f[_KX], f[_IXI], f[_LBODY])
        raw = evidence_score(logp, p.decades)
        raw = np.where(w.warm, raw, 0.0)
        score = np.where(w.valid, raw, np.nan)
        kind = _classify(az, raw, p.threshold * 0.5)
        band = _BAND_Z * w.spread[0]
        return Evidence(
            score=score,
            raw=raw,
            expected=mu.copy(),
            lower=mu - band,
            upper=mu + band,
            z=z,
            warm=w.warm,
            valid=w.valid,
            kind=np.where(w.warm, kind, 0),
        )

    def begin_step(self) -> None:
        """Count a step (call once per step, before its blocks are learnt)."""
        self._steps += 1

    def learn(
        self, values: F64, ev: Evidence, anomalous: Bool | None = None, rows: slice | None = None
    ) -> None:
        """Learn each valid row not judged anomalous; track streaks and adopt new levels.

        ``anomalous`` overrides this detector's own judgement (an ensemble's verdict);
        ``rows`` is the block ``ev`` was scored on (default all). Call
        :meth:`begin_step` once per step first.
        """
        p = self.params
        rows = slice(0, self.size) if rows is None else rows
        key = (id(values), rows.start)
        w = self._work if self._work is not None and self._work.key == key else None
        if w is None:
            w = self._prepare(values, rows)
        self._work = None
        self._block_start = rows.start
        f = self._f[:, rows]
        ints = self._i[:, rows]
        n_rows = f.shape[1]
        mu, fast, slow = f[0], f[1], f[2]
        n, streak, shifted = ints
        valid, xs, inv = w.valid, w.xs, w.inv
        vf = valid.astype(np.float64)
        anomalous = valid & ((ev.raw >= p.threshold) if anomalous is None else anomalous)
        normal = valid & ~anomalous
        nf = normal.astype(np.float64)
        # The fast level follows every valid point: it is the recent behaviour.
        fast[:] = np.where(valid, w.fast_new, fast)
        # Model: baseline, slow level and spreads learn normal points only (clipped).
        warm = n >= p.warmup
        lim = w.spread * (self._clip if warm.all() else np.where(warm, self._clip, np.inf))
        e_clipped = _clip(w.e, -lim, lim)
        first = n == 0
        a_mu = np.maximum(p.alpha, inv) * nf
        a_slow = np.maximum(p.slow_alpha, inv) * nf
        learn_w = np.where(first, 0.0, nf)
        a_sc = np.empty((3, n_rows))
        np.maximum(p.scale_alpha, inv, out=a_sc[0])
        a_sc[1] = a_sc[0]
        np.maximum(p.trend_scale_alpha, inv, out=a_sc[2])
        a_sc *= learn_w
        mu_step = a_mu * e_clipped[0]  # before e_clipped is squared in place
        e_clipped *= e_clipped
        e_clipped -= f[3:6]
        e_clipped *= a_sc
        f[3:6] += e_clipped
        calm = nf * warm * (ev.raw < _TAIL_LEARN * p.threshold)
        if calm.any():
            learn_tail(f[_EXC], f[_EXCESS], f[_EXCESS2], np.abs(ev.z), inv, calm)
        if self._steps % _REFRESH_EVERY == 0:
            _set_tail(f, slice(None), tail_params(f[_EXC], f[_EXCESS], f[_EXCESS2], n))
        else:
            young = np.flatnonzero(n < _YOUNG)
            if len(young):
                # Rows arrive in order, so young rows are usually one run: a slice then
                # refreshes the same rows without gathering and scattering copies.
                lo, hi = int(young[0]), int(young[-1]) + 1
                cols = slice(lo, hi) if hi - lo == len(young) else young
                _set_tail(f, cols, tail_params(
                    f[_EXC, cols], f[_EXCESS, cols], f[_EXCESS2, cols], n[cols]))
        mu += mu_step
        slow += a_slow * _clip(xs - slow, -lim[2], lim[2])
        # Long-run volatility (step-to-step change, clipped, slow): the floor's yardstick.
        # Bursts teach it (their edges are big steps), a smooth leak or a daily swing
        # does not. The variance starts from zero and learns at floor_alpha only, so the
        # floor earns its weight over ~1 / floor_alpha samples.
        step = np.where(n > 0, (xs - f[12]) * _SQRT_HALF, 0.0)
        g_lim = np.where((n < p.warmup) | (f[13] <= 0.0), np.inf, _G_CLIP * np.sqrt(f[13]))
        step_c = _clip(step, -g_lim, g_lim)
        f[13] += np.where(first, 0.0, p.floor_alpha * vf) * (step_c * step_c - f[13])
        f[12] = np.where(valid, xs, f[12])
        # First point of a series: seed every level with it.
        seed = first & valid
        if seed.any():
            mu[seed] = xs[seed]
            fast[seed] = xs[seed]
            slow[seed] = xs[seed]
        n += normal
        # A row that adopted a shift counts samples until the shift is settled history.
        shifted[:] = np.where(shifted > 0, shifted + valid, 0)
        settled = shifted > _SHIFT_MEMORY * p.adopt_after
        if settled.any():
            shifted[settled] = 0
        # Persistent anomalies become the new normal.
        streak[:] = np.where(anomalous, streak + 1, np.where(valid, 0, streak))
        adopt = streak >= p.adopt_after
        self.adopted = np.flatnonzero(adopt)
        if adopt.any():
            shifted[adopt] = 1
            mu[adopt] = fast[adopt]
            slow[adopt] = fast[adopt]
            streak[adopt] = 0
        self.skipped += int(n_rows - np.count_nonzero(valid))

    def adopt(self, rows: npt.NDArray[np.intp], level: F64) -> None:
        """Rows ``rows`` (mid-anomaly) take ``level`` as their new normal now."""
        f = self._f
        self._i[2, rows] = 1
        f[0, rows] = level
        f[1, rows] = level
        f[2, rows] = level
        self._i[1, rows] = 0

    def recentre(self, local: npt.NDArray[np.intp]) -> F64:
        """Move the levels of block rows ``local`` (of the last learnt block) to 0.

        Returns the offsets removed (the adopted levels), for a profile to take.
        """
        rows = local + self._block_start
        offset: F64 = self._f[0, rows].copy()
        self._f[0:3, rows] -= offset
        return offset

    def settled(self, rows: slice) -> Bool:
        """Rows that have not adopted a new level recently (a shift that may still revert)."""
        out: Bool = self._i[2, rows] == 0
        return out

    def streaks(self) -> I64:
        """Consecutive anomalous samples per row (a copy)."""
        out: I64 = self._i[1, : self.size].copy()
        return out

    def step(self, values: F64) -> Evidence:
        """Score every row, then learn it, block by block (cache-sized row ranges)."""
        if len(values) != self.size:
            raise ValueError(f"expected {self.size} values, got {len(values)}")
        self.begin_step()
        parts = []
        x = np.asarray(values, dtype=np.float64)
        for rows in blocks(self.size):
            xb = x[rows]
            ev = self.score(xb, rows)
            self.learn(xb, ev, None, rows)
            parts.append(ev)
        return concat(parts)


# Rows per block: large enough that numpy's per-call overhead is small against the work
# (16,384 scored ~8% faster than 8,192 on the daemon path), small enough to stay in cache.
BLOCK = 16384
# Values beyond this magnitude are treated like inf: skipped, so squares cannot overflow.
MAX_ABS = 1e100
_Z_MAX = 1e12


def usable(x: F64) -> Bool:
    """Rows whose value can be scored and learnt (finite and of sane magnitude).

    >>> usable(np.array([1.0, np.nan, np.inf, 1e200])).tolist()
    [True, False, False, False]
    """
    with np.errstate(invalid="ignore"):
        out: Bool = np.abs(x) <= MAX_ABS
    return out



def blocks(size: int, block: int = BLOCK) -> list[slice]:
    """Row ranges of at most ``block`` rows covering ``size`` rows (at least one).

    >>> blocks(20000, 8192)
    [slice(0, 8192, None), slice(8192, 16384, None), slice(16384, 20000, None)]
    """
    return [slice(lo, min(lo + block, size)) for lo in range(0, max(size, 1), block)]


def concat(parts: list[Evidence]) -> Evidence:
    """One Evidence from block Evidences, in row order."""
    if len(parts) == 1:
        return parts[0]
    episodes: dict[str, npt.NDArray[np.generic]] = {}
    if parts[0].phase is not None:
        for name in ("phase", "start", "since", "peak"):
            episodes[name] = np.concatenate([getattr(e, name) for e in parts])
    return Evidence(
        score=np.concatenate([e.score for e in parts]),
        raw=np.concatenate([e.raw for e in parts]),
        expected=np.concatenate([e.expected for e in parts]),
        lower=np.concatenate([e.lower for e in parts]),
        upper=np.concatenate([e.upper for e in parts]),
        z=np.concatenate([e.z for e in parts], axis=1),
        warm=np.concatenate([e.warm for e in parts]),
        valid=np.concatenate([e.valid for e in parts]),
        kind=np.concatenate([e.kind for e in parts]),
        **episodes,  # type: ignore[arg-type]
    )


def _confirmed(e: F64, from_slow: F64, spread: F64) -> F64:
    """Deviations with each shift claim capped by what the current sample confirms.

    The level (fast level vs baseline) and trend (fast vs slow level) statistics claim
    that the series now sits elsewhere; the sample at hand must agree, on the same side,
    and confirms only what it deviates beyond its ordinary noise (``_CONFIRM_SLACK``
    spreads). Right after a spike, or after a fault has ended, the fast level still
    carries it while the values are back to normal: that echo is no shift (it scored as
    one, and after a recurring spike the recurring-anomaly memory had discounted, as an
    anomaly of its own). During a real shift the samples sit beyond the lagging fast
    level, so the claim stands.

    >>> e = np.array([[0.0, 5.0], [2.0, 2.0], [2.0, 2.0]])
    >>> _confirmed(e, np.array([0.0, 5.0]), np.array([0.5, 0.5])).tolist()
    [[0.0, 5.0], [0.0, 2.0], [0.0, 2.0]]
    """
    out = e.copy()
    here = np.empty((2, e.shape[1]))
    here[0] = e[0]
    here[1] = from_slow
    slack = _CONFIRM_SLACK * spread
    # Shrunk toward 0 by the slack: h - clip(h, -slack, slack) is sign(h) max(|h| - slack, 0).
    here -= _clip(here, -slack, slack)
    _clip(e[1:], np.minimum(here, 0.0), np.maximum(here, 0.0), out=out[1:])
    return out


def _clip(a: F64, lo: F64, hi: F64, out: F64 | None = None) -> F64:
    """``np.clip`` without its wrapper's overhead (same values, NaN kept)."""
    res: F64 = np.maximum(a, lo, out=out)
    np.minimum(res, hi, out=res)
    return res


def _set_tail(f: F64, cols: slice | npt.NDArray[np.intp], tail: Tail) -> None:
    """Store derived tail parameters for columns ``cols`` of the float state ``f``."""
    f[_LRATE, cols] = tail.lrate
    f[_KX, cols] = tail.kx
    f[_LBODY, cols] = tail.lbody
    f[_IXI, cols] = tail.ixi


def _floor(f: F64, p: Params) -> F64:
    """Per-statistic spread floors (3 x rows)."""
    base = p.min_rel_scale * np.abs(f[0]) + 1e-12
    out: F64 = base + p.floor_share * _FLOOR_SHAPE * np.sqrt(f[13])
    return out


def _classify(a: F64, raw: F64, floor: float) -> I64:
    """Kind code per row from |z|: 0 none, 1 spike, 2 level-shift, 3 trend."""
    kind = np.where(
        a[2] > 2.0 * a[1], 3, np.where(a[1] > a[0], 2, 1)
    ).astype(np.int64)
    return np.where(raw >= floor, kind, 0).astype(np.int64)
