"""Multi-seasonal forecaster: weekly profile x daily profile x damped level correction.

Multiplicative, in log space, vectorized across series: the profiles model ``log(y +
offset x level)``, where the offset (a tenth of the series' running mean by default)
keeps near-zero night counts from dominating the log errors. The weekly profile
(``weekly`` slots) carries the shape of a week; a daily profile (``daily`` slots) adapts
the shape of every day seven times faster; the level correction ``c`` is a damped
running mean of the log error, so a day busier than its profile lifts the next hours
(decaying by ``phi`` per step ahead). After ``unclipped_weeks`` weeks, profile updates
are clipped at ``clip`` (in log units) so one anomaly (a marathon, a blizzard) cannot
rewrite a slot for a whole week; before that they are not, so a holiday in the first
week is unlearnt fast.

>>> f = MultiSeasonal(daily=2, weekly=4)
>>> for y in [10.0, 20.0, 10.0, 20.0] * 8:
...     f.learn_one(y)
>>> [round(v, 1) for v in f.forecast(4).tolist()]
[10.0, 20.0, 10.0, 20.0]
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from aiops.forecast.base import BoolArray, FloatArray, VectorForecaster

_FLOOR = 1e-6


class MultiSeasonal(VectorForecaster):
    """Weekly and daily multiplicative profiles with a damped level correction."""

    name: ClassVar[str] = "multi_seasonal"
    STATE: ClassVar[tuple[str, ...]] = ("_week", "_day", "_corr", "_last")

    def __init__(
        self,
        *,
        daily: int = 48,
        weekly: int = 336,
        gamma_weekly: float = 0.5,
        gamma_daily: float = 0.1,
        alpha: float = 0.05,
        phi: float = 0.97,
        clip: float = 0.2,
        unclipped_weeks: int = 3,
        offset: float = 0.1,
        **kw: Any,
    ) -> None:
        if daily < 1 or weekly < daily or weekly % daily:
            raise ValueError("weekly must be a positive multiple of daily")
        for nm, v in (
            ("gamma_weekly", gamma_weekly),
            ("gamma_daily", gamma_daily),
            ("alpha", alpha),
            ("phi", phi),
        ):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{nm} must be in [0, 1]")
        self.daily, self.weekly = daily, weekly
        self.gamma_weekly, self.gamma_daily = gamma_weekly, gamma_daily
        self.alpha, self.phi, self.clip = alpha, phi, clip
        self.unclipped_weeks = unclipped_weeks
        if offset < 0:
            raise ValueError("offset must be >= 0")
        self.offset = offset
        super().__init__(**kw)
        n = self.n_series
        self._week = np.full((weekly, n), np.nan)  # log profile
        self._day = np.zeros((daily, n))  # log adjustment
        self._corr = np.zeros(n)
        self._last = np.full(n, np.nan)
        self._offset_cache: dict[int, tuple[NDArray[np.int64], FloatArray]] = {}

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "daily": self.daily,
            "weekly": self.weekly,
            "gamma_weekly": self.gamma_weekly,
            "gamma_daily": self.gamma_daily,
            "alpha": self.alpha,
            "phi": self.phi,
            "clip": self.clip,
            "unclipped_weeks": self.unclipped_weeks,
            "offset": self.offset,
        }

    def _update(self, y: FloatArray, ok: BoolArray) -> None:
        sw, sd = self.steps % self.weekly, self.steps % self.daily
        # The first weeks learn unclipped, so a holiday in week one is unlearnt quickly.
        clip = self.clip if self.steps >= self.unclipped_weeks * self.weekly else np.inf
        logy = np.log(np.maximum(y + self._shift(), _FLOOR))
        prof, day = self._week[sw], self._day[sd]
        if ok.all() and np.isfinite(prof).all():  # fast path: nothing to mask
            self._last = y
            r = logy - (prof + day)
            c = self.phi * self._corr * (1.0 - self.alpha) + self.alpha * r
            dev = np.minimum(np.maximum(r - c, -clip), clip)
            self._corr = c
            self._week[sw] = prof + self.gamma_weekly * dev
            self._day[sd] = day + self.gamma_daily * dev
            return
        self._last = np.where(ok, y, self._last)
        known = np.isfinite(prof)
        # First sighting of a slot: take the value as the profile.
        self._week[sw] = np.where(ok & ~known, logy - day, prof)
        learn = ok & known
        r = np.where(learn, logy - (prof + day), 0.0)
        c = self._corr
        new_c = self.phi * c * (1.0 - self.alpha) + self.alpha * r
        dev = np.minimum(np.maximum(r - new_c, -clip), clip)
        self._corr = np.where(learn, new_c, c)
        self._week[sw] = np.where(learn, prof + self.gamma_weekly * dev, self._week[sw])
        self._day[sd] = np.where(learn, day + self.gamma_daily * dev, day)

    def _shift(self) -> FloatArray:
        """Added before taking logs: ``offset`` x the series' running mean level."""
        shift: FloatArray = self.offset * np.abs(self.level)
        return shift

    def _offsets(self, horizon: int) -> tuple[NDArray[np.int64], FloatArray]:
        """Step offsets and damping factors; cached for ``max_horizon`` (every step)."""
        hit = self._offset_cache.get(horizon)
        if hit is not None:
            return hit
        ar: NDArray[np.int64] = np.arange(horizon, dtype=np.int64)
        damp: FloatArray = np.power(self.phi, ar + 1.0)
        if horizon == self.max_horizon:
            self._offset_cache[horizon] = (ar, damp)
        return ar, damp

    def _predict(self, horizon: int) -> FloatArray:
        ar, damp = self._offsets(horizon)
        idx = self.steps + ar
        base = self._week[idx % self.weekly] + self._day[idx % self.daily]  # (horizon, n)
        point = np.maximum(
            np.exp(base.T + self._corr[:, None] * damp[None, :]) - self._shift()[:, None], 0.0
        )
        if np.isfinite(point).all():
            return point
        return np.where(np.isfinite(point), point, self._last[:, None])
