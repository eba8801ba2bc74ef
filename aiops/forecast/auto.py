"""Automatic model choice per series by recent out-of-sample error.

Every candidate learns every point; each already tracks its own residuals at every
horizon, so the selector forecasts, per series, with the candidate whose mean absolute
(relative) error over the residual window is lowest at ``select_horizon``. Ties and
cold starts go to the earliest candidate, so list the baseline first.

>>> from aiops.forecast.seasonal_naive import SeasonalNaive
>>> a = AutoSelect(candidates=[SeasonalNaive(period=1), SeasonalNaive(period=2)],
...                select_horizon=1, max_horizon=1)
>>> for y in [1.0, 5.0] * 20:
...     a.learn_one(y)
>>> a.chosen()
['seasonal_naive/2']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from aiops.forecast.base import BoolArray, FloatArray, VectorForecaster


class AutoSelect(VectorForecaster):
    """Forecast each series with whichever candidate has been most accurate lately."""

    name: ClassVar[str] = "auto"
    STATE: ClassVar[tuple[str, ...]] = ("_pick",)

    def __init__(
        self,
        *,
        candidates: Sequence[VectorForecaster],
        select_horizon: int = 10,
        switch_margin: float = 0.05,
        **kw: Any,
    ) -> None:
        if not candidates:
            raise ValueError("at least one candidate is required")
        n = candidates[0].n_series
        if any(c.n_series != n for c in candidates):
            raise ValueError("candidates must forecast the same number of series")
        kw.setdefault("n_series", n)
        kw.setdefault("max_horizon", max(c.max_horizon for c in candidates))
        self.candidates = list(candidates)
        self.select_horizon = select_horizon
        self.switch_margin = switch_margin
        if any(c.max_horizon < select_horizon for c in candidates):
            raise ValueError("every candidate's max_horizon must cover select_horizon")
        super().__init__(**kw)
        self._pick = np.zeros(self.n_series, dtype=np.int64)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "select_horizon": self.select_horizon,
            "switch_margin": self.switch_margin,
            "candidates": [c.config() for c in self.candidates],
        }

    def state(self) -> dict[str, NDArray[Any]]:
        """Own state plus every candidate's, under ``candidates.<i>.``."""
        out = super().state()
        for i, c in enumerate(self.candidates):
            out.update({f"candidates.{i}.{k}": v for k, v in c.state().items()})
        return out

    def load_state(self, state: dict[str, NDArray[Any]]) -> None:
        """Load :meth:`state` into this selector and its candidates."""
        super().load_state({k: v for k, v in state.items() if not k.startswith("candidates.")})
        for i, c in enumerate(self.candidates):
            pre = f"candidates.{i}."
            c.load_state({k[len(pre) :]: v for k, v in state.items() if k.startswith(pre)})

    def _update(self, y: FloatArray, ok: BoolArray) -> None:
        raw = np.where(ok, y, np.nan)
        for c in self.candidates:
            c.learn_many(raw)
        self._reselect()

    def _errors(self) -> FloatArray:
        """Recent error of each candidate per series, ``(n_candidates, n_series)``."""
        errs = np.stack(
            [c.residuals.mean_abs()[:, self.select_horizon - 1] for c in self.candidates]
        )
        return np.where(np.isfinite(errs), errs, np.inf)

    def choice(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Index of the candidate used for each series."""
        return self._pick.copy()

    def _reselect(self) -> None:
        # Switch only when the best candidate beats the current one by switch_margin, so
        # near-ties do not flip the forecast (and its residuals) back and forth.
        errs = self._errors()
        best = np.argmin(errs, axis=0)
        cols = np.arange(self.n_series)
        cur_err, best_err = errs[self._pick, cols], errs[best, cols]
        switch = best_err < (1.0 - self.switch_margin) * cur_err
        switch |= ~np.isfinite(cur_err) & np.isfinite(best_err)
        self._pick = np.where(switch, best, self._pick).astype(np.int64)

    def chosen(self) -> list[str]:
        """Name (with period where it has one) of the candidate used for each series."""
        return [_label(self.candidates[i]) for i in self.choice()]

    def _predict(self, horizon: int) -> FloatArray:
        preds = np.stack([c.forecast_many(horizon) for c in self.candidates])  # (k, n, h)
        pick = self.choice()
        out: FloatArray = preds[pick, np.arange(self.n_series)]
        return out


def _label(f: VectorForecaster) -> str:
    cfg = f.config()
    extra = [str(cfg[k]) for k in ("seasonal", "period") if k in cfg]
    return "/".join([f.name, *extra])
