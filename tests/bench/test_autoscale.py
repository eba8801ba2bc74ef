"""Smoke test of ``aiops bench autoscale`` on a short slice of a real trace."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aiops.bench.autoscale import SHIPPED, BenchConfig, run, shipped_config
from aiops.bench.traces import load_trace
from aiops.cli import _load_commands
from aiops.cli.app import app
from aiops.config.forecast import ForecastConfig
from tests.paths import SHARED

TRACE = SHARED / "data" / "traces" / "nyc_taxi.csv"


def test_replay_scores_both_policies_on_the_same_steps() -> None:
    """HPA and predictive policies are scored over the same steps with sane figures."""
    r = run(
        load_trace(TRACE),
        BenchConfig(model="multi_seasonal", limit=1400, warmup=700, measure_cost=False),
    )
    assert r.scored_steps == 700
    names = [p.name for p in r.policies]
    assert names == ["hpa", "predictive A", "predictive B", SHIPPED]
    hpa, a, _, gated = r.policies
    assert [p.shipped for p in r.policies] == [False, False, False, True]
    assert gated.under_share <= hpa.under_share
    assert gated.in_control is not None and 0.0 <= gated.in_control <= 1.0
    assert r.gated_model == ForecastConfig().model and r.last_gate.startswith("gate ")
    assert hpa.replica_hours > 0 and a.replica_hours > 0
    assert 0.0 <= a.under_share <= hpa.under_share
    assert a.forecast_decisions > 0 and hpa.forecast_decisions == 0
    assert "req/s" in r.scaling


def test_cli_prints_tables_and_writes_png(tmp_path: Path) -> None:
    """The command prints both tables with ratios and draws a PNG."""
    _load_commands()
    png = tmp_path / "out.png"
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "autoscale",
            "--trace",
            str(TRACE),
            "--limit",
            "1400",
            "--warmup",
            "700",
            "--model",
            "multi_seasonal",
            "--png",
            str(png),
        ],
    )
    assert res.exit_code == 0, res.output
    for text in ("under-provisioned", "replica-hours", "MASE h=10", "rep-h/HPA", "scaling:",
                 "gated (shipped)", "never worse than the HPA", "gate reasons"):
        assert text in res.output
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_shipped_policy_is_the_daemon_default() -> None:
    """Only the bench's pods, clock and HPA target differ from ForecastConfig's defaults."""
    cfg = shipped_config(BenchConfig(), 1800.0)
    default = ForecastConfig()
    for field in ("model", "quantile", "gate", "ramp_steps", "predictive_scale_down_window",
                  "forecast_utilization", "scale_down_window", "residual_window"):
        assert getattr(cfg, field) == getattr(default, field), field
    assert (cfg.interval, cfg.sample_step, cfg.capacity_per_replica) == (60.0, 1800.0, 100.0)


def test_missing_timestamps_are_gaps(tmp_path: Path) -> None:
    """A row missing from the grid becomes NaN, so the seasons stay on the clock."""
    csv = tmp_path / "t.csv"
    csv.write_text("timestamp,value\n2020-01-01 00:00:00,1\n2020-01-01 01:00:00,2\n"
                   "2020-01-01 03:00:00,4\n2020-01-01 04:00:00,5\n")
    tr = load_trace(csv)
    assert tr.native_step == 3600.0 and len(tr.values) == 5
    assert math.isnan(tr.values[2]) and tr.values[3] == 4.0


def test_a_bad_timestamp_names_file_and_line(tmp_path: Path) -> None:
    """Unreadable timestamps are a clear error with file, line and field."""
    csv = tmp_path / "bad.csv"
    csv.write_text("timestamp,value\n2020-01-01 00:00:00,1\nyesterday,2\n")
    with pytest.raises(ValueError, match=r"bad.csv:3: field 'timestamp'"):
        load_trace(csv)
