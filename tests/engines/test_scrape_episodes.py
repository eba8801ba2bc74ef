"""The scrape engine's columnar cycle: episodes become start / ongoing / end Anomalies."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from prometheus_client import CollectorRegistry

from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.engines.scrape import ScrapeEngine
from aiops.errors import SourceUnavailable
from aiops.model import Episode, Sample, SeriesKey
from aiops.runbook.match import match
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import runbook

STEP = 15.0
LAT = SeriesKey.of("latency_p99", namespace="shop", workload="checkout")
CPU = SeriesKey.of("cpu_usage", namespace="shop", workload="checkout")
CONFIG = DetectConfig(episode_min=20, episode_calm=5)

RUNBOOK = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: slow-checkout}
spec:
  mode: auto
  triggers:
    - anomaly: {metric: latency_p99, score_above: 0.9, for: 1m}
  target:
    kind: SandboxWorkload
    namespace: '{{ labels.namespace }}'
    name: '{{ labels.workload }}'
  steps:
    - action: restart
"""


class Faulty:
    """Latency x5 from ``fault_from`` to ``fault_to``; cpu steady; down when told."""

    name = "faulty"

    def __init__(self, fault_from: float, fault_to: float) -> None:
        self.rng = np.random.default_rng(1)
        self.fault = (fault_from, fault_to)
        self.down = False

    def pull(self, now: float) -> Sequence[Sample]:
        if self.down:
            raise SourceUnavailable("scripted outage")
        lat = 0.2 + 0.01 * self.rng.standard_normal()
        if self.fault[0] <= now < self.fault[1]:
            lat *= 5
        return [Sample(key=LAT, t=now, value=lat),
                Sample(key=CPU, t=now, value=0.5 + 0.02 * self.rng.standard_normal())]

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        return []

    def close(self) -> None:
        return None


def _engine(source: Faulty) -> ScrapeEngine:
    return ScrapeEngine(source=source, bank=DetectorBank(CONFIG),
                        metrics=Metrics(CollectorRegistry()),
                        signal_floor=CONFIG.signal_floor, log=get_logger("test"))


def test_a_fault_is_one_start_then_ongoing_signals_then_one_end() -> None:
    """Episode phases: one start, ongoing at/above the floor, one end once calm again."""
    src = Faulty(400 * STEP, 420 * STEP)
    eng = _engine(src)
    seen: list[tuple[int, Episode, float]] = []
    for i in range(480):
        for a in eng.cycle(i * STEP).anomalies:
            if a.score.key == LAT and i >= 400:
                seen.append((i, a.episode, a.since))
    phases = [p for _, p, _ in seen]
    assert seen[0][:2] == (400, Episode.START)
    assert phases.count(Episode.START) == 1 and phases.count(Episode.END) == 1
    # The end is the episode_calm-th (5th) calm sample after the fault: 420..424 at the
    # earliest (no echo of the fault in the fast level keeps it open longer).
    assert phases[-1] is Episode.END and seen[-1][0] >= 424
    assert all(since == 400 * STEP for i, p, since in seen if p is Episode.ONGOING and i < 420)


def test_for_reads_the_run_and_an_ended_episode_triggers_nothing() -> None:
    """``for: 1m`` fits once the run has lasted a minute; the end signal never matches."""
    src = Faulty(400 * STEP, 420 * STEP)
    eng = _engine(src)
    book = runbook(RUNBOOK)
    fits: list[int] = []
    ends = []
    for i in range(480):
        for a in eng.cycle(i * STEP).anomalies:
            if a.score.key != LAT:
                continue
            if a.episode is Episode.END:
                ends.append(a)
            elif match(book, a, i * STEP) is not None:
                fits.append(i)
    assert fits and fits[0] == 404  # four 15 s cycles after the run began
    assert ends and match(book, ends[0], ends[0].t) is None


def test_latest_samples_are_a_mapping_and_cleared_when_the_source_goes_down() -> None:
    """latest maps every key to its last sample; a failed pull empties it."""
    src = Faulty(1e9, 1e9)
    eng = _engine(src)
    eng.cycle(0.0)
    eng.cycle(STEP)
    assert set(eng.latest) == {LAT, CPU} and eng.latest[CPU].t == STEP
    assert math.isfinite(eng.latest[LAT].value)
    src.down = True
    report = eng.cycle(2 * STEP)
    assert not report.ok and eng.latest == {}


def test_gauges_follow_the_columns() -> None:
    """Each series' score and value gauges carry this cycle's numbers."""
    src = Faulty(1e9, 1e9)
    eng = _engine(src)
    eng.cycle(0.0)
    eng.cycle(STEP)
    labels = {"metric": "cpu_usage", "namespace": "shop", "workload": "checkout"}
    value = eng.metrics.registry.get_sample_value("aiops_observed_value", labels)
    assert value == eng.latest[CPU].value
