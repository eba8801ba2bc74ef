"""The replay source serves recorded history as live samples, gaps as NaN."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from aiops.errors import ConfigError
from aiops.sources.replay import ReplaySource


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "history.csv"
    p.write_text(text)
    return p


CSV = """timestamp,metric,namespace,workload,value
100,latency_p99,shop,checkout,0.2
115,latency_p99,shop,checkout,0.3
100,cpu_usage,shop,checkout,1.5
"""


def test_pull_returns_each_new_row_once_and_gaps_as_nan(tmp_path: Path) -> None:
    """Each row is served once; a series with nothing new this cycle is a NaN gap."""
    src = ReplaySource(write(tmp_path, CSV))
    first = {s.key.metric: s.value for s in src.pull(105)}
    assert first == {"latency_p99": 0.2, "cpu_usage": 1.5}
    second = {s.key.metric: s.value for s in src.pull(120)}
    assert second["latency_p99"] == 0.3 and math.isnan(second["cpu_usage"])
    assert src.span == (100.0, 115.0)


def test_backfill_is_ordered_and_bounded(tmp_path: Path) -> None:
    """Backfill returns rows in [start, end) ordered by time."""
    src = ReplaySource(write(tmp_path, CSV))
    rows = src.backfill(100, 115)
    assert [(s.key.metric, s.t) for s in rows] == [("latency_p99", 100.0), ("cpu_usage", 100.0)]


def test_bad_rows_name_file_and_line(tmp_path: Path) -> None:
    """A malformed value is reported with the file and line number."""
    p = write(tmp_path, "timestamp,metric,value\n1,a,1\n2,a,lots\n")
    with pytest.raises(ConfigError, match=r"history\.csv:3"):
        ReplaySource(p)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    """A CSV without the required columns says which are missing."""
    with pytest.raises(ConfigError, match="metric"):
        ReplaySource(write(tmp_path, "timestamp,value\n1,2\n"))
