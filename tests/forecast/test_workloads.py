"""The engine-facing step: per-workload samples in, ForecastSignals out."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from aiops.config.forecast import ForecastConfig
from aiops.forecast.base import SnapshotMismatch
from aiops.forecast.capacity import Observation, PolicyState, decide
from aiops.forecast.workloads import DemandSample, WorkloadForecasts
from aiops.model import ForecastSignal, SeriesKey

KEY = SeriesKey.of("request_rate", workload="checkout")


def daily(i: int) -> float:
    return 400.0 + 300.0 * math.sin(2 * math.pi * i / 24)


def cfg(**kw: object) -> ForecastConfig:
    base: dict[str, object] = {
        "model": "multi_seasonal",
        "interval": 3600.0,
        "startup": 60.0,
        "capacity_per_replica": 100.0,
    }
    base.update(kw)
    return ForecastConfig.model_validate(base)


def feed(wf: WorkloadForecasts, n: int, replicas: int = 6) -> list[ForecastSignal]:
    sigs: list[ForecastSignal] = []
    for i in range(n):
        s = DemandSample(
            key=KEY, demand=daily(i), current_replicas=replicas, ready_replicas=replicas
        )
        sigs = wf.update([s], now=3600.0 * i)
    return sigs


def test_forecast_raises_replicas_before_the_rise() -> None:
    """Ungated, once a week is learnt, the rise ahead is provisioned above the reactive need."""
    wf = WorkloadForecasts(cfg(gate={"enabled": False}))
    # Stop just before the daily peak's rising edge: demand now is below what is coming.
    n = 24 * 8 + 3
    sig = feed(wf, n)[0]
    reactive_need = math.ceil(daily(n - 1) / 70.0)
    assert sig.predicted > daily(n - 1)
    assert sig.desired_replicas > reactive_need
    assert "forecast adds" in sig.why
    assert wf.decisions[KEY].reason.value == "ungated"
    assert sig.lower <= sig.predicted <= sig.upper
    assert sig.horizon == 3660.0


def test_capacity_learnt_from_utilization_when_unset() -> None:
    """Without configured capacity, it is learnt from demand, pods and utilization."""
    wf = WorkloadForecasts(cfg(capacity_per_replica=None))
    s0 = DemandSample(key=KEY, demand=300.0, current_replicas=4, ready_replicas=4)
    assert "capacity per replica unknown" in wf.update([s0], now=0.0)[0].why
    s1 = DemandSample(key=KEY, demand=300.0, current_replicas=4, ready_replicas=4, utilization=0.5)
    sig = wf.update([s1], now=60.0)[0]
    assert wf.capacity(KEY) == 150.0
    assert sig.capacity == 600.0


def test_snapshot_restores_and_refuses_other_config() -> None:
    """An npz snapshot (no pickle) resumes identically and is refused under another config."""
    a = WorkloadForecasts(cfg())
    feed(a, 60)
    b = WorkloadForecasts(cfg())
    snap = a.snapshot()
    with np.load(io.BytesIO(snap), allow_pickle=False) as z:
        assert "0.gate.counters" in z.files
    b.restore(snap)
    assert b.snapshot() == snap
    nxt = DemandSample(key=KEY, demand=daily(60), current_replicas=6, ready_replicas=6)
    assert a.update([nxt], now=3600.0 * 60) == b.update([nxt], now=3600.0 * 60)
    assert a.decisions[KEY] == b.decisions[KEY]
    with pytest.raises(SnapshotMismatch):
        WorkloadForecasts(cfg(quantile=0.95)).restore(a.snapshot())


def test_backfill_replays_the_gate_so_evidence_counts() -> None:
    """Learning history with its times feeds the gate's replay; without times it does not."""
    with_t, without = WorkloadForecasts(cfg()), WorkloadForecasts(cfg())
    for i in range(24 * 9):
        with_t.learn(KEY, daily(i), t=3600.0 * i)
        without.learn(KEY, daily(i))
    assert with_t.evidence(KEY) == 24 * 9 - 1
    assert without.evidence(KEY) == 0


def test_reactive_controls_until_the_gate_promotes() -> None:
    """Gated, a warming workload gets exactly the HPA's count; the reasons say why."""
    wf = WorkloadForecasts(cfg())
    state = PolicyState()
    for i in range(5):
        demand = daily(i) * 2.0
        [sig] = wf.update([DemandSample(key=KEY, demand=demand, current_replicas=6,
                                        ready_replicas=6)], now=3600.0 * i)
        obs = Observation(demand=demand, current_replicas=6, ready_replicas=6,
                          capacity_per_replica=100.0)
        hpa, state = decide(wf.reactive_spec, state, obs, now=3600.0 * i)
        assert sig.desired_replicas == hpa.desired
        assert wf.decisions[KEY].reason.value == "warming-up"
        assert sig.why.startswith("gate shadow (warming-up): reactive in control")


def test_ladder_is_the_quantile_then_cheaper_rungs() -> None:
    """Rungs start at forecast.quantile; ladder entries at or above it are dropped."""
    wf = WorkloadForecasts(cfg(quantile=0.85, gate={"ladder": [0.9, 0.8, 0.7, 0.8]}))
    assert wf.quantiles == (0.85, 0.8, 0.7)
