"""Per-workload forecasting and gated capacity decisions, one call per forecast cycle.

What a forecast engine calls: give it each workload's latest demand sample and pod
counts, get back :class:`aiops.model.ForecastSignal` values carrying the desired
replicas and the reasons. Each workload has a forecaster, the reactive (HPA) and the
predictive policy, and a :class:`~aiops.forecast.gate.CapacityGate` that says which of
the two is in control (``decisions`` holds this cycle's verdicts). No I/O, no clock
(``now`` is passed in); state is keyed by series and serializable without pickle
(:meth:`WorkloadForecasts.snapshot`).

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
>>> wf.decisions[key].reason.value
'warming-up'
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aiops.config.forecast import ForecastConfig
from aiops.forecast.base import SnapshotMismatch, VectorForecaster, dump_arrays, load_arrays
from aiops.forecast.capacity import (
    CapacityDecision,
    ForecastPath,
    HpaSpec,
    Observation,
    PolicyState,
    decide,
    learn_capacity,
)
from aiops.forecast.catalog import make_forecaster
from aiops.forecast.gate import CapacityGate, GateDecision, GateSpec
from aiops.model import ForecastSignal, SeriesKey

_CAPACITY_SAMPLES = 500
_FORMAT = 2


@dataclass(frozen=True, kw_only=True, slots=True)
class DemandSample:
    """One workload's demand this cycle (req/s, NaN for a gap) and its pods."""

    key: SeriesKey
    demand: float
    current_replicas: int
    ready_replicas: int
    utilization: float | None = None


def policy_specs(config: ForecastConfig) -> tuple[HpaSpec, HpaSpec]:
    """The reactive (HPA) spec and the predictive policy's spec for ``config``."""
    base: dict[str, Any] = {
        "min_replicas": config.min_replicas,
        "max_replicas": max(config.min_replicas, config.max_replicas),
        "target_utilization": config.target_utilization,
        "forecast_utilization": config.forecast_target,
    }
    reactive = HpaSpec(scale_down_window=config.scale_down_window, **base)
    return reactive, HpaSpec(scale_down_window=config.predictive_scale_down_window, **base)


def ladder(config: ForecastConfig) -> tuple[float, ...]:
    """Upper-band quantiles of the gate's rungs: the configured one, then cheaper ones."""
    rungs = [config.quantile]
    for q in config.gate.ladder:
        if 0.5 < q < config.quantile and q not in rungs:
            rungs.append(q)
    return tuple(rungs)


def gate_spec(config: ForecastConfig) -> GateSpec:
    """The gate's windows in demand samples (``sample_step`` each)."""
    g = config.gate
    return GateSpec(
        window=config.steps(g.window),
        coverage_window=config.steps(g.coverage_window),
        quantiles=ladder(config),
        budget=g.budget,
        cost_window=config.steps(g.cost_window),
        coverage_tolerance=g.coverage_tolerance,
        evidence=config.steps(g.evidence),
        dwell=config.steps(g.dwell) if g.dwell > 0 else 0,
        enabled=g.enabled,
    )


