"""Single-stream detectors behind the river-shaped :class:`~aiops.detect.base.Detector`.

* :class:`RobustDetector`: the bank's robust ensemble for one series
  (``x = {"value": v}``, optionally ``"t"`` for seasonal views).
* :class:`HalfSpaceDetector`: river's HalfSpaceTrees over a workload's joint vector
  (e.g. cpu, memory, latency), scaled by limits learnt during warm-up, with each
  metric's contribution (how much the score drops when that metric is set to its
  usual value).

Both score before they learn, return 0 while warming up, skip and count samples with
a NaN/inf (or missing) feature without touching state, and pickle whole.

>>> det = RobustDetector(Params(warmup=5))
>>> for i in range(50):
...     det.learn_one({"value": 1.0 + 0.01 * (i % 3)})
>>> det.score_one({"value": 1.01}) < 0.5 < 0.9 < det.score_one({"value": 9.0})
True
>>> det.learn_one({"value": float("nan")}); det.skipped
1
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from aiops.detect.config import Params
from aiops.detect.ensemble import Ensemble
from aiops.detect.robust import MAX_ABS


def _finite(x: Mapping[str, float], keys: tuple[str, ...]) -> bool:
    return all(
        k in x and isinstance(x[k], int | float) and math.isfinite(x[k]) and abs(x[k]) <= MAX_ABS
        for k in keys
    )


class RobustDetector:
    """The robust ensemble on one series, as ``learn_one`` / ``score_one``."""

    def __init__(self, params: Params | None = None, *, key: str = "value") -> None:
        self.params = params if params is not None else Params()
        self.key = key
        self.skipped = 0
        self._ens = Ensemble(self.params)
        self._ens.grow(1)

    def _t(self, x: Mapping[str, float]) -> np.ndarray | None:
        if not self.params.seasons and self.params.recurring_period <= 0:
            return None
        return np.array([float(x.get("t", 0.0))])

    def score_one(self, x: Mapping[str, float]) -> float:
        """Score in [0, 1] without learning; 0 while warming up or for an invalid value."""
        if not _finite(x, (self.key,)):
            return 0.0
        core = self._ens.cores[0]
        v = np.array([float(x[self.key])])
        best = float(core.score(v).raw[0])
        t = self._t(x)
        for k, prof in enumerate(self._ens.profiles, start=1):
            assert t is not None
            r = prof.residual(v, t)
            best = max(best, float(self._ens.cores[k].score(r).raw[0]))
        env = self._ens.envelope
        if env is not None and t is not None and bool(env.inside(v, t)[0]):
            best *= self.params.recurring_discount
        return best

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Learn the value unless it is judged anomalous; invalid values are counted."""
        if not _finite(x, (self.key,)):
            self.skipped += 1
            return
        self._ens.step(np.array([float(x[self.key])]), self._t(x))


class HalfSpaceDetector:
    """river HalfSpaceTrees on a joint vector, with per-metric contributions.

    The first ``warmup`` valid vectors are buffered to learn each metric's range
    (min/max widened by half the span); then the trees are built with those limits,
    learn the buffer, and score from there on.
    """

    def __init__(
        self,
        features: tuple[str, ...],
        *,
        warmup: int = 100,
        n_trees: int = 25,
        height: int = 4,
        window_size: int = 250,
        seed: int = 0,
    ) -> None:
        if not features:
            raise ValueError("HalfSpaceDetector needs at least one feature")
        self.features = tuple(features)
        self.warmup = warmup
        self.n_trees, self.height, self.window_size, self.seed = n_trees, height, window_size, seed
        self.skipped = 0
        self._buffer: list[dict[str, float]] = []
        self._usual: dict[str, float] = {}
        self._scale: dict[str, tuple[float, float]] = {k: (0.0, 1.0) for k in self.features}
        self._hst: Any = None

    def _vector(self, x: Mapping[str, float]) -> dict[str, float]:
        """The features of ``x``, each scaled to [0, 1] over its limits once learnt.

        river picks each split's feature with weight proportional to its limits' width,
        so unscaled features (memory in bytes beside cpu in cores) would be split on
        almost only the widest one.
        """
        return {k: (float(x[k]) - lo) / span for k, (lo, span) in self._scale.items()}

    def _build(self) -> None:
        from river.anomaly import HalfSpaceTrees

        for k in self.features:
            col = np.array([v[k] for v in self._buffer])
            lo, hi = float(col.min()), float(col.max())
            pad = max(0.5 * (hi - lo), 1e-9 * max(abs(lo), abs(hi), 1.0))
            self._scale[k] = (lo - pad, hi - lo + 2 * pad)
        self._usual = {
            k: float(np.median([self._vector(v)[k] for v in self._buffer])) for k in self.features
        }
        limits: dict[Any, tuple[float, float]] = {k: (0.0, 1.0) for k in self.features}
        self._hst = HalfSpaceTrees(n_trees=self.n_trees, height=self.height,
                                   window_size=self.window_size, limits=limits, seed=self.seed)
        for v in self._buffer:
            self._hst.learn_one(self._vector(v))
        self._buffer = []

    def score_one(self, x: Mapping[str, float]) -> float:
        """HalfSpaceTrees' score in [0, 1]; 0 while warming up or for an invalid vector."""
        if self._hst is None or not _finite(x, self.features):
            return 0.0
        return float(min(1.0, max(0.0, self._hst.score_one(self._vector(x)))))

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Learn the vector (buffered during warm-up); invalid vectors are counted."""
        if not _finite(x, self.features):
            self.skipped += 1
            return
        if self._hst is None:
            self._buffer.append({k: float(x[k]) for k in self.features})
            if len(self._buffer) >= self.warmup:
                self._build()
            return
        self._hst.learn_one(self._vector(x))

    def contributions(self, x: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
        """Share of the score each metric carries, largest first (empty when warming up)."""
        if self._hst is None or not _finite(x, self.features):
            return ()
        v = self._vector(x)
        base = float(self._hst.score_one(v))
        drops = {}
        for k in self.features:
            alt = dict(v)
            alt[k] = self._usual[k]
            drops[k] = max(0.0, base - float(self._hst.score_one(alt)))
        total = sum(drops.values())
        if total <= 0:
            return ()
        return tuple(sorted(((k, d / total) for k, d in drops.items()), key=lambda kv: -kv[1]))
