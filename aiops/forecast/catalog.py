"""Forecasters by name, with defaults for a given step size (daily and weekly periods).

>>> f = make_forecaster("seasonal_naive_weekly", step=1800.0)
>>> f.period
336
>>> sorted(FORECASTERS)[:2]
['auto', 'holt_winters_additive']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiops.forecast.auto import AutoSelect
from aiops.forecast.base import VectorForecaster
from aiops.forecast.holt_winters import HoltWinters
from aiops.forecast.multi_seasonal import MultiSeasonal
from aiops.forecast.seasonal_naive import SeasonalNaive

DAY = 86400.0
WEEK = 7 * DAY


def periods(step: float) -> tuple[int, int]:
    """Daily and weekly periods in steps of ``step`` seconds.

    >>> periods(1800.0)
    (48, 336)
    """
    if step <= 0:
        raise ValueError("step must be positive")
    daily = max(2, round(DAY / step))
    return daily, daily * 7


def _sn_daily(step: float, **kw: Any) -> VectorForecaster:
    return SeasonalNaive(period=periods(step)[0], **kw)


def _sn_weekly(step: float, **kw: Any) -> VectorForecaster:
    return SeasonalNaive(period=periods(step)[1], **kw)


def _hw_add(step: float, **kw: Any) -> VectorForecaster:
    return HoltWinters(period=periods(step)[1], seasonal="additive", **kw)


def _hw_mult(step: float, **kw: Any) -> VectorForecaster:
    return HoltWinters(period=periods(step)[1], seasonal="multiplicative", **kw)


def _multi(step: float, **kw: Any) -> VectorForecaster:
    daily, weekly = periods(step)
    return MultiSeasonal(daily=daily, weekly=weekly, **kw)


def _multi_fast(step: float, **kw: Any) -> VectorForecaster:
    daily, weekly = periods(step)
    return MultiSeasonal(daily=daily, weekly=weekly, alpha=0.4, phi=0.95, **kw)


def _auto(step: float, *, select_horizon: int = 10, **kw: Any) -> VectorForecaster:
    # Only the selector's own band is used, so only it adapts its band levels.
    ckw = {k: v for k, v in kw.items() if not k.startswith("adapt_")} | {"adapt_rate": 0.0}
    cands = [
        _sn_weekly(step, **ckw),
        _sn_daily(step, **ckw),
        _hw_add(step, **ckw),
        _hw_mult(step, **ckw),
        _multi(step, **ckw),
        _multi_fast(step, **ckw),
    ]
    own = {k: v for k, v in kw.items() if k != "n_series"}
    return AutoSelect(
        candidates=cands, select_horizon=min(select_horizon, kw.get("max_horizon", 16)), **own
    )


FORECASTERS: dict[str, Callable[..., VectorForecaster]] = {
    "seasonal_naive_daily": _sn_daily,
    "seasonal_naive_weekly": _sn_weekly,
    "holt_winters_additive": _hw_add,
    "holt_winters_multiplicative": _hw_mult,
    "multi_seasonal": _multi,
    "multi_seasonal_fast": _multi_fast,
    "auto": _auto,
}


def make_forecaster(name: str, *, step: float, **kw: Any) -> VectorForecaster:
    """Build the forecaster ``name`` for series sampled every ``step`` seconds."""
    try:
        factory = FORECASTERS[name]
    except KeyError:
        raise ValueError(
            f"unknown forecaster {name!r}; choose from {sorted(FORECASTERS)}"
        ) from None
    return factory(step, **kw)
