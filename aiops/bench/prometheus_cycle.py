"""Benchmark: one poll cycle over many series from a real Prometheus, stage by stage.

A synthetic exporter (:mod:`aiops.bench.synthetic`) serves ``series`` gauges (four
metrics per workload, fresh noise on every scrape, a 10x latency spike on 1% of
workloads once warm); a real Prometheus scrapes it every second, or every 5 s past
20,000 series (Prometheus' own ingestion and the exporter's render must fit the scrape
timeout). Detectors are warmed with a ``query_range`` backfill, then each measured
cycle runs the daemon's path:

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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from aiops.actuators.record import RecordingActuator
from aiops.bench import realservers
from aiops.bench.synthetic import METRICS, PREFIX, SyntheticWorkloads
from aiops.config.detect import DetectConfig
from aiops.config.sources import PrometheusConfig, PrometheusQuery
from aiops.detect.bank import DetectorBank
from aiops.engines.collector import collector_held
from aiops.engines.exporter import ExpositionServer
from aiops.engines.remediate import Remediator
from aiops.journal import Journal
from aiops.model import Anomaly, Sample
from aiops.runbook import load_runbooks
from aiops.sources.prometheus import PrometheusSource
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics

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
    #: CPU seconds of the cycle's thread per measured cycle (query to plan).
    cpu: list[float] = field(default_factory=list)

    @property
    def cpu_per_sample(self) -> float:
        """Median CPU of a cycle over the series it pulled (seconds per sample)."""
        return statistics.median(self.cpu) / self.series if self.cpu else float("nan")

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
            "cpu_per_sample": self.cpu_per_sample,
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


def scrape_interval(series: int) -> float:
    """Seconds between scrapes for ``series`` series: 1 s up to 20,000, then 5 s."""
    return 1.0 if series <= 20_000 else 5.0


def run_bench(
    *, series: int = 10_000, cycles: int = 5, warm_seconds: int = 8, workdir: Path | None = None
) -> CycleBench:
    """Run the benchmark against a Prometheus started for it (killed at the end).

    ``warm_seconds`` is the history kept before measuring, in scrapes (seconds at 1 s).
    """
    with tempfile.TemporaryDirectory(prefix="aiops-bench-") as tmp_name:
        tmp = workdir or Path(tmp_name)
        world = SyntheticWorkloads(max(1, series // len(METRICS)))
        n = len(world.keys)
        interval = scrape_interval(n)
        with ExpositionServer(world.render) as exporter:
            prom = realservers.prometheus(
                tmp / "prom", targets=[exporter.target], interval=f"{interval:g}s",
                scrape_timeout=f"{round(interval * 800)}ms")  # Prometheus takes no 0.8s
            with prom.start():
                wait_for_series(prom.url, n, interval)
                time.sleep(warm_seconds * interval)  # history for the backfill
                return measure_pull(tmp, prom.url, world, n, cycles, warm_seconds, interval)


def wait_for_series(url: str, n: int, interval: float) -> None:
    """Until Prometheus holds every series of the synthetic world (a clear error if not)."""
    per_metric = n // len(METRICS)
    realservers.wait_for(url, f"{PREFIX}latency_p99", min_series=per_metric,
                         timeout=30 + 3 * interval + n / 2000)


def measure_pull(
    tmp: Path, url: str, world: SyntheticWorkloads, n: int, cycles: int, warm_seconds: int,
    interval: float = 1.0,
) -> CycleBench:
    """Backfill, spike 1% of latencies, then time ``cycles`` pull cycles stage by stage."""
    source = PrometheusSource(
        PrometheusConfig(url=url, queries=_queries(), timeout=60.0, step=interval)
    )
    detect = DetectConfig(warmup=max(2, warm_seconds - 3))
    bank = DetectorBank(detect)
    (tmp / "runbooks").mkdir(parents=True, exist_ok=True)
    (tmp / "runbooks" / "bench.yaml").write_text(RUNBOOK)
    journal = Journal(tmp / "journal.sqlite")
    remediator = Remediator(
        runbooks=load_runbooks([tmp / "runbooks"]), journal=journal,
        executors=RecordingActuator(), metrics=Metrics(), log=get_logger("bench"),
    )
    try:
        end = time.time()
        t0 = time.perf_counter()
        history = source.backfill(end - warm_seconds * interval, end)
        _warm(bank, history)
        backfill_seconds = time.perf_counter() - t0
        backfill_samples = len(history)
        del history  # keep the measured cycles' heap like a long-running daemon's

        spiked = world.spike(0.01)
        time.sleep(2.2 * interval)  # two scrapes carry the spike
        stages: dict[str, list[float]] = {s: [] for s in STAGES}
        baseline: list[float] = []
        anomalies: list[int] = []
        cpu: list[float] = []
        with httpx.Client(timeout=60.0) as http:
            for _ in range(cycles):
                now = time.time()
                b0 = time.perf_counter()
                for q in source.queries:
                    http.get(f"{url}/api/v1/query", params={"query": q.query, "time": now})
                baseline.append(time.perf_counter() - b0)

                c0 = time.thread_time()
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
                cpu.append(time.thread_time() - c0)
                anomalies.append(len(found))
                time.sleep(min(interval, 1.0))
        return CycleBench(
            series=n, backfill_samples=backfill_samples, backfill_seconds=backfill_seconds,
            stages=stages, baseline=baseline, anomalies=anomalies, spiked=spiked, cpu=cpu,
        )
    finally:
        source.close()
        journal.close()
