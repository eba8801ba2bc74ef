"""Benchmark: one poll cycle over many series from a real Prometheus, stage by stage.

A synthetic exporter serves ``series`` gauges (four metrics per workload, fresh noise
on every scrape, a 10x latency spike on 1% of workloads once warm); a real Prometheus
scrapes it every second. Detectors are warmed with a ``query_range`` backfill, then each
measured cycle runs the daemon's path:

- **query**: the instant queries (HTTP + JSON decoding in prometheus-api-client);
- **parse**: results into :class:`~aiops.model.Sample` values (labels, staleness);
- **score**: :class:`~aiops.detect.bank.DetectorBank` over every sample;
- **plan**: every anomaly through the remediation engine (match, guards, plan, journal).

The in-run baseline is a bare ``httpx`` GET of the same queries (no decoding), so the
figures read as "a full cycle costs N x fetching the data".
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from aiops.actuators.record import RecordingActuator
from aiops.bench import realservers
from aiops.config.detect import DetectConfig
from aiops.config.sources import PrometheusConfig, PrometheusQuery
from aiops.detect.bank import DetectorBank
from aiops.engines.collector import collector_held
from aiops.engines.exporter import ExpositionServer, render_samples
from aiops.engines.remediate import Remediator
from aiops.journal import Journal
from aiops.model import Anomaly, Sample, SeriesKey
from aiops.runbook import load_runbooks
from aiops.sources.prometheus import PrometheusSource
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics

METRICS = {"cpu_usage": 0.5, "memory_usage": 3e8, "latency_p99": 0.2, "request_rate": 50.0}
PREFIX = "bench_"
STAGES = ("query", "parse", "score", "plan")
RUNBOOK = """\
apiVersion: aiops/v1
kind: Runbook
metadata: {name: bench-latency}
spec:
  mode: dry-run
  triggers:
    - anomaly: {metric: latency_p99, score_above: 0.9, direction: above}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}', name: '{{ labels.workload }}'}
  guards: {cooldown: 10m, concurrency: skip}
  steps:
    - action: scale
      with: {delta: "+2", max: 20}
