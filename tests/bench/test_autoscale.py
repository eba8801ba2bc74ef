"""Smoke test of ``aiops bench autoscale`` on a short slice of a real trace."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from aiops.bench.autoscale import BenchConfig, load_trace, run
from aiops.cli import _load_commands
from aiops.cli.app import app
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
    assert names == ["hpa", "predictive A", "predictive B"]
    hpa, a, _ = r.policies
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
    for text in ("under-provisioned", "replica-hours", "MASE h=10", "rep-h/HPA", "scaling:"):
        assert text in res.output
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
