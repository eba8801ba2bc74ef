"""Forecast quality on the shared NYC taxi trace, and the accuracy helpers."""

from __future__ import annotations

import numpy as np

from aiops.forecast.accuracy import backtest_forecasts, mase, score, smape
from aiops.forecast.catalog import make_forecaster
from tests.paths import SHARED

TRACE = SHARED / "data" / "traces" / "nyc_taxi.csv"


def nyc() -> np.ndarray:
    return np.loadtxt(TRACE, delimiter=",", skiprows=1, usecols=1, dtype=np.float64)


def test_mase_and_smape_of_perfect_and_naive_forecasts() -> None:
    """MASE is 0 for a perfect forecast and 1 for the seasonal naive itself."""
    y = np.sin(np.arange(200) / 3.0) + np.arange(200) / 50.0
    assert mase(y[10:], y[10:], y[10:], season=10) == 0.0
    assert abs(mase(y[10:], y[:-10], y, season=10) - 1.0) < 0.1
    assert smape(y[10:] + 5, y[10:] + 5) == 0.0


def test_multi_seasonal_meets_mase_target_on_nyc_taxi() -> None:
    """Multi-seasonal MASE at h=10 on nyc_taxi is <= 0.5 and beats weekly seasonal naive."""
    y = nyc()
    scores = {}
    for name in ("multi_seasonal", "seasonal_naive_weekly"):
        fc, up = backtest_forecasts(make_forecaster(name, step=1800.0), y, (1, 10))
        scores[name] = score(name, y, fc, up, (1, 10), season=48, warmup=672)
    ms, sn = scores["multi_seasonal"], scores["seasonal_naive_weekly"]
    assert ms.mase[-1] <= 0.5
    assert ms.mase[-1] < 0.9 * sn.mase[-1]
    # The 0.9 band from out-of-sample residuals covers roughly 90% of points.
    assert 0.85 <= ms.coverage <= 0.95
