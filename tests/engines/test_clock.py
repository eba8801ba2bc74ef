"""The daemon clock: accelerated, stepped, and never backwards after a restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aiops.engines.clock import Clock


def test_stepped_clock_moves_only_when_advanced() -> None:
    """A stepped clock is frozen until advanced, then moves by exactly that much."""
    c = Clock(origin=1000.0, speed=None)
    time.sleep(0.01)
    assert c.now() == 1000.0
    assert c.advance(15) == 1015.0
    assert c.real_seconds(15) == 0.0


def test_accelerated_clock_runs_faster_than_the_wall() -> None:
    """At speed 600 the clock moves 600 s per wall second, measured around the readings."""
    before = time.monotonic()
    c = Clock(origin=0.0, speed=600.0)
    after = time.monotonic()
    time.sleep(0.05)
    lo = time.monotonic()
    now = c.now()
    hi = time.monotonic()
    assert 600.0 * (lo - after) <= now <= 600.0 * (hi - before)
    assert now > 0.0
    assert c.real_seconds(60) == pytest.approx(0.1)


def test_resume_never_goes_back_in_time(tmp_path: Path) -> None:
    """A clock that ran ahead of the wall resumes from where it stopped."""
    f = tmp_path / "clock.json"
    ahead = time.time() + 3600
    Clock(origin=ahead, speed=None).save(f)
    resumed = Clock.resume(f, speed=1.0, wall=time.time())
    assert resumed.now() >= ahead


def test_resume_ignores_a_corrupt_state_file(tmp_path: Path) -> None:
    """A damaged clock file falls back to the wall clock instead of crashing."""
    f = tmp_path / "clock.json"
    f.write_text("{not json")
    assert Clock.resume(f, speed=None, wall=42.0).now() == 42.0


def test_only_stepped_clocks_advance() -> None:
    """Advancing a real-time clock is a programming error."""
    with pytest.raises(RuntimeError):
        Clock(origin=0.0, speed=1.0).advance(1)


def test_a_clock_following_a_frame_agrees_with_it_and_reports_it() -> None:
    """Clock.following(frame) reads the frame's simulated time and gives the frame back."""
    from aiops.sim.timeframe import TimeFrame

    wall = time.time()
    frame = TimeFrame(wall=wall - 10.0, sim=5_000.0, speed=60.0)
    c = Clock.following(frame, wall=wall)
    assert c.now() == pytest.approx(frame.sim_at(time.time()), abs=60.0 * 0.5)
    own = c.frame
    assert own is not None and own.speed == 60.0
    assert own.sim_at(wall + 1.0) == pytest.approx(frame.sim_at(wall + 1.0))
    assert Clock(origin=0.0, speed=None).frame is None  # a stepped clock maps to no wall time


def test_a_resumed_real_time_clock_is_the_identity_frame(tmp_path: Path) -> None:
    """Resumed at real speed with nothing saved, simulated time is wall time."""
    c = Clock.resume(tmp_path / "none.json", speed=1.0, wall=time.time())
    frame = c.frame
    assert frame is not None and frame.identity
