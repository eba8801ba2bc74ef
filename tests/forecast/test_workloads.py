"""The engine-facing step: per-workload samples in, ForecastSignals out."""

from __future__ import annotations

import math

import pytest

from aiops.config.forecast import ForecastConfig
from aiops.forecast.base import SnapshotMismatch
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
    """Once a week is learnt, the rise ahead is provisioned above the reactive need."""
    wf = WorkloadForecasts(cfg())
    # Stop just before the daily peak's rising edge: demand now is below what is coming.
    n = 24 * 8 + 3
    sig = feed(wf, n)[0]
    reactive_need = math.ceil(daily(n - 1) / 70.0)
    assert sig.predicted > daily(n - 1)
    assert sig.desired_replicas > reactive_need
    assert "forecast adds" in sig.why
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
    """A snapshot resumes identically under the same config and is refused otherwise."""
    a = WorkloadForecasts(cfg())
    feed(a, 60)
    b = WorkloadForecasts(cfg())
    b.restore(a.snapshot())
    nxt = DemandSample(key=KEY, demand=daily(60), current_replicas=6, ready_replicas=6)
    assert a.update([nxt], now=1.0) == b.update([nxt], now=1.0)
    with pytest.raises(SnapshotMismatch):
        WorkloadForecasts(cfg(quantile=0.95)).restore(a.snapshot())
