"""Throughput and memory of the detector bank, against river's HalfSpaceTrees in the same run.

The bank is driven through its array API (one aligned value per series per call) at
several series counts; river's HalfSpaceTrees scores and learns one point at a time on
the same kind of stream. Further rows drive the daemon's columnar path
(``update_batch``, Scores built for signalling samples only) at 100,000 series on a
quiet fleet (a few spikes) and at 10,000 series in a storm (every series shifting at
once, so every sample signals), and the per-sample API (``update(samples)``, a Score
with its explanation per sample) at 10,000 series.
Figures are ratios against that in-run baseline, so they mean the same on a laptop
and on a loaded CI box. Memory: tracemalloc's peak while a bank is built and run,
per series, and the bank's retained size after a stream and after a stream ten times
longer (it should not grow).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aiops.config.detect import DetectConfig
from aiops.detect.bank import DetectorBank
from aiops.detect.episodes import Phase
from aiops.model import Sample, SeriesKey
from aiops.sources.base import SampleBatch, SeriesTable


@dataclass(frozen=True, kw_only=True, slots=True)
class Rate:
    """Points per second of one run."""

    name: str
    series: int
    points: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.points / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True, kw_only=True, slots=True)
class Memory:
    """Peak bytes per series while running, and retained bytes after short/long streams."""

    series: int
    peak_per_series: float
    retained_short: int
    retained_long: int
    short_steps: int
    long_steps: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ThroughputReport:
    """Everything ``aiops bench throughput`` prints."""

    bank: tuple[Rate, ...]
    river: Rate
    memory: Memory
    samples: tuple[Rate, ...] = ()
    batches: tuple[Rate, ...] = ()
    storms: tuple[Rate, ...] = ()

    def ratio(self, series: int) -> float:
        """Bank points/s at ``series`` over river HalfSpaceTrees points/s."""
        rate = next(r for r in self.bank if r.series == series)
        return rate.per_second / self.river.per_second

    def batch_ratio(self, series: int) -> float:
        """The columnar (daemon) path's points/s at ``series`` over river's."""
        rate = next(r for r in self.batches if r.series == series)
        return rate.per_second / self.river.per_second


WARM_STEPS = 70
STEP = 15.0  # seconds between samples (the daemon's default interval)


class _Stream:
    """A cheap stream with level differences between series and a few spikes.

    Each series keeps its level for the whole run (5% noise around it); about one point
    in ``SPIKE_EVERY`` is a spike of ``SPIKE_SIZE`` noise spreads, so the signalling
    path is exercised the way a quiet fleet exercises it. (Drawing new levels per block
    would shift every series at once: that storm is measured on its own, below.)
    """

    def __init__(self, rng: np.random.Generator, series: int) -> None:
        self.rng = rng
        self.base = rng.uniform(1.0, 100.0, series)

    def take(self, steps: int) -> np.ndarray:
        """The next ``steps`` rows (one value per series each)."""
        shape = (steps, self.base.shape[0])
        noise = self.rng.standard_normal(shape)
        noise += np.where(self.rng.random(shape) < 1.0 / SPIKE_EVERY, SPIKE_SIZE, 0.0)
        out: np.ndarray = self.base + noise * (0.05 * self.base)
        return out


SPIKE_EVERY = 10_000
SPIKE_SIZE = 10.0


def _stream(rng: np.random.Generator, steps: int, series: int) -> np.ndarray:
    """``steps`` rows of a fresh :class:`_Stream` (new levels for every series)."""
    return _Stream(rng, series).take(steps)


def bank_rate(series: int, points: int, *, config: DetectConfig, seed: int = 0) -> Rate:
    """Points/s of the bank's array API over ``series`` aligned series."""
    rng = np.random.default_rng(seed)
    steps = max(3, points // series)
    bank = DetectorBank(config)
    stream = _Stream(rng, series)
    # Past warm-up and the first weeks of life, so the figure is the steady state.
    for i, row in enumerate(stream.take(WARM_STEPS)):
        bank.update_arrays(row, STEP * i)
    chunk = max(1, min(steps, 2_000_000 // series))
    elapsed, done = 0.0, 0
    while done < steps:
        block = stream.take(min(chunk, steps - done))
        start = time.perf_counter()
        for i, row in enumerate(block, start=WARM_STEPS + done):
            bank.update_arrays(row, STEP * i)
        elapsed += time.perf_counter() - start
        done += len(block)
    return Rate(name="bank", series=series, points=steps * series, seconds=elapsed)


def batch_rate(
    series: int, points: int, *, config: DetectConfig, seed: int = 0, storm: bool = False
) -> Rate:
    """Points/s of the daemon's columnar path: ``update_batch`` plus Scores for signals.

    Keys are interned once in a :class:`~aiops.sources.base.SeriesTable` (as a source
    does); each step is one :class:`~aiops.sources.base.SampleBatch` of arrays, and
    Scores with reasons are built only for samples that start or end an episode or
    reach the signal floor, as the scrape engine does. With ``storm`` every series
    shifts to a new level as timing starts, so every sample signals (the worst cycle).
    """
    rng = np.random.default_rng(seed)
    steps = max(3, points // series)
    table = SeriesTable()
    index = table.rows([SeriesKey.of(f"metric_{j % 4}", workload=f"w{j // 4:06d}")
                        for j in range(series)])
    bank = DetectorBank(config)
    stream = _Stream(rng, series)

    def step(i: int, row: np.ndarray) -> None:
        sb = bank.update_batch(SampleBatch(table=table, index=index,
                                           t=np.full(series, STEP * i), value=row))
        signal = (sb.warm & (sb.score >= config.signal_floor)) | (
            (sb.phase == Phase.START) | (sb.phase == Phase.END))
        bank.explain(sb, np.flatnonzero(signal))

    for i, row in enumerate(stream.take(WARM_STEPS)):
        step(i, row)
    if storm:
        stream = _Stream(rng, series)
    elapsed = 0.0
    for i, row in enumerate(stream.take(steps), start=WARM_STEPS):
        start = time.perf_counter()
        step(i, row)
        elapsed += time.perf_counter() - start
    name = "update_batch, every series shifting" if storm else "bank.update_batch (daemon path)"
    return Rate(name=name, series=series, points=steps * series, seconds=elapsed)


def sample_rate(series: int, *, config: DetectConfig, steps: int = 5, seed: int = 0) -> Rate:
    """Samples/s of ``bank.update(samples)`` (one Score per sample) over ``series`` series.

    Keys are new objects every cycle, as a source's parse makes them; building the
    samples is not timed. The bank is first taken just past warm-up.
    """
    rng = np.random.default_rng(seed)
    names = [(f"metric_{j % 4}", f"w{j // 4:05d}") for j in range(series)]

    def cycle(i: int, row: np.ndarray) -> list[Sample]:
        return [Sample(key=SeriesKey.of(m, workload=w), t=15.0 * i, value=float(v))
                for (m, w), v in zip(names, row, strict=True)]

    bank = DetectorBank(config)
    stream = _Stream(rng, series)
    warm = config.warmup + 2
    for i, row in enumerate(stream.take(warm)):
        bank.update(cycle(i, row))
    elapsed = 0.0
    for i, row in enumerate(stream.take(steps), start=warm):
        samples = cycle(i, row)
        start = time.perf_counter()
        bank.update(samples)
        elapsed += time.perf_counter() - start
    return Rate(name="bank.update(samples)", series=series, points=steps * series,
                seconds=elapsed)


def river_rate(points: int, *, seed: int = 0, repeats: int = 3) -> Rate:
    """Points/s of river's HalfSpaceTrees (score_one then learn_one) on one series.

    river's default trees (10 trees, height 8, window 250), limits set from the data.
    The fastest of ``repeats`` fresh runs counts: one run of a fraction of a second
    varied by 2x between runs on a shared machine, and the best is the baseline least
    flattering to the bank.
    """
    from river.anomaly import HalfSpaceTrees

    rng = np.random.default_rng(seed)
    values = _stream(rng, points, 1)[:, 0]
    lo, hi = float(values.min()), float(values.max())
    best = float("inf")
    for _ in range(max(1, repeats)):
        hst = HalfSpaceTrees(n_trees=10, height=8, window_size=250, seed=seed,
                             limits={"x": (lo, hi)})
        start = time.perf_counter()
        for v in values:
            x = {"x": float(v)}
            hst.score_one(x)  # type: ignore[no-untyped-call]
            hst.learn_one(x)  # type: ignore[no-untyped-call]
        best = min(best, time.perf_counter() - start)
    return Rate(name="river HalfSpaceTrees", series=1, points=points, seconds=best)


def memory(series: int, steps: int, *, config: DetectConfig, seed: int = 0) -> Memory:
    """Peak bytes per series (tracemalloc) and retained state after ``steps`` and 10x."""
    rng = np.random.default_rng(seed)
    tracemalloc.start()
    try:
        bank = DetectorBank(config)
        stream = _Stream(rng, series)
        for i, row in enumerate(stream.take(steps)):
            bank.update_arrays(row, STEP * i)
        _, peak = tracemalloc.get_traced_memory()
        short = len(bank.snapshot())
        for k in range(1, 10):
            for i, row in enumerate(stream.take(steps), start=k * steps):
                bank.update_arrays(row, STEP * i)
        long = len(bank.snapshot())
    finally:
        tracemalloc.stop()
    return Memory(series=series, peak_per_series=peak / series, retained_short=short,
                  retained_long=long, short_steps=steps, long_steps=10 * steps)


def run(
    *,
    config: DetectConfig | None = None,
    series: Sequence[int] = (10, 1_000, 100_000),
    points: int = 3_000_000,
    river_points: int = 10_000,
    sample_series: Sequence[int] = (10_000,),
    batch_series: Sequence[int] = (100_000,),
    storm_series: Sequence[int] = (10_000,),
) -> ThroughputReport:
    """Measure everything the report needs (a minute or so at the defaults)."""
    cfg = config if config is not None else DetectConfig()
    rates = tuple(
        bank_rate(n, max(30_000, min(points, n * 300)), config=cfg) for n in series
    )
    return ThroughputReport(
        bank=rates,
        river=river_rate(river_points),
        memory=memory(1_000, 200, config=cfg),
        samples=tuple(sample_rate(n, config=cfg) for n in sample_series),
        batches=tuple(batch_rate(n, max(30_000, min(points, n * 20)), config=cfg)
                      for n in batch_series),
        storms=tuple(batch_rate(n, n * 5, config=cfg, storm=True) for n in storm_series),
    )
