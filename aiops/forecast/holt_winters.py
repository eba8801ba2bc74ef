"""Holt-Winters exponential smoothing (level, damped trend, one season), online.

Additive or multiplicative seasonality, error-correction form, vectorized across
series. The first season initialises level (its mean) and seasonal indices; until then
the last value is the forecast.

>>> f = HoltWinters(period=4, seasonal="additive", alpha=0.5, beta=0.0, gamma=0.5)
>>> for y in [10.0, 20.0, 10.0, 0.0] * 3:
...     f.learn_one(y)
>>> [round(v, 3) for v in f.forecast(4).tolist()]
[10.0, 20.0, 10.0, 0.0]
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from aiops.forecast.base import BoolArray, FloatArray, VectorForecaster

_EPS = 1e-9
# Multiplicative seasonal indices are kept in this range so a near-zero slot cannot
# blow up the level when divided into.
_S_MIN, _S_MAX = 0.05, 20.0


class HoltWinters(VectorForecaster):
    """Triple exponential smoothing with a damped trend (``phi``) and one seasonal period."""

    name: ClassVar[str] = "holt_winters"
    STATE: ClassVar[tuple[str, ...]] = ("_first", "_season", "_level", "_trend", "_last")

    def __init__(
        self,
        *,
        period: int,
        seasonal: Literal["additive", "multiplicative"] = "additive",
        alpha: float = 0.1,
        beta: float = 0.0,
        gamma: float = 0.5,
        phi: float = 0.9,
        **kw: Any,
    ) -> None:
        if period < 2:
            raise ValueError("period must be >= 2")
        for nm, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("phi", phi)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{nm} must be in [0, 1]")
        self.period, self.seasonal = period, seasonal
        self.alpha, self.beta, self.gamma, self.phi = alpha, beta, gamma, phi
        super().__init__(**kw)
        n = self.n_series
        self._first = np.full((period, n), np.nan)
        self._season = np.zeros((period, n)) if seasonal == "additive" else np.ones((period, n))
        self._level = np.full(n, np.nan)
        self._trend = np.zeros(n)
        self._last = np.full(n, np.nan)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "period": self.period,
            "seasonal": self.seasonal,
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
            "phi": self.phi,
        }

    @property
    def _mult(self) -> bool:
        return self.seasonal == "multiplicative"

    def _update(self, y: FloatArray, ok: BoolArray) -> None:
        slot = self.steps % self.period
        self._last = np.where(ok, y, self._last)
        if self.steps < self.period:
            self._first[slot] = np.where(ok, y, np.nan)
            if self.steps == self.period - 1:
                self._initialise()
            return
        lvl, tr, s = self._level, self._trend, self._season[slot]
        a, b, g, phi = self.alpha, self.beta, self.gamma, self.phi
        base = lvl + phi * tr
        if self._mult:
            new_l = a * y / s + (1 - a) * base
            new_l = np.maximum(new_l, _EPS)
            new_s = np.clip(g * y / new_l + (1 - g) * s, _S_MIN, _S_MAX)
        else:
            new_l = a * (y - s) + (1 - a) * base
            new_s = g * (y - new_l) + (1 - g) * s
        new_t = b * (new_l - lvl) + (1 - b) * phi * tr
        ready = ok & np.isfinite(lvl)
        self._level = np.where(ready, new_l, lvl)
        self._trend = np.where(ready, new_t, tr)
        self._season[slot] = np.where(ready, new_s, s)
        # A series with no valid point in its first season starts from its first value.
        late = ok & ~np.isfinite(lvl)
        self._level = np.where(late, y, self._level)

    def _initialise(self) -> None:
        with np.errstate(all="ignore"):
            lvl = np.nanmean(self._first, axis=0) if np.isfinite(self._first).any() else None
        if lvl is None:
            return
        self._level = lvl
        if self._mult:
            s = np.clip(self._first / np.maximum(lvl, _EPS), _S_MIN, _S_MAX)
            self._season = np.where(np.isfinite(s), s, 1.0)
        else:
            s = self._first - lvl
            self._season = np.where(np.isfinite(s), s, 0.0)

    def _predict(self, horizon: int) -> FloatArray:
        hs = np.arange(1, horizon + 1)
        damp: FloatArray = hs.astype(np.float64)
        if self.phi < 1.0:
            damp = self.phi * (1 - self.phi**damp) / (1 - self.phi)
        trend = self._level[:, None] + self._trend[:, None] * damp[None, :]
        slots = (self.steps + hs - 1) % self.period
        s = self._season[slots].T
        point = trend * s if self._mult else trend + s
        return np.where(np.isfinite(point), point, self._last[:, None])
