"""Bounded windows of out-of-sample residuals per series and horizon, and their quantiles.

Prediction intervals come from the empirical distribution of a model's own recent
errors at each horizon (no Gaussian assumption): the band at quantile ``q`` is the
point forecast plus the ``1-q`` and ``q`` quantiles of those residuals.

>>> import numpy as np
>>> w = ResidualWindow(n_series=1, max_horizon=2, window=4)
>>> for e in (-1.0, 0.0, 1.0, 2.0):
...     w.push(np.array([[e], [2 * e]]))
>>> lo, hi = w.quantiles(0.0, 1.0)
>>> lo.tolist(), hi.tolist()
([[-1.0, -2.0]], [[2.0, 4.0]])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


class ResidualWindow:
    """The last ``window`` residuals of ``n_series`` series at horizons ``1..max_horizon``."""

    def __init__(self, *, n_series: int, max_horizon: int, window: int) -> None:
        self.window = window
        self._buf = np.full((window, max_horizon, n_series), np.nan)
        self._pos = 0
        # Running sum of |residual| and count of known ones, kept in step with _buf.
        self._abs_sum = np.zeros((max_horizon, n_series))
        self._known = np.zeros((max_horizon, n_series), dtype=np.int64)
        self._sorted: NDArray[np.float64] | None = None  # sorted _buf, valid until next push

    def push(self, err: NDArray[np.float64]) -> None:
        """Add one step of residuals, shape ``(max_horizon, n_series)``; NaN = unknown."""
        slot = self._pos % self.window
        old = self._buf[slot]
        old_ok, new_ok = np.isfinite(old), np.isfinite(err)
        self._abs_sum += np.where(new_ok, np.abs(err), 0.0) - np.where(old_ok, np.abs(old), 0.0)
        self._known += new_ok.astype(np.int64) - old_ok.astype(np.int64)
        self._buf[slot] = err
        self._pos += 1
        self._sorted = None

    def state(self) -> dict[str, NDArray[np.float64] | NDArray[np.int64]]:
        """The window's contents and counters as named arrays."""
        return {
            "buf": self._buf.copy(),
            "pos": np.array(self._pos),
            "abs_sum": self._abs_sum.copy(),
            "known": self._known.copy(),
        }

    def load_state(self, state: dict[str, NDArray[Any]]) -> None:
        """Load :meth:`state` (same window, horizons and series)."""
        if state["buf"].shape != self._buf.shape:
            raise ValueError(f"residual window shape {state['buf'].shape} != {self._buf.shape}")
        self._buf = state["buf"].astype(np.float64, copy=True)
        self._pos = int(state["pos"])
        self._abs_sum = state["abs_sum"].astype(np.float64, copy=True)
        self._known = state["known"].astype(np.int64, copy=True)
        self._sorted = None

    def count(self) -> NDArray[np.int64]:
        """Known residuals per series and horizon, shape ``(n_series, max_horizon)``."""
        return self._known.T.copy()

    def quantiles(self, low: float, high: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Empirical ``low``/``high`` quantiles, each ``(n_series, max_horizon)``; NaN if none."""
        if self._sorted is None:
            self._sorted = np.sort(self._buf, axis=0)  # NaN sorts last
        srt = self._sorted
        cnt = self._known.copy()
        out = []
        for q in (low, high):
            idx = np.clip(np.rint(q * (cnt - 1)), 0, self.window - 1).astype(np.int64)
            val = np.take_along_axis(srt, idx[None, :, :], axis=0)[0]
            out.append(np.where(cnt > 0, val, np.nan).T)
        return out[0], out[1]

    def exceeds(self, err: NDArray[np.float64], levels: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Whether each ``err`` ``(max_horizon, n_series)`` is above the window's quantile at
        ``levels`` ``(n_series, max_horizon)``, as :meth:`quantile_at` defines it, without
        sorting: ``err > sorted[j]`` exactly when more than ``j`` residuals are below it."""
        hz = err.shape[0]
        cnt = self._known[:hz]
        j = np.rint(levels.T * (cnt - 1))
        below = (self._buf[:, :hz] < err[None, :, :]).sum(axis=0)
        out: NDArray[np.bool_] = (cnt > 0) & (below > j) & np.isfinite(err)
        return out

    def quantile_at(self, levels: NDArray[np.float64]) -> NDArray[np.float64]:
        """Empirical quantile at a level per series and horizon: ``(n_series, max_horizon)``.

        ``levels`` may also cover only the first horizons, ``(n_series, h)``.
        """
        if self._sorted is None:
            self._sorted = np.sort(self._buf, axis=0)
        hz = levels.shape[1]
        cnt = self._known[:hz]
        idx = np.clip(np.rint(levels.T * (cnt - 1)), 0, self.window - 1).astype(np.int64)
        rows = np.arange(idx.shape[0])[:, None]
        cols = np.arange(idx.shape[1])[None, :]
        val = self._sorted[idx, rows, cols]
        out: NDArray[np.float64] = np.where(cnt > 0, val, np.nan).T
        return out

    def mean_abs(self) -> NDArray[np.float64]:
        """Mean absolute residual per series and horizon, ``(n_series, max_horizon)``."""
        cnt = self._known
        tot = np.maximum(self._abs_sum, 0.0)
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan).T