"""


class SyntheticWorkloads:
    """Four gauges per workload with fresh noise per scrape; some latencies can spike."""

    def __init__(self, workloads: int, seed: int = 7) -> None:
        self.keys = [
            SeriesKey.of(m, namespace="bench", workload=f"w{i:05d}")
            for i in range(workloads)
            for m in METRICS
        ]
        self.base = np.array([METRICS[k.metric] for k in self.keys])
        self.spiked = np.zeros(len(self.keys), dtype=bool)
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def spike(self, share: float) -> int:
        """Multiply the latency of ``share`` of the workloads by 10; returns how many."""
        idx = [i for i, k in enumerate(self.keys) if k.metric == "latency_p99"]
        chosen = idx[: max(1, int(len(idx) * share))]
        with self._lock:
            self.spiked[chosen] = True
        return len(chosen)

    def render(self) -> bytes:
        with self._lock:
            noise = 1.0 + 0.03 * self._rng.standard_normal(len(self.keys))
            values = self.base * noise * np.where(self.spiked, 10.0, 1.0)
        samples = [
            Sample(key=k, t=0.0, value=float(v))
            for k, v in zip(self.keys, values, strict=True)
        ]
        return render_samples(samples, prefix=PREFIX)


@dataclass(frozen=True, kw_only=True, slots=True)
class CycleBench:
    """Figures of one benchmark run (seconds per stage, per measured cycle)."""

    series: int
    backfill_samples: int
    backfill_seconds: float
    stages: dict[str, list[float]]
    baseline: list[float]
    anomalies: list[int]
    spiked: int
    extra: dict[str, Any] = field(default_factory=dict)

    def median(self, stage: str) -> float:
        return statistics.median(self.stages[stage])

    @property
    def cycle(self) -> float:
        return sum(self.median(s) for s in STAGES)

    def as_dict(self) -> dict[str, Any]:
        total = self.cycle
        return {
            "series": self.series,
            "cycle_seconds": total,
            "stages": {
                s: {"seconds": self.median(s), "share": self.median(s) / total if total else 0}
                for s in STAGES
            },
            "baseline_fetch_seconds": statistics.median(self.baseline),
            "cycle_over_baseline": total / statistics.median(self.baseline),
            "anomalies_per_cycle": self.anomalies,
            "spiked_series": self.spiked,
            "backfill": {"samples": self.backfill_samples, "seconds": self.backfill_seconds},
        }

    def render(self) -> str:
        d = self.as_dict()
        lines = [
            f"poll cycle over {self.series} series from a real Prometheus "
            f"(median of {len(self.baseline)} cycles): {d['cycle_seconds'] * 1000:.0f} ms",
        ]
        for s in STAGES:
            st = d["stages"][s]
            lines.append(f"  {s:<6} {st['seconds'] * 1000:8.1f} ms  {st['share'] * 100:5.1f}%")
        lines.append(
            f"  baseline (bare HTTP fetch of the same queries): "
            f"{d['baseline_fetch_seconds'] * 1000:.1f} ms -> cycle = "
            f"{d['cycle_over_baseline']:.1f}x baseline"
        )
        lines.append(
            f"  anomalies per cycle {self.anomalies} ({self.spiked} series spiked); backfill "
            f"{self.backfill_samples} samples in {self.backfill_seconds:.2f} s"
        )
        return "\n".join(lines)


def _queries() -> list[PrometheusQuery]:
    return [
        PrometheusQuery(name=m, query=f"{PREFIX}{m}", keep_labels=["namespace", "workload"])
        for m in METRICS
    ]


def _warm(bank: DetectorBank, history: Sequence[Sample]) -> None:
    by_t: dict[float, list[Sample]] = {}
    for s in history:
        by_t.setdefault(s.t, []).append(s)
    for t in sorted(by_t):
        bank.update(by_t[t])


def run_bench(
    *, series: int = 10_000, cycles: int = 5, warm_seconds: int = 8, workdir: Path | None = None
) -> CycleBench:
    """Run the benchmark against a Prometheus started for it (killed at the end)."""
    with tempfile.TemporaryDirectory(prefix="aiops-bench-") as tmp_name:
        tmp = workdir or Path(tmp_name)
        world = SyntheticWorkloads(max(1, series // len(METRICS)))
        n = len(world.keys)
        with ExpositionServer(world.render) as exporter:
            prom = realservers.prometheus(tmp / "prom", targets=[exporter.target])
            with prom.start():
                per_metric = n // len(METRICS)
                realservers.wait_for(prom.url, f"{PREFIX}latency_p99", min_series=per_metric,
                                     timeout=60)
                time.sleep(warm_seconds)  # history for the backfill
                return _measure(tmp, prom.url, world, n, cycles, warm_seconds)


def _measure(
    tmp: Path, url: str, world: SyntheticWorkloads, n: int, cycles: int, warm_seconds: int
) -> CycleBench:
    source = PrometheusSource(
        PrometheusConfig(url=url, queries=_queries(), timeout=30.0, step=1.0)
    )
    detect = DetectConfig(warmup=max(2, warm_seconds - 3))
    bank = DetectorBank(detect)
    (tmp / "runbooks").mkdir(exist_ok=True)
    (tmp / "runbooks" / "bench.yaml").write_text(RUNBOOK)
    journal = Journal(tmp / "journal.sqlite")
    remediator = Remediator(
        runbooks=load_runbooks([tmp / "runbooks"]), journal=journal,
        executors=RecordingActuator(), metrics=Metrics(), log=get_logger("bench"),
    )
    try:
        end = time.time()
        t0 = time.perf_counter()
        history = source.backfill(end - warm_seconds, end)
        _warm(bank, history)
        backfill_seconds = time.perf_counter() - t0
        backfill_samples = len(history)
        del history  # keep the measured cycles' heap like a long-running daemon's

        spiked = world.spike(0.01)
        time.sleep(2.2)  # two scrapes carry the spike
        stages: dict[str, list[float]] = {s: [] for s in STAGES}
        baseline: list[float] = []
        anomalies: list[int] = []
        with httpx.Client(timeout=30.0) as http:
            for _ in range(cycles):
                now = time.time()
                b0 = time.perf_counter()
                for q in source.queries:
                    http.get(f"{url}/api/v1/query", params={"query": q.query, "time": now})
                baseline.append(time.perf_counter() - b0)

                samples = source.pull(now)
                if len(samples) != n:
                    raise RuntimeError(f"pulled {len(samples)} series, expected {n}")
                stages["query"].append(source.last_timing["query"])
                stages["parse"].append(source.last_timing["parse"])
                s0 = time.perf_counter()
                with collector_held():  # as the scrape engine does
                    scores = bank.update(samples)
                stages["score"].append(time.perf_counter() - s0)
                p0 = time.perf_counter()
                found = [
                    Anomaly(score=sc, since=now)
                    for sc in scores
                    if sc.warm and sc.score >= detect.signal_floor
                ]
                for anomaly in found:
                    remediator.handle(anomaly, now)
                stages["plan"].append(time.perf_counter() - p0)
                anomalies.append(len(found))
                time.sleep(1.0)
        return CycleBench(
            series=n, backfill_samples=backfill_samples, backfill_seconds=backfill_seconds,
            stages=stages, baseline=baseline, anomalies=anomalies, spiked=spiked,
        )
    finally:
        source.close()
        journal.close()
