"""The autoscale PNG zooms on the scored day that lost the most requests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from aiops.bench.autoscale import BenchConfig, BenchResult, run
from aiops.bench.autoscale_plot import draw, times, worst_day
from aiops.bench.traces import load_trace
from tests.paths import SHARED

TRACE = SHARED / "data" / "traces" / "nyc_taxi.csv"


@pytest.fixture(scope="module")
def replay() -> BenchResult:
    return run(load_trace(TRACE), BenchConfig(model="multi_seasonal", limit=1400, warmup=700,
                                              measure_cost=False))


def _dropping(r: BenchResult, which: int, steps: list[int]) -> BenchResult:
    """``r`` with policy ``which`` dropping requests only at ``steps`` (others: none)."""
    policies = []
    for i, p in enumerate(r.policies):
        dropped = np.zeros_like(p.dropped_steps)
        if i == which:
            dropped[steps] = 1000.0
        policies.append(dataclasses.replace(p, dropped_steps=dropped))
    return dataclasses.replace(r, policies=tuple(policies))


def test_the_zoom_is_the_whole_calendar_day_the_hpa_dropped_most_on(replay: BenchResult) -> None:
    """A scored step where only the HPA drops requests picks that step's calendar day, whole."""
    day_steps = round(86400 / replay.native_step)
    step = len(replay.demand) - 3 * day_steps  # in the scored part, a few days from the end
    lo, hi = worst_day(_dropping(replay, 0, [step]))
    t = times(replay).astype("datetime64[D]")
    assert lo <= step < hi and hi - lo == day_steps
    assert (t[lo:hi] == t[step]).all() and t[lo - 1] != t[step]


def test_without_hpa_drops_the_zoom_follows_the_shipped_policy(replay: BenchResult) -> None:
    """The HPA never short: the zoom is the day the shipped policy dropped requests on."""
    shipped = next(i for i, p in enumerate(replay.policies) if p.shipped)
    step = len(replay.demand) - 2 * round(86400 / replay.native_step)
    lo, hi = worst_day(_dropping(replay, shipped, [step]))
    assert lo <= step < hi


def test_warm_up_drops_never_pick_the_day(replay: BenchResult) -> None:
    """Requests dropped during the warm-up (not scored) do not choose the zoom (as many as on
    a later scored day: were they counted, the earlier day would win the tie)."""
    warm, scored = 10, len(replay.demand) - 5
    lo, hi = worst_day(_dropping(replay, 0, [warm, scored]))
    assert lo <= scored < hi and not lo <= warm < hi


def test_the_png_is_written(replay: BenchResult, tmp_path: Path) -> None:
    """draw writes a PNG file of the replay."""
    png = tmp_path / "replay.png"
    draw(replay, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
