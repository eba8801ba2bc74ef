"""The forecaster protocol and the vectorized base every forecaster builds on.

A forecaster holds state for ``n_series`` series that advance in lockstep, one control
step per call. ``learn_many(ys)`` takes one value per series (NaN marks a gap: the step
advances, nothing is learnt, the gap is counted); ``learn_one(y)`` is the single-series
form. After each step the base stores the forecast for horizons ``1..max_horizon`` so
that, when the real value arrives, the out-of-sample error at every horizon is known:
those residuals give prediction intervals and let the auto selector compare models.
Memory is bounded: a ring of ``max_horizon`` forecasts and ``residual_window`` residuals.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from aiops.forecast.intervals import ResidualWindow

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@runtime_checkable
class Forecaster(Protocol):
    """One online forecaster of one series: learn a point, forecast the next ones."""

    def learn_one(self, y: float) -> None: ...

    def forecast(self, horizon: int) -> FloatArray: ...

    def interval(self, horizon: int, quantile: float) -> tuple[FloatArray, FloatArray]: ...

    def snapshot(self) -> bytes: ...

    def restore(self, blob: bytes) -> None: ...


class SnapshotMismatch(ValueError):
    """A snapshot was taken from a forecaster with a different configuration."""


class VectorForecaster(ABC):
    """Shared machinery: lockstep steps, gap counting, residual intervals, snapshots.

    Subclasses implement :meth:`_update` (learn one step, ``ok`` masks the valid
    series) and :meth:`_predict` (point forecasts, shape ``(n_series, horizon)``).
    """

    name: ClassVar[str] = "base"

    def __init__(
        self,
        *,
        n_series: int = 1,
        max_horizon: int = 16,
        residual_window: int = 672,
        relative_residuals: bool = True,
    ) -> None:
        if n_series < 1 or max_horizon < 1 or residual_window < 2:
            raise ValueError("n_series, max_horizon >= 1 and residual_window >= 2 required")
        self.n_series = n_series
        self.max_horizon = max_horizon
        self.residual_window = residual_window
        self.relative_residuals = relative_residuals
        self.steps = 0
        self.seen = np.zeros(n_series, dtype=np.int64)
        self.skipped = np.zeros(n_series, dtype=np.int64)
        # _ring[k % H, i, h-1]: forecast made when ``steps == k`` (after learning point
        # k-1) of point k+h-1, i.e. ``h`` steps ahead.
        self._ring = np.full((max_horizon, n_series, max_horizon), np.nan)
        self._hs = np.arange(max_horizon)
        self.residuals = ResidualWindow(
            n_series=n_series, max_horizon=max_horizon, window=residual_window
        )

    # ---- configuration identity -------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Constructor arguments that define this forecaster (hashed into snapshots)."""
        return {
            "name": self.name,
            "n_series": self.n_series,
            "max_horizon": self.max_horizon,
            "residual_window": self.residual_window,
            "relative_residuals": self.relative_residuals,
        }

    def config_hash(self) -> str:
        """A short stable digest of :meth:`config`."""
        text = json.dumps(self.config(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ---- learning ---------------------------------------------------------------
    def learn_many(self, ys: FloatArray | list[float]) -> None:
        """Learn one step of every series; NaN/inf values are gaps, skipped and counted."""
        y = np.asarray(ys, dtype=np.float64).reshape(self.n_series)
        ok = np.isfinite(y)
        self.seen += ok
        self.skipped += ~ok
        hz = self.max_horizon
        hs = self._hs
        past = self._ring[(self.steps - hs) % hz, :, hs]  # (H, n): made h steps ago
        err = y[None, :] - past
        if self.relative_residuals:
            err = err / np.maximum(np.abs(past), 1e-9)
        self.residuals.push(err)
        self._update(np.where(ok, y, 0.0), ok)
        self.steps += 1
        self._ring[self.steps % hz] = self._predict(hz)

    def learn_one(self, y: float) -> None:
        """Learn the next value of a single-series forecaster."""
        self.learn_many([y])

    # ---- forecasting ------------------------------------------------------------
    def forecast_many(self, horizon: int) -> FloatArray:
        """Point forecasts for steps ``1..horizon`` ahead, shape ``(n_series, horizon)``."""
        if horizon < 1:
            raise ValueError("horizon must be >= 1")
        if horizon <= self.max_horizon:
            ring: FloatArray = self._ring[self.steps % self.max_horizon]
            return ring[:, :horizon].copy()
        return self._predict(horizon)

    def forecast(self, horizon: int) -> FloatArray:
        """Point forecasts of series 0 for steps ``1..horizon`` ahead."""
        out: FloatArray = self.forecast_many(horizon)[0]
        return out

    def interval_many(self, horizon: int, quantile: float) -> tuple[FloatArray, FloatArray]:
        """Central prediction band: lower/upper at ``1-quantile``/``quantile``, per horizon.

        Built from this model's own out-of-sample residuals at each horizon; horizons
        beyond ``max_horizon`` reuse the residuals of ``max_horizon``.
        """
        if not 0.0 < quantile < 1.0:
            raise ValueError("quantile must be in (0, 1)")
        point = self.forecast_many(horizon)
        hs = np.minimum(np.arange(1, horizon + 1), self.max_horizon)
        lo_q, hi_q = self.residuals.quantiles(
            min(1.0 - quantile, quantile), max(quantile, 1 - quantile)
        )
        lo_r, hi_r = lo_q[:, hs - 1], hi_q[:, hs - 1]
        scale = np.abs(point) if self.relative_residuals else np.ones_like(point)
        lower = point + np.nan_to_num(lo_r) * scale
        upper = point + np.nan_to_num(hi_r) * scale
        return np.minimum(lower, point), np.maximum(upper, point)

    def interval(self, horizon: int, quantile: float) -> tuple[FloatArray, FloatArray]:
        """Prediction band of series 0 for steps ``1..horizon`` ahead."""
        lower, upper = self.interval_many(horizon, quantile)
        return lower[0], upper[0]

    # ---- state ------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """Pickle of the full state, tagged with the configuration hash."""
        return pickle.dumps({"config_hash": self.config_hash(), "state": self.__dict__})

    def restore(self, blob: bytes) -> None:
        """Load a :meth:`snapshot`; refuses one taken under another configuration."""
        data = pickle.loads(blob)  # noqa: S301 - our own snapshots, like the detectors'
        if data.get("config_hash") != self.config_hash():
            raise SnapshotMismatch(
                f"snapshot config {data.get('config_hash')} != {self.config_hash()}"
            )
        self.__dict__.update(data["state"])

    def state_nbytes(self) -> int:
        """Bytes held in numpy state: constant in the number of points learnt."""
        return sum(v.nbytes for v in _arrays(self.__dict__))

    # ---- subclass hooks ---------------------------------------------------------
    @abstractmethod
    def _update(self, y: FloatArray, ok: BoolArray) -> None:
        """Learn point ``self.steps`` for series where ``ok``; ``y`` is 0 elsewhere."""

    @abstractmethod
    def _predict(self, horizon: int) -> FloatArray:
        """Point forecasts of points ``steps .. steps+horizon-1`` (the next ``horizon``)."""


def _arrays(obj: object) -> list[NDArray[Any]]:
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        return [a for v in obj.values() for a in _arrays(v)]
    if isinstance(obj, list | tuple):
        return [a for v in obj for a in _arrays(v)]
    if hasattr(obj, "__dict__"):
        return _arrays(vars(obj))
    return []
