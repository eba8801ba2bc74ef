"""Benchmark: Prometheus remote write into the daemon at scale, push beside pull.

Both parts run the shipped daemon (``aiops run``, ``source.type: remote_write``) as its
own process, so its CPU and memory are measured apart from the load:

1. **throughput**: a load generator (:mod:`aiops.bench.remote_write_load`, another
   process) replays encoded requests as fast as the daemon answers them, as many in
   flight and as large as the shipped ``queue_config`` lets Prometheus send. Figure:
   samples ingested *and scored* per second of the daemon's CPU time (user + system),
   after two warm-up rounds create the series. Baseline, in the same run: the detector
   bank alone scoring the same number of series through the same per-sample call.
2. **end to end**: a real Prometheus scrapes a fast exporter of ``series`` gauges every
   5 s and remote-writes them to the daemon with the stanza
   :mod:`aiops.sources.prometheus_stanza` prints. Figures: scrape-to-score lag p50/p99
   (the daemon's ``aiops_ingest_lag_seconds`` over the measured window, which opens
   once the start-up backlog is scored and Prometheus' queue is empty), samples lost
   (every sample Prometheus stored, by ``count_over_time``, against every sample the
   daemon scored, once the exporter is gone and Prometheus' queue is empty), peak RSS
   per series (the daemon's ``VmHWM``).
3. **pull beside push**: on the same Prometheus and series, the pull cycle of
   ``aiops bench prom-cycle`` (query, parse, score, plan); figures as the ratio of
   aiops' CPU per sample, push over pull.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from aiops.bench import realservers
from aiops.bench.daemon_process import DaemonProcess, lag_quantiles, wait_until
from aiops.bench.prometheus_cycle import CycleBench, measure_pull, wait_for_series
from aiops.bench.synthetic import METRICS, PREFIX, SyntheticWorkloads
from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.engines.exporter import ExpositionServer
from aiops.model import Sample, SeriesKey
from aiops.sources.prometheus_stanza import QUEUE, remote_write

INTERVAL = 5.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Throughput:
    """Part 1: the daemon under a load generator."""

    series: int
    samples: int
    wall_seconds: float
    cpu_seconds: float
    refused: int
    baseline_per_core: float  # the bank alone, per-sample API, same series
    columnar_per_core: float  # the bank's array API (what the columnar path can reach)

    @property
    def per_core(self) -> float:
        return self.samples / self.cpu_seconds if self.cpu_seconds > 0 else float("nan")


@dataclass(frozen=True, kw_only=True, slots=True)
class EndToEnd:
    """Part 2: a real Prometheus scraping every INTERVAL and remote-writing."""

    series: int
    seconds: float
    stored: int
    scored: int
    lag_p50: float
    lag_p99: float
    lag_samples: int
    arrival_p50: float  # Prometheus' share: scrape to the request reaching aiops
    arrival_p99: float
    peak_rss: int
    cpu_seconds: float
    window_samples: int
    prometheus: dict[str, float] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.stored - self.scored

    @property
    def cpu_per_sample(self) -> float:
        return self.cpu_seconds / self.window_samples if self.window_samples else float("nan")


@dataclass(frozen=True, kw_only=True, slots=True)
class IngestBench:
    throughput: Throughput
    end_to_end: EndToEnd
    pull: CycleBench
    pull_cpu_per_sample: float

    def as_dict(self) -> dict[str, Any]:
        t, e = self.throughput, self.end_to_end
        return {
            "throughput": {**asdict(t), "per_core": t.per_core,
                           "over_bank_baseline": t.per_core / t.baseline_per_core},
            "end_to_end": {**asdict(e), "lost": e.lost, "cpu_per_sample": e.cpu_per_sample,
                           "rss_per_series": e.peak_rss / e.series},
            "pull": {**self.pull.as_dict(), "cpu_per_sample": self.pull_cpu_per_sample},
            "push_over_pull_cpu_per_sample": e.cpu_per_sample / self.pull_cpu_per_sample,
        }

    def render(self) -> str:
        t, e, p = self.throughput, self.end_to_end, self.pull
        d = self.as_dict()
        pull_cycle = p.cycle
        lines = [
            f"1. throughput: remote-write load generator -> daemon, {t.series} series",
            f"   {t.per_core:,.0f} samples/s ingested and scored per core "
            f"({t.samples:,} samples in {t.cpu_seconds:.2f} s of daemon CPU; "
            f"{t.samples / t.wall_seconds:,.0f}/s wall; {t.refused} requests answered 503)",
            f"   baseline, same run: the bank alone, per-sample API {t.baseline_per_core:,.0f}/s"
            f" -> daemon = {d['throughput']['over_bank_baseline']:.2f}x; bank array API "
            f"{t.columnar_per_core:,.0f}/s (the columnar path's ceiling)",
            f"2. end to end: real Prometheus scraping {e.series} series every {INTERVAL:g} s,"
            f" remote-writing to the daemon, {e.seconds:.0f} s measured",
            f"   scrape-to-score lag p50 {e.lag_p50:.2f} s, p99 {e.lag_p99:.2f} s "
            f"({e.lag_samples:,} samples); of which Prometheus (scrape to request "
            f"arriving) p50 {e.arrival_p50:.2f} s, p99 {e.arrival_p99:.2f} s",
            f"   samples lost: {e.lost} (Prometheus stored {e.stored:,}, daemon scored "
            f"{e.scored:,}; Prometheus failed {e.prometheus.get('failed', 0):.0f}, retried "
            f"{e.prometheus.get('retried', 0):.0f}, dropped {e.prometheus.get('dropped', 0):.0f})",
            f"   peak RSS {e.peak_rss / 2**20:.0f} MiB = {e.peak_rss / e.series / 1024:.1f} KiB "
            f"per series; daemon CPU {e.cpu_per_sample * 1e6:.1f} us per sample",
            "3. pull beside push, same Prometheus and series:",
            f"   pull cycle {pull_cycle:.2f} s "
            + " ".join(f"{s} {p.median(s):.2f}" for s in ("query", "parse", "score", "plan"))
            + f"; aiops CPU {self.pull_cpu_per_sample * 1e6:.1f} us per sample",
            f"   push {e.cpu_per_sample * 1e6:.1f} us vs pull "
            f"{self.pull_cpu_per_sample * 1e6:.1f} us per sample: push/pull = "
            f"{d['push_over_pull_cpu_per_sample']:.2f}; freshness: push p50 {e.lag_p50:.2f} s,"
            f" pull waits for the next poll (loop.interval) plus {pull_cycle:.2f} s",
        ]
        return "\n".join(lines)


# -- part 1 ---------------------------------------------------------------------------------


def bank_baseline(series: int, rounds: int = 3) -> tuple[float, float]:
    """Samples per CPU second of the bank alone: per-sample ``update``, and array API."""
    keys = [SeriesKey.of(m, namespace="bench", workload=f"w{i:05d}")
            for m in METRICS for i in range(max(1, series // len(METRICS)))]
    bank = DetectorBank(DetectConfig())
    rng = np.random.default_rng(3)
    spent = 0.0
    for r in range(rounds + 1):
        values = (1.0 + 0.03 * rng.standard_normal(len(keys))).tolist()
        samples = [Sample(key=k, t=1e9 + 5.0 * r, value=v) for k, v in zip(keys, values,
                                                                          strict=True)]
        t0 = time.process_time()
        bank.update(samples)
        if r:  # the first round creates the rows
            spent += time.process_time() - t0
    per_sample = rounds * len(keys) / spent
    arrays = DetectorBank(DetectConfig())
    x = 1.0 + 0.03 * rng.standard_normal(len(keys))
    arrays.update_arrays(x, 1e9)
    t0 = time.process_time()
    for r in range(rounds):
        arrays.update_arrays(x * (1 + 0.01 * r), 1e9 + 5.0 * (r + 1))
    return per_sample, rounds * len(keys) / (time.process_time() - t0)


def run_throughput(workdir: Path, series: int, *, rounds: int = 8, warm: int = 2,
                   concurrency: int = QUEUE["max_shards"],
                   per_request: int = QUEUE["max_samples_per_send"]) -> Throughput:
    """Part 1 (see the module docstring): the generator sends like Prometheus with the
    shipped ``queue_config`` at its full shards (``max_shards`` requests in flight of
    ``max_samples_per_send`` samples)."""
    with DaemonProcess(workdir / "throughput") as daemon:
        gen = subprocess.Popen(
            [sys.executable, "-m", "aiops.bench.remote_write_load",
             "--url", f"{daemon.url}/api/v1/write", "--series", str(series),
             "--rounds", str(rounds), "--warm", str(warm), "--concurrency", str(concurrency),
             "--per-request", str(per_request), "--step-ms", "5000"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert gen.stdin is not None and gen.stdout is not None
            warm_line = json.loads(gen.stdout.readline() or "{}")
            if warm_line.get("stage") != "warm":
                raise realservers.ServerError(f"load generator failed: {warm_line}")
            wait_until("the warm-up rounds to be scored",
                  lambda: daemon.metrics()["scored"] >= warm_line["samples"], 120)
            cpu0, scored0 = daemon.cpu(), daemon.metrics()["scored"]
            gen.stdin.write("go\n")
            gen.stdin.flush()
            done = json.loads(gen.stdout.readline() or "{}")
            if done.get("stage") != "done":
                raise realservers.ServerError(f"load generator failed: {done}")
            cpu1, scored1 = daemon.cpu(), daemon.metrics()["scored"]
        finally:
            gen.kill()
            gen.wait(5)
    per_sample, arrays = bank_baseline(series)
    return Throughput(
        series=done["series"], samples=int(scored1 - scored0), wall_seconds=done["seconds"],
        cpu_seconds=cpu1 - cpu0, refused=int(done["status"].get("503", 0)),
        baseline_per_core=per_sample, columnar_per_core=arrays,
    )


# -- parts 2 and 3 --------------------------------------------------------------------------


def _prometheus_counters(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    want = {"prometheus_remote_storage_samples_failed_total": "failed",
            "prometheus_remote_storage_samples_retried_total": "retried",
            "prometheus_remote_storage_samples_dropped_total": "dropped",
            "prometheus_remote_storage_samples_pending": "pending",
            "prometheus_remote_storage_samples_total": "sent"}
    out = dict.fromkeys(want.values(), 0.0)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in want:
                out[want[s.name]] += s.value
    return out


@contextlib.contextmanager
def _stack(workdir: Path, world: SyntheticWorkloads,
           daemon: DaemonProcess) -> Iterator[tuple[realservers.ServerProcess, ExpositionServer]]:
    exporter = ExpositionServer(world.render).start()
    prom = realservers.prometheus(
        workdir / "prom", targets=[exporter.target], interval=f"{INTERVAL:g}s",
        scrape_timeout=f"{INTERVAL * 0.8:g}s", job="bench",
        remote_write=remote_write([[f"{daemon.url}/api/v1/write"]], match=f"{PREFIX}.*"))
    try:
        prom.start()
        yield prom, exporter
    finally:
        prom.stop()
        exporter.close()


def run_end_to_end(workdir: Path, series: int, *, seconds: float = 60.0,
                   pull_cycles: int = 3) -> tuple[EndToEnd, CycleBench, float]:
    """Parts 2 and 3 (see the module docstring)."""
    world = SyntheticWorkloads(max(1, series // len(METRICS)))
    n = len(world.keys)
    with DaemonProcess(workdir / "e2e") as daemon, _stack(workdir, world, daemon) as (prom, exp):
        wait_for_series(prom.url, n, INTERVAL)
        wait_until("the daemon to score two scrapes",
              lambda: daemon.metrics()["scored"] >= 2 * n, 60 + n / 1000)
        # Start-up (100,000 new series, Prometheus' first queue shards) leaves a backlog:
        # the window opens once Prometheus' queue has emptied, so it measures steady state.
        wait_until("Prometheus' queue to catch up",
              lambda: _prometheus_counters(prom.url)["pending"] <= 0, 60 + n / 1000)
        before, cpu0 = daemon.metrics(), daemon.cpu()
        time.sleep(seconds)
        after, cpu1 = daemon.metrics(), daemon.cpu()
        p50, p99, lagged = lag_quantiles(before["lag"], after["lag"])
        a50, a99, _ = lag_quantiles(before["arrival"], after["arrival"])
        # Pull, on the same Prometheus, while it keeps remote-writing.
        pull = measure_pull(workdir / "pull", prom.url, world, n, pull_cycles, 6, INTERVAL)
        # End: the exporter goes, Prometheus marks every series stale and drains its queue.
        exp.close()
        time.sleep(2 * INTERVAL)
        wait_until("Prometheus to send everything",
              lambda: _prometheus_counters(prom.url)["pending"] <= 0, 180,
              status=lambda: f"Prometheus {_prometheus_counters(prom.url)}, daemon "
                             f"{ {k: v for k, v in daemon.metrics().items() if k != 'lag'} }")
        time.sleep(2.0)
        stored = _stored(prom.url)
        wait_until("the daemon to score every sample", lambda: daemon.metrics()["pending"] == 0, 60)
        scored = int(daemon.metrics()["scored"])
        e2e = EndToEnd(
            series=n, seconds=seconds, stored=stored, scored=scored, lag_p50=p50, lag_p99=p99,
            lag_samples=lagged, arrival_p50=a50, arrival_p99=a99, peak_rss=daemon.peak_rss(),
            cpu_seconds=cpu1 - cpu0,
            window_samples=int(after["scored"] - before["scored"]),
            prometheus=_prometheus_counters(prom.url),
        )
    return e2e, pull, pull.cpu_per_sample


def _stored(url: str) -> int:
    """Samples of the synthetic series Prometheus holds (stale markers not counted)."""
    total = 0
    for m in METRICS:  # one query per metric: count_over_time drops __name__
        result = realservers.query(url, f"sum(count_over_time({PREFIX}{m}[1h]))", timeout=60)
        total += int(float(result[0]["value"][1])) if result else 0
    return total


def run_bench(*, series: int = 100_000, seconds: float = 60.0,
              workdir: Path | None = None) -> IngestBench:
    """All three parts in one run."""
    with tempfile.TemporaryDirectory(prefix="aiops-ingest-") as tmp_name:
        tmp = workdir or Path(tmp_name)
        throughput = run_throughput(tmp, series)
        e2e, pull, pull_cpu = run_end_to_end(tmp, series, seconds=seconds)
    return IngestBench(throughput=throughput, end_to_end=e2e, pull=pull,
                       pull_cpu_per_sample=pull_cpu)

