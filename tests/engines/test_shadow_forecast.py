"""Shadow forecaster candidates and live forecast quality: the same demand, MASE and
coverage per workload in the summaries and in /metrics, scale-ups journaled, never acted on."""

from __future__ import annotations

import math
from pathlib import Path

from prometheus_client import generate_latest

from aiops.actuators.record import RecordingActuator
from aiops.config.detect import DetectConfig
from aiops.config.forecast import ForecastConfig
from aiops.config.models import DriftSettings, ShadowSettings
from aiops.engines.facts import FactsReader
from aiops.engines.model_monitor import ModelMonitor
from aiops.engines.shadow import ShadowWriter
from aiops.engines.shadow_forecast import ShadowForecasts
from aiops.engines.shadow_window import read_window
from aiops.forecast.workloads import DemandSample, WorkloadForecasts
from aiops.journal import Journal
from aiops.model import SeriesKey
from aiops.models.versions import ModelKind
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import runbook

KEY = SeriesKey.of("request_rate", namespace="shop", deployment="catalog")
SCALE = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: predictive}
spec:
  mode: auto
  triggers: [{forecast: {metric: request_rate}}]
  target: {kind: Deployment, namespace: '{{ labels.namespace }}', name: '{{ labels.deployment }}'}
  steps: [{action: scale, with: {replicas: '{{ desired_replicas }}', max: 20}}]
"""


def test_candidates_and_live_are_scored_on_the_same_demand(tmp_path: Path) -> None:
    """Two days of a daily pattern: both models' MASE and coverage are journaled per workload
    and exported for live; the candidate's scale-ups carry would-be decisions, no incident."""
    journal = Journal(tmp_path / "journal.sqlite")
    log = get_logger("test")
    live_cfg = ForecastConfig(enabled=True, capacity_per_replica=50.0, model="multi_seasonal",
                              interval=600.0, gate={"enabled": False})
    cand_cfg = live_cfg.model_copy(update={"quantile": 0.8})
    facts = FactsReader(journal=journal, actuator=RecordingActuator(replicas=2), log=log)
    shadow = ShadowForecasts(
        live=live_cfg, live_version="forecaster-live",
        candidates={"q80": ("forecaster-q80", cand_cfg)}, runbooks=[runbook(SCALE)],
        facts=facts.facts, writer=ShadowWriter(journal=journal, log=log),
        settings=ShadowSettings(summary_every=3600.0), log=log, run=0.0)
    metrics = Metrics()
    monitor = ModelMonitor(detect=DetectConfig(), forecast=live_cfg,
                           versions={ModelKind.FORECASTER: "forecaster-live"},
                           drift=DriftSettings(), metrics=metrics)
    live = WorkloadForecasts(live_cfg)
    replicas = 2
    for k in range(2 * 144):
        t = 600.0 * k
        demand = 100 + 80 * math.sin(2 * math.pi * t / 86400.0) + 10 * math.sin(k * 1.7)
        samples = [DemandSample(key=KEY, demand=demand, current_replicas=replicas,
                                ready_replicas=replicas)]
        signals = live.update(samples, now=t)
        shadow.observed(t, samples, signals, 0.001)
        monitor.forecasted(samples, signals)
        replicas = signals[0].desired_replicas  # live acts; the candidate never does
    shadow.close(2 * 86400.0)
    [c] = read_window(journal).comparisons()
    assert c.kind is ModelKind.FORECASTER and c.candidate.model == "q80"
    (mase_l, cov_l), = c.live.quality.values()
    (mase_c, cov_c), = c.candidate.quality.values()
    assert math.isfinite(mase_l) and mase_l > 0
    assert math.isclose(mase_c, mase_l)  # only the band differs: the same point forecasts
    assert cov_c <= cov_l  # a lower quantile covers less
    assert c.candidate.cycles == c.live.cycles == 288
    assert journal.incidents() == [] and journal.changes_since(0.0) == 0
    monitor.export()
    text = generate_latest(metrics.registry).decode()
    assert 'aiops_forecast_quality{namespace="shop",quantity="mase",workload=""}' not in text
    doc = monitor.documents(2 * 86400.0)[ModelKind.FORECASTER]
    [w] = doc["workloads"]
    assert w["workload"] == str(KEY) and math.isclose(w["mase"], mase_l, rel_tol=1e-9)
    assert 'quantity="coverage"' in text and 'workload="catalog"' in text
