"""Per-workload forecasting and capacity decisions, one call per forecast cycle.

What a forecast engine calls: give it each workload's latest demand sample and pod
counts, get back :class:`aiops.model.ForecastSignal` values carrying the desired
replicas and the reasons. No I/O, no clock (``now`` is passed in); state is keyed by
series and serializable (:meth:`WorkloadForecasts.snapshot`).

>>> from aiops.config.forecast import ForecastConfig
>>> from aiops.model import SeriesKey
>>> wf = WorkloadForecasts(ForecastConfig(capacity_per_replica=100.0, model="multi_seasonal"))
>>> key = SeriesKey.of("request_rate", workload="checkout")
>>> for i in range(3):
...     sigs = wf.update([DemandSample(key=key, demand=350.0, current_replicas=4,
...                                    ready_replicas=4)], now=60.0 * i)
>>> s = sigs[0]
>>> (s.current_replicas, s.desired_replicas, round(s.predicted))
(4, 5, 350)
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from aiops.config.forecast import ForecastConfig
from aiops.forecast.base import SnapshotMismatch, VectorForecaster
from aiops.forecast.capacity import HpaSpec, Observation, PolicyState, decide, learn_capacity
from aiops.forecast.catalog import make_forecaster
from aiops.model import ForecastSignal, SeriesKey

_CAPACITY_SAMPLES = 500


@dataclass(frozen=True, kw_only=True, slots=True)
class DemandSample:
    """One workload's demand this cycle (req/s, NaN for a gap) and its pods."""

    key: SeriesKey
    demand: float
    current_replicas: int
    ready_replicas: int
    utilization: float | None = None


class WorkloadForecasts:
    """Forecaster, policy state and capacity evidence for every workload seen."""

    def __init__(self, config: ForecastConfig) -> None:
        self.config = config
        self.spec = HpaSpec(
            min_replicas=config.min_replicas,
            max_replicas=max(config.min_replicas, config.max_replicas),
            target_utilization=config.target_utilization,
            scale_down_window=config.scale_down_window,
            forecast_utilization=config.forecast_utilization,
        )
        self.lead = max(1, math.ceil((config.startup + config.interval) / config.interval))
        self._models: dict[SeriesKey, VectorForecaster] = {}
        self._states: dict[SeriesKey, PolicyState] = {}
        self._evidence: dict[SeriesKey, deque[tuple[float, int, float]]] = {}

    def _model(self, key: SeriesKey) -> VectorForecaster:
        if key not in self._models:
            step = self.config.sample_step or self.config.interval
            self._models[key] = make_forecaster(
                self.config.model,
                step=step,
                max_horizon=max(16, self.lead),
                residual_window=self.config.residual_window,
            )
        return self._models[key]

    def learn(self, key: SeriesKey, demand: float) -> None:
        """Learn one past demand value (start-up backfill) without deciding anything."""
        self._model(key).learn_one(demand)

    def capacity(self, key: SeriesKey) -> float | None:
        """Configured per-replica capacity, else the one learnt from utilization."""
        if self.config.capacity_per_replica is not None:
            return self.config.capacity_per_replica
        ev = self._evidence.get(key)
        if not ev:
            return None
        d, r, u = zip(*ev, strict=True)
        return learn_capacity(d, r, u)

    def update(self, samples: Sequence[DemandSample], *, now: float) -> list[ForecastSignal]:
        """Learn this cycle's samples and decide desired replicas for each workload."""
        out = []
        for s in samples:
            model = self._model(s.key)
            model.learn_one(s.demand)
            if s.utilization is not None and math.isfinite(s.demand):
                ev = self._evidence.setdefault(s.key, deque(maxlen=_CAPACITY_SAMPLES))
                ev.append((s.demand, s.ready_replicas, s.utilization))
            cap = self.capacity(s.key)
            point = float(model.forecast(self.lead)[-1])
            lower, upper = (float(v[-1]) for v in model.interval(self.lead, self.config.quantile))
            if cap is None or cap <= 0 or not math.isfinite(s.demand):
                why = "capacity per replica unknown" if cap is None or cap <= 0 else "no demand"
                capacity, desired, reasons = float("nan"), s.current_replicas, f"holding: {why}"
            else:
                obs = Observation(
                    demand=s.demand,
                    current_replicas=s.current_replicas,
                    ready_replicas=s.ready_replicas,
                    capacity_per_replica=cap,
                )
                decision, self._states[s.key] = decide(
                    self.spec,
                    self._states.get(s.key, PolicyState()),
                    obs,
                    now=now,
                    forecast_upper=upper if math.isfinite(upper) else None,
                )
                capacity, desired = s.ready_replicas * cap, decision.desired
                reasons = "; ".join(decision.reasons)
            out.append(
                ForecastSignal(
                    key=s.key,
                    t=now,
                    horizon=self.config.startup + self.config.interval,
                    predicted=point,
                    lower=lower,
                    upper=upper,
                    capacity=capacity,
                    desired_replicas=desired,
                    current_replicas=s.current_replicas,
                    why=reasons,
                )
            )
        return out

    def config_hash(self) -> str:
        """Digest of the configuration, stored in snapshots."""
        return hashlib.sha256(self.config.model_dump_json().encode()).hexdigest()[:16]

    def snapshot(self) -> bytes:
        """Pickle of every workload's forecaster, policy state and capacity evidence."""
        state = {"models": self._models, "states": self._states, "evidence": self._evidence}
        return pickle.dumps({"config_hash": self.config_hash(), "state": state})

    def restore(self, blob: bytes) -> None:
        """Load a :meth:`snapshot` taken under the same configuration."""
        data = pickle.loads(blob)  # noqa: S301 - our own snapshots
        if data.get("config_hash") != self.config_hash():
            raise SnapshotMismatch("forecast snapshot was taken under another configuration")
        st = data["state"]
        self._models, self._states, self._evidence = st["models"], st["states"], st["evidence"]