class WorkloadForecasts:
    """Forecaster, policy states, gate and capacity evidence for every workload seen."""

    def __init__(self, config: ForecastConfig) -> None:
        self.config = config
        self.reactive_spec, self.predictive_spec = policy_specs(config)
        self.lead = max(1, math.ceil((config.startup + config.interval) / config.interval))
        self.horizon = self.lead + config.ramp_steps
        self.quantiles = ladder(config)
        self._models: dict[SeriesKey, VectorForecaster] = {}
        self._states: dict[SeriesKey, tuple[PolicyState, ...]] = {}
        self._gates: dict[SeriesKey, CapacityGate] = {}
        self._evidence: dict[SeriesKey, deque[tuple[float, int, float]]] = {}
        self.decisions: dict[SeriesKey, GateDecision] = {}

    def _model(self, key: SeriesKey) -> VectorForecaster:
        if key not in self._models:
            step = self.config.sample_step or self.config.interval
            extra = {"select_horizon": self.lead} if self.config.model == "auto" else {}
            self._models[key] = make_forecaster(
                self.config.model,
                step=step,
                max_horizon=max(16, self.horizon),
                residual_window=self.config.residual_window,
                adapt_quantile=self.config.quantile,
                adapt_horizons=self.horizon,
                **extra,
            )
        return self._models[key]

    def _gate(self, key: SeriesKey) -> CapacityGate:
        if key not in self._gates:
            self._gates[key] = CapacityGate(
                gate_spec(self.config),
                reactive=self.reactive_spec,
                predictive=self.predictive_spec,
                startup=self.config.startup,
                lead=self.lead,
            )
        return self._gates[key]

    def learn(self, key: SeriesKey, demand: float, *, t: float | None = None) -> None:
        """Learn one past demand value (start-up backfill) without deciding anything.

        Given its time ``t`` (and a known capacity per replica), the gate also replays
        the policies on it, so evidence from the backfill counts.
        """
        self._model(key).learn_one(demand)
        cap = self.capacity(key)
        if t is not None and cap is not None and cap > 0 and math.isfinite(demand):
            self._gate(key).step(now=t, demand=demand, capacity=cap, paths=self.paths(key))

    def evidence(self, key: SeriesKey) -> int:
        """Intervals the gate has replayed for ``key`` so far."""
        gate = self._gates.get(key)
        return 0 if gate is None else gate.steps

    def capacity(self, key: SeriesKey) -> float | None:
        """Configured per-replica capacity, else the one learnt from utilization."""
        if self.config.capacity_per_replica is not None:
            return self.config.capacity_per_replica
        ev = self._evidence.get(key)
        if not ev:
            return None
        d, r, u = zip(*ev, strict=True)
        return learn_capacity(d, r, u)

    def paths(self, key: SeriesKey) -> tuple[ForecastPath | None, ...]:
        """Per rung, upper forecasts 1..lead+ramp_steps ahead (None: none finite)."""
        out: list[ForecastPath | None] = []
        for upper in self._model(key).uppers_many(self.horizon, self.quantiles)[:, 0, :]:
            uppers = tuple(upper.tolist())
            finite = any(math.isfinite(u) for u in uppers)
            out.append(ForecastPath(uppers=uppers, lead=self.lead) if finite else None)
        return tuple(out)

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
                decision = self._decide(s, cap, now)
                capacity, desired = s.ready_replicas * cap, decision.desired
                reasons = "; ".join((self.decisions[s.key].detail, *decision.reasons))
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

    def _decide(self, s: DemandSample, cap: float, now: float) -> CapacityDecision:
        """Every policy on the real pods; the gate picks whose count is asked for."""
        paths = self.paths(s.key)
        verdict = self._gate(s.key).step(now=now, demand=s.demand, capacity=cap, paths=paths)
        self.decisions[s.key] = verdict
        obs = Observation(
            demand=s.demand,
            current_replicas=s.current_replicas,
            ready_replicas=s.ready_replicas,
            capacity_per_replica=cap,
        )
        states = self._states.get(s.key) or tuple(PolicyState() for _ in range(1 + len(paths)))
        reactive, st_r = decide(self.reactive_spec, states[0], obs, now=now)
        decisions, new = [reactive], [st_r]
        for st, path in zip(states[1:], paths, strict=True):
            d, st = decide(self.predictive_spec, st, obs, now=now, forecast_upper=path)
            decisions.append(d)
            new.append(st)
        self._states[s.key] = tuple(new)
        return decisions[0 if verdict.rung is None else 1 + verdict.rung]

    # -- state ------------------------------------------------------------------------
    def config_hash(self) -> str:
        """Digest of the configuration, stored in snapshots."""
        return hashlib.sha256(self.config.model_dump_json().encode()).hexdigest()[:16]

    @property
    def keys(self) -> list[SeriesKey]:
        """Workloads known, in the order snapshots store them."""
        return sorted(self._models, key=str)

    def snapshot(self) -> bytes:
        """``npz`` of every workload's forecaster, policies, gate and evidence (no pickle)."""
        arrays: dict[str, NDArray[Any]] = {}
        keys = self.keys
        for i, key in enumerate(keys):
            arrays.update({f"{i}.model.{k}": v for k, v in self._models[key].state().items()})
            if key in self._gates:
                arrays.update({f"{i}.gate.{k}": v for k, v in self._gates[key].state().items()})
            for j, st in enumerate(self._states.get(key, ())):
                arrays.update({f"{i}.policy.{j}.{k}": v for k, v in st.arrays().items()})
            if key in self._evidence:
                arrays[f"{i}.evidence"] = np.asarray(list(self._evidence[key]), np.float64)
        meta = {
            "format": _FORMAT,
            "config_hash": self.config_hash(),
            "keys": [[k.metric, [list(p) for p in k.labels]] for k in keys],
        }
        return dump_arrays(meta, arrays)

    def restore(self, blob: bytes) -> None:
        """Load a :meth:`snapshot` taken under the same configuration."""
        meta, arrays = load_arrays(blob)
        if meta.get("config_hash") != self.config_hash() or meta.get("format") != _FORMAT:
            raise SnapshotMismatch("forecast snapshot was taken under another configuration")
        models: dict[SeriesKey, VectorForecaster] = {}
        gates: dict[SeriesKey, CapacityGate] = {}
        states: dict[SeriesKey, tuple[PolicyState, ...]] = {}
        evidence: dict[SeriesKey, deque[tuple[float, int, float]]] = {}
        for i, (metric, labels) in enumerate(meta["keys"]):
            key = SeriesKey(metric=metric, labels=tuple((a, b) for a, b in labels))
            models[key] = self._fresh_model()
            models[key].load_state(_under(arrays, f"{i}.model."))
            gate_state = _under(arrays, f"{i}.gate.")
            if gate_state:
                gates[key] = self._fresh_gate()
                gates[key].load_state(gate_state)
            if f"{i}.policy.0.reactive" in arrays:
                states[key] = tuple(
                    PolicyState.from_arrays(_under(arrays, f"{i}.policy.{j}."))
                    for j in range(1 + len(self.quantiles))
                )
            if f"{i}.evidence" in arrays:
                ev = arrays[f"{i}.evidence"].reshape(-1, 3)
                evidence[key] = deque(
                    ((float(d), int(r), float(u)) for d, r, u in ev), maxlen=_CAPACITY_SAMPLES
                )
        self._models, self._gates, self._evidence = models, gates, evidence
        self._states = states
        self.decisions = {}

    def _fresh_model(self) -> VectorForecaster:
        probe = SeriesKey(metric="", labels=())
        model = self._model(probe)
        del self._models[probe]
        return model

    def _fresh_gate(self) -> CapacityGate:
        probe = SeriesKey(metric="", labels=())
        gate = self._gate(probe)
        del self._gates[probe]
        return gate


def _under(arrays: dict[str, NDArray[Any]], prefix: str) -> dict[str, NDArray[Any]]:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


