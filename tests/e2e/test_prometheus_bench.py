"""The benchmarks run end to end at small scale (the figures in `make bench` come from them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aiops.bench.prometheus_cycle import STAGES, run_bench


def test_prometheus_cycle_bench_measures_every_stage_and_finds_the_spikes() -> None:
    """400 series through a real Prometheus: all pulled, every stage timed, spikes detected."""
    result = run_bench(series=400, cycles=2, warm_seconds=6)
    d = result.as_dict()
    assert result.series == 400 and result.spiked == 1
    assert result.backfill_samples >= 400 * 4  # several points of history per series
    assert all(d["stages"][s]["seconds"] > 0 for s in STAGES)
    assert sum(d["stages"][s]["share"] for s in STAGES) == pytest.approx(1.0)
    assert result.anomalies[0] >= result.spiked  # the 10x latency spike is seen at once
    assert "query" in result.render() and "baseline" in result.render()


def test_webhook_bench_cli_delivers_everything(tmp_path: Path) -> None:
    """`aiops bench webhook` reports its figures as JSON and loses no alert."""
    out = tmp_path / "wh.json"
    proc = subprocess.run(
        [sys.executable, "-m", "aiops", "bench", "webhook", "--alerts", "300",
         "--per-request", "3", "--concurrency", "4", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads(out.read_text())
    assert figures["stored"] == figures["handed"] == 300 and figures["lost"] == 0
    assert figures["alerts_per_second"] > 0 and figures["latency_p99_ms"] > 0
    assert "alerts/s" in proc.stdout
