"""Seasonal naive forecaster: tomorrow (or next week) looks like the same slot last time.

The baseline every other model must beat. A gap leaves the slot's previous value in
place; until a slot has been seen the last observed value stands in.

>>> f = SeasonalNaive(period=3)
>>> for y in (1.0, 2.0, 3.0, 4.0):
...     f.learn_one(y)
>>> f.forecast(4).tolist()
[2.0, 3.0, 4.0, 2.0]
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from aiops.forecast.base import BoolArray, FloatArray, VectorForecaster


class SeasonalNaive(VectorForecaster):
    """Repeat the last observed season (``period`` steps: 48 = daily, 336 = weekly at 30 min)."""

    name: ClassVar[str] = "seasonal_naive"
    STATE: ClassVar[tuple[str, ...]] = ("_season", "_last")

    def __init__(self, *, period: int, **kw: Any) -> None:
        if period < 1:
            raise ValueError("period must be >= 1")
        self.period = period
        super().__init__(**kw)
        self._season = np.full((period, self.n_series), np.nan)
        self._last = np.full(self.n_series, np.nan)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "period": self.period}

    def _update(self, y: FloatArray, ok: BoolArray) -> None:
        slot = self.steps % self.period
        self._season[slot] = np.where(ok, y, self._season[slot])
        self._last = np.where(ok, y, self._last)

    def _predict(self, horizon: int) -> FloatArray:
        slots = (self.steps + np.arange(horizon)) % self.period
        vals = self._season[slots].T  # (n, horizon)
        return np.where(np.isfinite(vals), vals, self._last[:, None])
