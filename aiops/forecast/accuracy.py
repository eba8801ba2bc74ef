"""Forecast accuracy: MASE and sMAPE of h-step-ahead forecasts, scored online.

MASE divides the mean absolute error by the mean absolute error of the in-sample
seasonal naive forecast (``y[t] - y[t-m]``, ``m`` = one day) over the same span, so
values below 1 beat "same time yesterday"; sMAPE is in percent (0..200).

>>> import numpy as np
>>> y = np.array([1.0, 2.0, 1.0, 2.0, 1.0, 3.0])
>>> round(mase(y[2:], np.array([1.0, 2.0, 1.0, 2.0]), y, season=2), 3)
1.0
>>> round(smape(np.array([1.0, 3.0]), np.array([1.0, 1.0])), 1)
50.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aiops.forecast.base import VectorForecaster

FloatArray = NDArray[np.float64]


def mase(actual: FloatArray, predicted: FloatArray, history: FloatArray, *, season: int) -> float:
    """Mean absolute scaled error against the seasonal naive MAE of ``history``."""
    scale = float(np.nanmean(np.abs(history[season:] - history[:-season])))
    err = float(np.nanmean(np.abs(actual - predicted)))
    return err / scale if scale > 0 else float("nan")


def smape(actual: FloatArray, predicted: FloatArray) -> float:
    """Symmetric mean absolute percentage error, in percent."""
    den = np.abs(actual) + np.abs(predicted)
    ok = den > 0
    return float(200.0 * np.mean(np.abs(actual - predicted)[ok] / den[ok]))


@dataclass(frozen=True, kw_only=True, slots=True)
class Accuracy:
    """Scores of one forecaster on one series, per horizon, after ``warmup`` points."""

    name: str
    horizons: tuple[int, ...]
    mase: tuple[float, ...]
    smape: tuple[float, ...]
    coverage: float


def backtest_forecasts(
    f: VectorForecaster, y: FloatArray, horizons: Sequence[int], *, quantile: float = 0.9
) -> tuple[FloatArray, FloatArray]:
    """Replay ``y`` through ``f``; return h-step forecasts ``(len(horizons), len(y))`` and
    the upper band at the largest horizon, both aligned to the point they predict."""
    n, hmax = len(y), max(horizons)
    out = np.full((len(horizons), n), np.nan)
    upper = np.full(n, np.nan)
    for t in range(n):
        f.learn_one(float(y[t]))
        fc = f.forecast(hmax)
        for i, h in enumerate(horizons):
            if t + h < n:
                out[i, t + h] = fc[h - 1]
        if t + hmax < n:
            upper[t + hmax] = f.interval(hmax, quantile)[1][hmax - 1]
    return out, upper


def score(
    name: str,
    y: FloatArray,
    forecasts: FloatArray,
    upper: FloatArray,
    horizons: Sequence[int],
    *,
    season: int,
    warmup: int,
) -> Accuracy:
    """Score aligned forecasts (from :func:`backtest_forecasts`) after ``warmup`` points."""
    act = y[warmup:]
    cov_ok = np.isfinite(upper[warmup:])
    coverage = float(np.mean(act[cov_ok] <= upper[warmup:][cov_ok])) if cov_ok.any() else 0.0
    return Accuracy(
        name=name,
        horizons=tuple(horizons),
        mase=tuple(
            mase(act, forecasts[i, warmup:], act, season=season) for i in range(len(horizons))
        ),
        smape=tuple(smape(act, forecasts[i, warmup:]) for i in range(len(horizons))),
        coverage=coverage,
    )
