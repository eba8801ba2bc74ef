"""The daemon's clock: real time, accelerated time, or stepped time.

Every pure component takes ``now`` as an argument; this is where ``now`` comes from.
``speed=1`` is wall-clock time; ``speed=60`` runs an hour per real minute from the
moment the clock starts; ``stepped`` clocks only move when :meth:`Clock.advance` is
called, which makes tests and ``--speed max`` runs deterministic and as fast as the
machine allows.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from aiops.sim.timeframe import TimeFrame
from aiops.statedir import write_atomic


@dataclass
class Clock:
    """A monotonic clock in Unix seconds, optionally accelerated or stepped."""

    origin: float
    speed: float | None = 1.0  # None: stepped
    #: Wall time when ``now()`` was ``origin`` (defaults to the wall time at creation).
    wall_origin: float | None = None
    _real_origin: float = 0.0
    _stepped_now: float = 0.0

    def __post_init__(self) -> None:
        self._real_origin = time.monotonic()
        self._stepped_now = self.origin
        if self.wall_origin is None:
            self.wall_origin = time.time()

    @classmethod
    def following(cls, frame: TimeFrame, *, wall: float) -> Clock:
        """A clock on ``frame`` (another process's clock, e.g. the world server's)."""
        return cls(origin=frame.sim_at(wall), speed=frame.speed, wall_origin=wall)

    @property
    def frame(self) -> TimeFrame | None:
        """How this clock maps onto wall time; None for a stepped clock (it does not)."""
        if self.speed is None:
            return None
        assert self.wall_origin is not None
        return TimeFrame(wall=self.wall_origin, sim=self.origin, speed=self.speed)

    @classmethod
    def resume(cls, state_file: Path | None, *, speed: float | None, wall: float) -> Clock:
        """Start at ``wall`` or where a previous run's clock stopped, whichever is later.

        An accelerated clock runs ahead of the wall; after a restart it must not go
        back in time, or the sandbox world and the journal would see time reverse.
        """
        origin = wall
        if state_file is not None and state_file.exists():
            with contextlib.suppress(ValueError, KeyError, OSError, TypeError):
                origin = max(origin, float(json.loads(state_file.read_text())["now"]))
        return cls(origin=origin, speed=speed, wall_origin=wall)

    @property
    def stepped(self) -> bool:
        return self.speed is None

    def now(self) -> float:
        if self.speed is None:
            return self._stepped_now
        return self.origin + (time.monotonic() - self._real_origin) * self.speed

    def advance(self, seconds: float) -> float:
        """Move a stepped clock forward; returns the new time."""
        if self.speed is not None:
            raise RuntimeError("only a stepped clock can be advanced")
        self._stepped_now += seconds
        return self._stepped_now

    def real_seconds(self, simulated: float) -> float:
        """Wall seconds that ``simulated`` seconds take at this speed (0 when stepped)."""
        return 0.0 if self.speed is None else simulated / self.speed

    def save(self, state_file: Path) -> None:
        """Remember where the clock is, atomically, for :meth:`resume`."""
        write_atomic(state_file, json.dumps({"now": self.now()}).encode())
