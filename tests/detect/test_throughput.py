"""The throughput benchmark measures the bank against river and checks memory stays flat."""

from __future__ import annotations

from aiops.bench.throughput import memory, run
from aiops.config.detect import DetectConfig


def test_bank_outpaces_river_halfspacetrees_per_point() -> None:
    """At 1,000 series the vectorized bank (array API and the daemon's columnar path)
    scores many times the points/s of per-point HalfSpaceTrees in the same run."""
    report = run(series=(10, 1_000), points=100_000, river_points=1_000,
                 batch_series=(1_000,))
    assert [r.series for r in report.bank] == [10, 1_000]
    assert report.river.points == 1_000
    assert report.ratio(1_000) > 10.0
    assert report.batch_ratio(1_000) > 3.0


def test_state_does_not_grow_with_stream_length() -> None:
    """Snapshot size after a 10x longer stream equals the size after the short one."""
    m = memory(200, 100, config=DetectConfig())
    assert m.retained_long == m.retained_short
    assert 0 < m.peak_per_series < 50_000
