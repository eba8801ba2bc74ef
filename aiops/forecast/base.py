"""The forecaster protocol and the vectorized base every forecaster builds on.

A forecaster holds state for ``n_series`` series that advance in lockstep, one control
step per call. ``learn_many(ys)`` takes one value per series (NaN marks a gap: the step
advances, nothing is learnt, the gap is counted); ``learn_one(y)`` is the single-series
form. After each step the base stores the forecast for horizons ``1..max_horizon`` so
that, when the real value arrives, the out-of-sample error at every horizon is known:
those residuals give prediction intervals and let the auto selector compare models.
Memory is bounded: a ring of ``max_horizon`` forecasts and ``residual_window`` residuals.

Relative residuals are divided by ``|forecast| + scale_floor x level`` (``level`` is the
series' running mean), so the tiny denominators of a quiet night cannot blow the band
of a busy hour up. State is numpy arrays only: :meth:`VectorForecaster.state` /
:meth:`~VectorForecaster.load_state` move it as named arrays and :meth:`snapshot` is an
``npz`` (no pickle), restored bit for bit.
"""

from __future__ import annotations

import hashlib
import io
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
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


_SNAPSHOT_FORMAT = 2
_LEVEL_FREE = 8  # points learnt before level steps are limited
_LEVEL_MAX = 0.999  # highest quantile level the adaptive band may reach


