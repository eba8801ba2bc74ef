"""Tail calibration: how surprising a z-score is, as a probability and as a score.

Within ``|z| <= 3`` the tail probability is the two-sided Gaussian one (a table lookup,
no special function per point). Beyond 3 it is a generalised Pareto tail (peaks over
threshold) with a learnt exceedance rate, mean excess and shape, each shrunk toward a
Gaussian-like exponential prior, so heavy-tailed or discrete series (error counts,
lognormal latencies) are not judged by a Gaussian tail they do not have; the body is
rescaled to meet the learnt tail at 3. The shape ``xi`` comes from the method of moments
(mean and second moment of the excess: ``xi = (1 - mean**2 / variance) / 2``), kept in
``[XI_MIN, XI_MAX]``; at ``XI_MIN`` the tail is, to six digits, the exponential one. The
evidence of a row is the smallest of its statistics' tail probabilities times three
(Bonferroni), in decades (``-log10 p``), mapped to a score in [0, 1] by :func:`to_score`.

Arrays are ``(statistics, rows)``: one row of tail state per statistic, the last one the
trend, whose tail is capped at the prior (a slow ramp must not teach it to shrug).

>>> zeros = np.zeros((3, 1))
>>> tail = tail_params(zeros, zeros, zeros, np.zeros(1, np.int64))
>>> logp = tail_logp(np.array([[0.0], [2.0], [4.0]]), *tail)
>>> [round(float(v), 3) for v in logp[:, 0]]
[0.0, -3.09, -7.915]
>>> [round(float(v), 3) for v in evidence_score(logp, 8.0)]
[0.37]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_LN10 = float(np.log(10.0))
_LOG3 = float(np.log(3.0))
_LOG2 = float(np.log(2.0))
# Peaks over threshold: beyond |z| = Q the tail is generalised Pareto with a learnt rate
# of exceedance, mean excess and shape (prior: Gaussian-like, exponential).
Q = 3.0
_P_Q = 0.0026997960632601866  # P(|Z| > 3)
_M0 = 0.5  # prior mean excess over 3 (a Gaussian's is about 0.3: conservative)
_PRIOR_N = 200.0  # pseudo-points behind the exceedance prior
# Pseudo-exceedances behind the mean-excess prior and behind the shape's (0: exponential).
_PRIOR_X = 3.0
TAIL_WINDOW = 2000.0  # effective memory of the tail estimates, in points
_TREND_RATE_MAX = _P_Q
_TREND_EXCESS_MAX = _M0
# The shape's range: XI_MIN is the exponential tail (a positive floor keeps 1 / xi
# finite); beyond 0.5 the excess has no variance and the moment estimate means nothing.
XI_MIN = 1e-6
XI_MAX = 0.5


class Tail(NamedTuple):
    """Derived tail parameters per statistic and row, cached between refreshes.

    ``lrate`` is the log exceedance rate, ``kx`` the shape over the scale
    (``xi / sigma``), ``ixi`` one over the shape and ``lbody`` the body's log offset.
    """

    lrate: F64
    kx: F64
    ixi: F64
    lbody: F64


def _prior() -> tuple[float, float, float]:
    """The derived parameters of a row that has learnt nothing (the prior's)."""
    sigma = _M0 * (1.0 - XI_MIN)
    return float(np.log(_P_Q)), XI_MIN / sigma, 1.0 / XI_MIN


PRIOR_LOG_RATE, PRIOR_KX, PRIOR_IXI = _prior()

# log(2 Q(a)) on [0, 3] at 0.001 steps: the Gaussian body without a special function.
# The last entry is Q's: ``take(mode="clip")`` maps every |z| beyond Q onto it.
_GRID = 1000.0
_LOG2Q = _LOG2 + log_ndtr(-np.linspace(0.0, Q, int(Q * _GRID) + 1))


def beyond(az: F64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """``np.nonzero(az > Q)`` of a 2-D array, through the flat index (several times
    faster than 2-D ``nonzero``; the exceedances are few).

    >>> [v.tolist() for v in beyond(np.array([[0.0, 4.0], [5.0, 1.0]]))]
    [[0, 1], [1, 0]]
    """
    flat = np.flatnonzero(az > Q)
    rows, cols = np.divmod(flat, az.shape[1])
    return rows, cols


def tail_logp(az: F64, lrate: F64, kx: F64, ixi: F64, lbody: F64) -> F64:
    """Log tail probability of ``|z|`` from cached tail parameters (see :func:`tail_params`).

    The body's table ends at ``Q``, where it equals ``lrate``; only the few points beyond
    ``Q`` pay for the Pareto term, ``log1p(kx * (|z| - Q)) * ixi``.
    """
    # Capped before the cast (a huge finite |z| would overflow the index); the cap and
    # everything beyond it land on the table's last entry, Q's.
    idx = (np.minimum(az, Q + 1.0) * _GRID + 0.5).astype(np.intp)
    out: F64 = _LOG2Q.take(idx, mode="clip")
    out += lbody
    far = beyond(az)
    if len(far[0]):
        out[far] -= np.log1p(kx[far] * (az[far] - Q)) * ixi[far]
    np.minimum(out, 0.0, out=out)
    return out


def tail_params(exc: F64, excess: F64, excess2: F64, n: I64) -> Tail:
    """Derived tail parameters from the tail state.

    ``exc``, ``excess`` and ``excess2`` are the learnt exceedance share and the first and
    second moments of the excess over ``Q`` (per point, see :func:`learn_tail`); ``n`` is
    how many points each row has learnt.
    """
    w = np.minimum(n, TAIL_WINDOW)
    rate = (w * exc + _PRIOR_N * _P_Q) / (w + _PRIOR_N)
    seen = w * exc
    mean_excess = (w * excess + _PRIOR_X * _M0) / (seen + _PRIOR_X)
    # The shape from the data's own moments (per exceedance: excess / exc and
    # excess2 / exc), xi = (1 - mean**2 / var) / 2, here without dividing by exc; then
    # shrunk toward 0 by how few exceedances back it (a moment estimate of a shape from
    # a handful of points is mostly noise; with none seen it is 0).
    sq = excess * excess
    e2 = excess2 * exc
    xi = 0.5 * (e2 - 2.0 * sq) / np.maximum(e2 - sq, 1e-300)
    xi *= seen / (seen + _PRIOR_X)
    np.clip(xi, XI_MIN, XI_MAX, out=xi)
    rate[2] = np.minimum(rate[2], _TREND_RATE_MAX)
    mean_excess[2] = np.minimum(mean_excess[2], _TREND_EXCESS_MAX)
    xi[2] = XI_MIN
    lrate = np.log(rate)
    sigma = mean_excess * (1.0 - xi)
    return Tail(lrate=lrate, kx=xi / sigma, ixi=1.0 / xi, lbody=lrate - np.log(_P_Q))


def learn_tail(exc: F64, excess: F64, excess2: F64, az: F64, inv: F64, weight: F64) -> None:
    """Move the tail state toward this step's ``|z|``, in place.

    Each row learns at ``max(1 / TAIL_WINDOW, inv)`` (``inv`` is one over its count of
    learnt points, so young rows learn fast) times ``weight`` (0 for points that must
    not teach the tail).
    """
    a_tail = np.maximum(1.0 / TAIL_WINDOW, inv) * weight
    # x += a (v - x) is x (1 - a) + a v, and v is 0 except at the few exceedances.
    keep = 1.0 - a_tail
    exc *= keep
    excess *= keep
    excess2 *= keep
    far = beyond(az)
    if len(far[0]):
        a_far = a_tail[far[1]]
        over = az[far] - Q
        exc[far] += a_far
        excess[far] += a_far * over
        excess2[far] += a_far * over * over


def exponential_excess2(exc: F64, excess: F64) -> F64:
    """The second moment of the excess an exponential tail with this state would have.

    Used to migrate tail state saved before the shape was learnt: the restored rows start
    exactly where they were (an exponential tail) and learn their shape from there.

    >>> exponential_excess2(np.array([0.01, 0.0]), np.array([0.005, 0.0])).tolist()
    [0.005, 0.0]
    """
    out: F64 = 2.0 * excess * excess / np.maximum(exc, 1e-300)
    return out


def evidence_score(logp: F64, decades: float) -> F64:
    """Score per row from its statistics' log tail probabilities (Bonferroni over them)."""
    return to_score(-(logp.min(axis=0) + _LOG3) / _LN10, decades)


def to_score(decades: F64, scale: float) -> F64:
    """Map evidence in decades (-log10 p) to [0, 1]: linear to 0.9, then saturating to 1.

    Monotone, so ranking by score is ranking by evidence even far beyond 0.9.

    >>> [round(float(v), 3) for v in to_score(np.array([-1.0, 4.0, 7.2, 8.0, 40.0]), 8.0)]
    [0.0, 0.5, 0.9, 0.91, 0.998]
    """
    out: F64 = np.maximum(decades, 0.0) / scale
    high = out > 0.9
    if high.any():
        out[high] = 0.9 + 0.1 * (1.0 - np.exp(0.9 - out[high]))
    return out


def to_decades(score: F64, scale: float) -> F64:
    """The inverse of :func:`to_score` (scores of 1 map to a large finite evidence).

    >>> [round(float(v), 3) for v in to_decades(to_score(np.array([0.0, 4.0, 8.0]), 8.0), 8.0)]
    [0.0, 4.0, 8.0]
    """
    s = np.clip(np.asarray(score, dtype=np.float64), 0.0, 1.0)
    high = s > 0.9
    out: F64 = s * scale
    if high.any():
        out[high] = scale * (0.9 - np.log(np.maximum(1.0 - (s[high] - 0.9) / 0.1, 1e-300)))
    return out
