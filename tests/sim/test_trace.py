"""Tests for aiops.sim.trace: CSV parsing, interpolation, wrap-around, the builtin trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.errors import ConfigError
from aiops.sim.trace import load_trace, parse_time, parse_trace_csv

CSV = "timestamp,value\n2014-07-01 00:00:00,100\n2014-07-01 00:30:00,200\n2014-07-01 01:00:00,50\n"


def test_level_interpolates_linearly_between_points() -> None:
    """A lookup between two 30-minute points is their linear blend."""
    tr = parse_trace_csv(CSV)
    assert tr.level(tr.start + 450.0) == pytest.approx(125.0)
    assert tr.level(tr.start + 2700.0) == pytest.approx(125.0)


def test_level_wraps_after_the_last_point() -> None:
    """Past the end the trace starts over, blending the last point into the first."""
    tr = parse_trace_csv(CSV)
    assert tr.period == pytest.approx(5400.0)
    assert tr.level(tr.start + 5400.0) == pytest.approx(100.0)
    assert tr.level(tr.start + 4500.0) == pytest.approx(75.0)
    assert tr.level(tr.start - 900.0) == pytest.approx(75.0)


def test_builtin_nyc_taxi_is_the_real_trace() -> None:
    """builtin:nyc_taxi loads all 10320 half-hourly points from package data."""
    tr = load_trace("builtin:nyc_taxi")
    assert len(tr.values) == 10320
    assert tr.start == parse_time("2014-07-01T00:00:00")
    assert tr.level(parse_time("2014-07-07T08:30:00")) == 18998.0
    assert tr.step == 1800.0


def test_a_path_loads_a_csv_file(tmp_path: Path) -> None:
    """Any other trace value is a path to a timestamp,value CSV."""
    p = tmp_path / "t.csv"
    p.write_text(CSV)
    assert list(load_trace(str(p)).values) == [100.0, 200.0, 50.0]


def test_bad_rows_are_located() -> None:
    """A bad row after the header is a ConfigError naming its line."""
    with pytest.raises(ConfigError, match=r"t\.csv:3"):
        parse_trace_csv("timestamp,value\n2014-07-01 00:00:00,1\nnot-a-time,x\n", spec="t.csv")
    with pytest.raises(ConfigError, match="increase"):
        parse_trace_csv("0,1\n10,2\n5,3\n")


def test_unknown_builtin_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    """Unknown builtin names and unreadable paths fail as configuration errors."""
    with pytest.raises(ConfigError, match="unknown builtin"):
        load_trace("builtin:nope")
    with pytest.raises(ConfigError, match="cannot read"):
        load_trace(str(tmp_path / "missing.csv"))
