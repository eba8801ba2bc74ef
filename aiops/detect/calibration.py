"""Tail calibration: how surprising a z-score is, as a probability and as a score.

Within ``|z| <= 3`` the tail probability is the two-sided Gaussian one (a table lookup,
no special function per point). Beyond 3 it is exponential (peaks over threshold) with a
learnt exceedance rate and mean excess, shrunk toward a Gaussian-like prior, so
heavy-tailed or discrete series (error counts) are not judged by a Gaussian tail they do
not have; the body is rescaled to meet the learnt tail at 3. The evidence of a row is
the smallest of its statistics' tail probabilities times three (Bonferroni), in decades
(``-log10 p``), mapped to a score in [0, 1] by :func:`to_score`.

Arrays are ``(statistics, rows)``: one row of tail state per statistic, the last one the
trend, whose tail is capped at the prior (a slow ramp must not teach it to shrug).

>>> lr, ime, lb = tail_params(np.zeros((3, 1)), np.zeros((3, 1)), np.zeros(1, np.int64))
>>> logp = tail_logp(np.array([[0.0], [2.0], [4.0]]), lr, ime, lb)
>>> [round(float(v), 3) for v in logp[:, 0]]
[0.0, -3.09, -7.915]
>>> [round(float(v), 3) for v in evidence_score(logp, 8.0)]
[0.37]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_LN10 = float(np.log(10.0))
_LOG3 = float(np.log(3.0))
_LOG2 = float(np.log(2.0))
# Peaks over threshold: beyond |z| = Q the tail is exponential with a learnt rate of
# exceedance and mean excess (prior: Gaussian-like).
Q = 3.0
_P_Q = 0.0026997960632601866  # P(|Z| > 3)
_M0 = 0.5  # prior mean excess over 3 (a Gaussian's is about 0.3: conservative)
_PRIOR_N = 200.0  # pseudo-points behind the exceedance prior
_PRIOR_X = 3.0  # pseudo-exceedances behind the mean-excess prior
TAIL_WINDOW = 2000.0  # effective memory of the tail estimates, in points
_TREND_RATE_MAX = _P_Q
_TREND_EXCESS_MAX = _M0
# The derived parameters of a series that has learnt nothing yet (the prior's).
PRIOR_LOG_RATE = float(np.log(_P_Q))
PRIOR_INV_EXCESS = 1.0 / _M0

# log(2 Q(a)) on [0, 3] at 0.001 steps: the Gaussian body without a special function.
_GRID = 1000.0
_LOG2Q = _LOG2 + log_ndtr(-np.arange(0.0, Q + 2.0 / _GRID, 1.0 / _GRID))


def tail_logp(az: F64, lrate: F64, ime: F64, lbody: F64) -> F64:
    """Log tail probability of ``|z|`` from cached tail parameters (see :func:`tail_params`)."""
    idx = np.minimum(az * _GRID + 0.5, Q * _GRID).astype(np.intp)
    body = _LOG2Q[idx]
    body += lbody
    tail = lrate - (az - Q) * ime
    out: F64 = np.where(az > Q, tail, body)
    np.minimum(out, 0.0, out=out)
    return out


def tail_params(exc: F64, excess: F64, n: I64) -> tuple[F64, F64, F64]:
    """Log exceedance rate, inverse mean excess and body offset from the tail state.

    ``exc`` and ``excess`` are the learnt exceedance share and mean excess over ``Q``
    (see :func:`learn_tail`); ``n`` is how many points each row has learnt.
    """
    w = np.minimum(np.maximum(n - 0.0, 0.0), TAIL_WINDOW)
    rate = (w * exc + _PRIOR_N * _P_Q) / (w + _PRIOR_N)
    mean_excess = (w * excess + _PRIOR_X * _M0) / (w * exc + _PRIOR_X)
    rate[2] = np.minimum(rate[2], _TREND_RATE_MAX)
    mean_excess[2] = np.minimum(mean_excess[2], _TREND_EXCESS_MAX)
    lrate = np.log(rate)
    return lrate, 1.0 / mean_excess, lrate - np.log(_P_Q)


def learn_tail(exc: F64, excess: F64, az: F64, inv: F64, weight: F64) -> None:
    """Move the tail state toward this step's ``|z|``, in place.

    Each row learns at ``max(1 / TAIL_WINDOW, inv)`` (``inv`` is one over its count of
    learnt points, so young rows learn fast) times ``weight`` (0 for points that must
    not teach the tail).
    """
    a_tail = np.maximum(1.0 / TAIL_WINDOW, inv) * weight
    exc += a_tail * ((az > Q) - exc)
    excess += a_tail * (np.maximum(az - Q, 0.0) - excess)


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