class VectorForecaster(ABC):
    """Shared machinery: lockstep steps, gap counting, residual intervals, snapshots.

    Subclasses implement :meth:`_update` (learn one step, ``ok`` masks the valid
    series) and :meth:`_predict` (point forecasts, shape ``(n_series, horizon)``), and
    list the attributes holding their learnt state in ``STATE``.
    """

    name: ClassVar[str] = "base"
    STATE: ClassVar[tuple[str, ...]] = ("steps", "seen", "skipped", "level", "shift", "_ring")

    def __init__(
        self,
        *,
        n_series: int = 1,
        max_horizon: int = 16,
        residual_window: int = 672,
        relative_residuals: bool = True,
        scale_floor: float = 0.1,
        adapt_rate: float = 0.005,
        adapt_quantile: float = 0.9,
        adapt_horizons: int | None = None,
    ) -> None:
        if n_series < 1 or max_horizon < 1 or residual_window < 2:
            raise ValueError("n_series, max_horizon >= 1 and residual_window >= 2 required")
        if scale_floor < 0 or adapt_rate < 0 or not 0.5 < adapt_quantile < 1:
            raise ValueError("need scale_floor, adapt_rate >= 0 and 0.5 < adapt_quantile < 1")
        self.adapt_rate = adapt_rate
        self.adapt_quantile = adapt_quantile
        self.adapt_horizons = min(max_horizon, adapt_horizons or max_horizon)
        self.n_series = n_series
        self.max_horizon = max_horizon
        self.residual_window = residual_window
        self.relative_residuals = relative_residuals
        self.scale_floor = scale_floor
        self.steps = 0
        self.seen = np.zeros(n_series, dtype=np.int64)
        self.skipped = np.zeros(n_series, dtype=np.int64)
        # Running mean of each series (window ``residual_window``): its typical level.
        self.level = np.zeros(n_series)
        # Adaptive conformal shift of the band's quantile level per series and horizon.
        self.shift = np.zeros((n_series, max_horizon))
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
            "scale_floor": self.scale_floor,
            "adapt_rate": self.adapt_rate,
            "adapt_quantile": self.adapt_quantile,
            "adapt_horizons": self.adapt_horizons,
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
            err = err / self._scale(past, series_axis=1)
        if self.adapt_rate > 0:
            self._adapt(err)
        self.residuals.push(err)
        self._learn_level(y, ok)
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
        q = max(quantile, 1 - quantile)
        lower, upper = self._bands(point, (1.0 - q, q))
        return np.minimum(lower, point), np.maximum(upper, point)

    def uppers_many(self, horizon: int, quantiles: Sequence[float]) -> FloatArray:
        """Upper bands at several quantiles at once: ``(len(quantiles), n_series, horizon)``."""
        point = self.forecast_many(horizon)
        return np.maximum(np.stack(self._bands(point, quantiles)), point[None])

    def _bands(self, point: FloatArray, quantiles: Sequence[float]) -> list[FloatArray]:
        """``point`` plus the residual quantile at each (adaptively shifted) level."""
        horizon = point.shape[1]
        hz = min(horizon, self.max_horizon)
        hs = np.minimum(np.arange(horizon), self.max_horizon - 1)
        rel = self.relative_residuals
        scale = self._scale(point, series_axis=0) if rel else np.ones_like(point)
        out = []
        for q in quantiles:
            shift = self.shift[:, :hz] if q >= 0.5 else -self.shift[:, :hz]
            level = np.clip(q + shift, 1.0 - _LEVEL_MAX, _LEVEL_MAX)
            res = self.residuals.quantile_at(level)[:, hs]
            out.append(point + np.where(np.isnan(res), 0.0, res) * scale)
        return out

    def interval(self, horizon: int, quantile: float) -> tuple[FloatArray, FloatArray]:
        """Prediction band of series 0 for steps ``1..horizon`` ahead."""
        lower, upper = self.interval_many(horizon, quantile)
        return lower[0], upper[0]

    def _adapt(self, err: FloatArray) -> None:
        # Adaptive conformal inference (Gibbs & Candes, 2021): each miss of the
        # adapt_quantile band raises that horizon's level, each hit lowers it a little,
        # so coverage returns to target after a shift the residual window lags behind.
        # Only the first adapt_horizons horizons adapt (the scan costs window x horizons).
        k = self.adapt_horizons
        shift = self.shift[:, :k]
        level = np.minimum(np.maximum(self.adapt_quantile + shift, 0.5), _LEVEL_MAX)
        miss = self.residuals.exceeds(err[:k], level)
        ok = np.isfinite(err[:k]) & (self.residuals.count()[:, :k].T > 0)
        step = self.adapt_rate * (miss - (1.0 - self.adapt_quantile))
        lo, hi = 0.5 - self.adapt_quantile, _LEVEL_MAX - self.adapt_quantile
        self.shift[:, :k] = np.minimum(np.maximum(shift + np.where(ok, step, 0.0).T, lo), hi)

    def _learn_level(self, y: FloatArray, ok: BoolArray) -> None:
        # A running mean over ``residual_window`` points; after the first few, a step is
        # limited to 3x the level, so one outlier cannot move the typical level far.
        rate = 1.0 / np.minimum(np.maximum(self.seen, 1), self.residual_window)
        step = np.where(ok, y, 0.0) - self.level
        cap = np.where(self.seen > _LEVEL_FREE, 3.0 * np.abs(self.level), np.inf)
        step = np.minimum(np.maximum(step, -cap), cap)
        self.level = np.where(ok, self.level + step * rate, self.level)

    def _scale(self, point: FloatArray, *, series_axis: int) -> FloatArray:
        """Denominator of relative residuals: ``|point| + scale_floor x level``."""
        floor = self.scale_floor * np.abs(self.level)
        floor = floor[None, :] if series_axis == 1 else floor[:, None]
        out: FloatArray = np.maximum(np.abs(point) + floor, 1e-9)
        return out

    # ---- state ------------------------------------------------------------------
    def state_names(self) -> tuple[str, ...]:
        """Attributes holding learnt state, base class first."""
        names: list[str] = []
        for cls in reversed(type(self).__mro__):
            names += [n for n in vars(cls).get("STATE", ()) if n not in names]
        return tuple(names)

    def state(self) -> dict[str, NDArray[Any]]:
        """Every piece of learnt state as a named numpy array (copies)."""
        out = {n: np.array(getattr(self, n)) for n in self.state_names()}
        out.update({f"residuals.{k}": v for k, v in self.residuals.state().items()})
        return out

    def load_state(self, state: dict[str, NDArray[Any]]) -> None:
        """Load :meth:`state`; shapes and names must match this configuration."""
        own = {k[len("residuals.") :]: v for k, v in state.items() if k.startswith("residuals.")}
        for n in self.state_names():
            if n not in state:
                raise SnapshotMismatch(f"state has no {n!r}")
            cur, new = getattr(self, n), state[n]
            if isinstance(cur, np.ndarray):
                if cur.shape != new.shape:
                    raise SnapshotMismatch(f"state {n!r} has shape {new.shape}, not {cur.shape}")
                setattr(self, n, new.astype(cur.dtype, copy=True))
            else:
                setattr(self, n, type(cur)(new.item()))
        self.residuals.load_state(own)

    def snapshot(self) -> bytes:
        """``npz`` of :meth:`state`, tagged with the configuration hash (no pickle)."""
        return dump_arrays({"config_hash": self.config_hash(), "format": _SNAPSHOT_FORMAT},
                           self.state())

    def restore(self, blob: bytes) -> None:
        """Load a :meth:`snapshot`; refuses one taken under another configuration."""
        meta, arrays = load_arrays(blob)
        if meta.get("config_hash") != self.config_hash() or meta.get("format") != _SNAPSHOT_FORMAT:
            raise SnapshotMismatch(
                f"snapshot config {meta.get('config_hash')} != {self.config_hash()}"
            )
        self.load_state(arrays)

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


def dump_arrays(meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> bytes:
    """One ``npz`` blob: JSON ``meta`` plus named arrays (no pickled objects inside)."""
    buf = io.BytesIO()
    payload = {"__meta__": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8)}
    payload.update(arrays)
    np.savez(buf, **payload)  # type: ignore[arg-type]
    return buf.getvalue()


def load_arrays(blob: bytes) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """Inverse of :func:`dump_arrays`; a blob that is not one raises ``SnapshotMismatch``."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            meta = json.loads(bytes(z["__meta__"]).decode())
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
    except (ValueError, KeyError, OSError, EOFError) as exc:
        raise SnapshotMismatch(f"not a forecaster snapshot: {exc}") from None
    if not isinstance(meta, dict):
        raise SnapshotMismatch("snapshot metadata is not an object")
    return meta, arrays


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
