"""Which clock a time shown to a person is on, and how it is printed.

The daemon's times (journal, timeline, logs of decisions) are *simulated* when it runs
on the sandbox or a replay, or faster than real time; they are *wall* times otherwise.
Every time the CLI prints carries that label, so nobody reads a simulated hour as a
real one.

>>> stamp(0.0, "sim")
'1970-01-01 00:00:00 UTC (sim)'
>>> span(5400.0, "wall")
'1h30m (wall)'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from aiops.config import Config, format_duration

ClockName = Literal["sim", "wall"]


def daemon_clock(cfg: Config, speed: float | None = None) -> ClockName:
    """``sim`` for the sandbox, replays and accelerated runs; ``wall`` otherwise."""
    effective = cfg.loop.speed if speed is None else speed
    if cfg.source.type in ("sandbox", "replay") or effective != 1.0:
        return "sim"
    return "wall"


def stamp(t: float, clock: ClockName) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS UTC (clock)``."""
    when = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{when} UTC ({clock})"


def span(seconds: float, clock: ClockName) -> str:
    """A duration as ``4m5s (clock)``."""
    return f"{format_duration(seconds)} ({clock})"
