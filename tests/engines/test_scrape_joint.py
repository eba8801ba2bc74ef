"""The scrape engine with the joint view: joint Scores become Anomalies and gauges."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from prometheus_client import CollectorRegistry

from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.detect.joint import JointBank
from aiops.engines.scrape import ScrapeEngine
from aiops.model import Sample, SeriesKey
from aiops.runbook.match import match
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import runbook

METRICS = ("cpu_usage", "memory_usage", "latency_p99")
ON = DetectConfig.model_validate({"joint": {"enabled": True}})
STEP = 15.0
JOINT_KEY = SeriesKey.of("joint", namespace="shop", workload="checkout")


def vector(t: float, cpu: float, mem: float, lat: float) -> list[Sample]:
    return [Sample(key=SeriesKey.of(m, namespace="shop", workload="checkout"), t=t, value=v)
            for m, v in zip(METRICS, (cpu, mem, lat), strict=True)]


def normal(rng: np.random.Generator, t: float) -> list[Sample]:
    load = 0.5 + 0.1 * rng.normal()
    return vector(t, 0.2 + 0.6 * load + 0.02 * rng.normal(), 300 + 200 * load + 5 * rng.normal(),
                  0.1 + 0.3 * load + 0.01 * rng.normal())


class ScriptedSource:
    """An in-process Source: each pull asks ``make`` for that time's samples."""

    name = "scripted"

    def __init__(self, make: Callable[[float], list[Sample]]) -> None:
        self.make = make

    def pull(self, now: float) -> Sequence[Sample]:
        return self.make(now)

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        return []

    def close(self) -> None:
        return None


def engine(config: DetectConfig, make: Callable[[float], list[Sample]]) -> ScrapeEngine:
    return ScrapeEngine(
        source=ScriptedSource(make), bank=DetectorBank(config),
        metrics=Metrics(CollectorRegistry()), signal_floor=config.signal_floor,
        log=get_logger("test"), joint=JointBank(config),
    )


def history(rng: np.random.Generator, cycles: int) -> list[Sample]:
    return [s for i in range(cycles) for s in normal(rng, STEP * i)]


OUTLIER = (0.3, 330.0, 0.4)  # light cpu and memory, heavy latency: unusual only jointly

RUNBOOK = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: joint-latency}
spec:
  mode: auto
  triggers:
    - anomaly: {metric: joint, score_above: 0.9, for: 15s}
  target:
    kind: SandboxWorkload
    namespace: '{{ labels.namespace }}'
    name: '{{ labels.workload }}'
  steps:
    - action: restart
"""


def test_warm_then_cycle_emits_joint_anomaly_with_episode_and_gauge() -> None:
    """History warms the joint bank; a joint outlier becomes an Anomaly that runbooks match."""
    rng = np.random.default_rng(0)
    cycles = JointBank(ON).warm_after + 100
    outlier_from = STEP * (cycles + 1)

    def make(now: float) -> list[Sample]:
        return vector(now, *OUTLIER) if now >= outlier_from else normal(rng, now)

    eng = engine(ON, make)
    assert eng.warm(history(rng, cycles)) == cycles
    calm = eng.cycle(STEP * cycles)
    assert eng.scores[JOINT_KEY].warm
    assert not [a for a in calm.anomalies if a.score.key == JOINT_KEY]
    first = eng.cycle(outlier_from)
    [hit] = [a for a in first.anomalies if a.score.key == JOINT_KEY]
    assert hit.since == outlier_from and hit.score.score >= 0.9
    assert hit.score.contributions[0][0] == "latency_p99"
    assert first.scored == 3 + 1  # three series and the workload's vector
    # The same episode goes on: ``since`` stays and a ``for: 15s`` trigger now fits.
    second = eng.cycle(outlier_from + STEP)
    [again] = [a for a in second.anomalies if a.score.key == JOINT_KEY]
    assert again.since == outlier_from
    book = runbook(RUNBOOK)
    assert match(book, hit, outlier_from) is None
    assert match(book, again, outlier_from + STEP) is not None
    registry = eng.metrics.registry
    labels = {"metric": "joint", "namespace": "shop", "workload": "checkout"}
    assert registry.get_sample_value("aiops_anomaly_score", labels) == again.score.score
    assert registry.get_sample_value("aiops_expected_band", {**labels, "bound": "upper"}) == 0.9


def test_warm_joint_only_leaves_the_restored_bank_alone() -> None:
    """warm(joint_only=True) rebuilds the joint bank without feeding the per-series bank."""
    rng = np.random.default_rng(1)
    cycles = JointBank(ON).warm_after
    bank = DetectorBank(ON)
    eng = engine(ON, lambda now: normal(rng, now))
    eng.bank = bank
    eng.warm(history(rng, cycles), joint_only=True)
    assert len(bank) == 0
    eng.cycle(STEP * cycles)
    assert eng.scores[JOINT_KEY].warm


def test_without_warm_the_joint_view_starts_cold() -> None:
    """No history: the first joint Score is warming up and never an Anomaly."""
    rng = np.random.default_rng(2)
    eng = engine(ON, lambda now: vector(now, *OUTLIER) if now > 0 else normal(rng, now))
    report = eng.cycle(STEP)
    assert not eng.scores[JOINT_KEY].warm
    assert not [a for a in report.anomalies if a.score.key == JOINT_KEY]


def test_disabled_by_default_no_joint_scores() -> None:
    """With the default config the engine scores series only, never a joint vector."""
    rng = np.random.default_rng(3)
    eng = engine(DetectConfig(), lambda now: normal(rng, now))
    assert eng.joint is None
    eng.warm(history(rng, 50))
    report = eng.cycle(STEP * 50)
    assert report.scored == 3 and JOINT_KEY not in eng.scores
