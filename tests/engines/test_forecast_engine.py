"""The forecast loop: demand in, ForecastSignals out, and the HPA floor raised through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops.actuators.kubernetes import KubernetesActuator
from aiops.actuators.sandbox import SandboxActuator
from aiops.config.actuators import KubernetesConfig
from aiops.config.forecast import ForecastConfig
from aiops.config.sources import SandboxConfig
from aiops.engines.forecast import ForecastEngine
from aiops.engines.remediate import Remediator
from aiops.journal import Journal
from aiops.model import ForecastSignal, SeriesKey
from aiops.runbook import load_runbooks
from aiops.sim import open_world
from aiops.sources.sandbox import SandboxSource
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.fakekube.plugin import deployment, hpa
from tests.fakekube.server import FakeKube, running

T0 = 1_699_999_980.0  # on the minute grid
ROOT = Path(__file__).resolve().parents[2]
CONFIG = ForecastConfig(
    enabled=True, labels={"workload": "catalog"}, target_kind="SandboxWorkload",
    name_label="workload", capacity_per_replica=60.0, target_utilization=0.5,
    model="multi_seasonal_fast",
)


def engine() -> tuple[ForecastEngine, SandboxSource, Metrics]:
    world = open_world(SandboxConfig(fault_schedule="none"), None, T0)
    metrics = Metrics()
    eng = ForecastEngine(config=CONFIG, actuator=SandboxActuator(world), metrics=metrics,
                         log=get_logger("test"))
    return eng, SandboxSource(world), metrics


def test_forecasts_only_selected_workloads_once_per_interval() -> None:
    """Warm from a week of history, then one signal per interval for catalog alone."""
    eng, src, metrics = engine()
    assert eng.warm(src.backfill(T0 - 7 * 86400, T0)) == 7 * 24 * 60
    assert eng.workloads.evidence(SeriesKey.of(
        "request_rate", namespace="shop", workload="catalog")) == 7 * 24 * 60 - 1
    latest = {s.key: s for s in src.pull(T0 + 15)}
    [sig] = eng.cycle(T0 + 15, latest)
    assert sig.key.label("workload") == "catalog" and sig.current_replicas == 4
    assert sig.lower <= sig.predicted <= sig.upper
    assert sig.horizon == CONFIG.startup + CONFIG.interval
    assert "forecast" in sig.why
    assert eng.cycle(T0 + 30, latest) == [], "less than one interval later: nothing"
    assert len(eng.cycle(T0 + 75, latest)) == 1
    gauge = metrics.forecast.labels("shop", "catalog", "upper")._value.get()
    assert gauge == pytest.approx(sig.upper, rel=0.5)


def test_a_cold_forecaster_has_no_band_and_adds_nothing() -> None:
    """Without history the band collapses, the gate is warming up and the reactive rule decides."""
    eng, src, metrics = engine()
    latest = {s.key: s for s in src.pull(T0 + 15)}
    [sig] = eng.cycle(T0 + 15, latest)
    assert sig.lower == sig.predicted == sig.upper
    assert sig.desired_replicas == sig.current_replicas == 4
    assert "gate shadow (warming-up): reactive in control" in sig.why
    assert metrics.forecast.labels("shop", "catalog", "predictive_in_control")._value.get() == 0


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    yield from running()


def test_forecast_signal_raises_the_hpa_floor(tmp_path: Path, kube: FakeKube) -> None:
    """The shipped predictive runbook raises the HPA's minReplicas; the HPA stays in charge."""
    kube.create("deployments", deployment("web", replicas=3))
    kube.create("horizontalpodautoscalers", hpa("web-hpa", "web", min_replicas=2))
    books = load_runbooks([ROOT / "runbooks" / "examples" / "predictive-scaling.yaml"])
    journal = Journal(tmp_path / "journal.sqlite")
    remediator = Remediator(
        books, journal, KubernetesActuator(KubernetesConfig(host=kube.url, backoff=0.05)),
        Metrics(), get_logger("test"),
    )
    signal = ForecastSignal(
        key=SeriesKey.of("request_rate", namespace="shop", deployment="web"), t=T0,
        horizon=150.0, predicted=500.0, lower=450.0, upper=560.0, capacity=300.0,
        desired_replicas=8, current_replicas=3, why="forecast adds 5 above reactive 3",
    )
    [plan] = remediator.handle(signal, T0)
    assert plan.decision == "run", plan.reasons
    remediator.tick(T0 + 1, {})
    spec = kube.get("horizontalpodautoscalers", "shop", "web-hpa")["spec"]
    assert spec["minReplicas"] == 8
    assert kube.get("deployments", "shop", "web")["spec"]["replicas"] == 3
    [row] = journal.incidents(10)
    assert row.runbook == "predictive-scaling"
    journal.close()
