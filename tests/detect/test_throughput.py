"""The throughput benchmark measures the bank against river and checks memory stays flat."""

from __future__ import annotations

from aiops.bench.throughput import memory, run
from aiops.config.detect import DetectConfig


def test_benchmark_times_the_bank_and_river_on_what_it_says() -> None:
    """Each figure counts the points it really scored (how fast is `aiops bench throughput`'s
    job, not a test's: timed assertions flake on a shared machine)."""
    report = run(series=(10, 1_000), points=100_000, river_points=1_000,
                 sample_series=(50,), batch_series=(200,), storm_series=(100,))
    assert [(r.series, r.points) for r in report.bank] == [(10, 30_000), (1_000, 100_000)]
    assert report.river.points == 1_000 and report.river.series == 1
    assert [(r.series, r.points) for r in report.samples] == [(50, 250)]
    assert [(r.series, r.points) for r in report.batches] == [(200, 30_000)]
    assert [(r.series, r.points) for r in report.storms] == [(100, 500)]
    assert all(r.seconds > 0 for r in (*report.bank, report.river, *report.samples,
                                       *report.batches, *report.storms))
    assert report.ratio(1_000) == report.bank[1].per_second / report.river.per_second


def test_state_does_not_grow_with_stream_length() -> None:
    """Snapshot size after a 10x longer stream equals the size after the short one."""
    m = memory(200, 100, config=DetectConfig())
    assert m.retained_long == m.retained_short
    assert 0 < m.peak_per_series < 50_000
