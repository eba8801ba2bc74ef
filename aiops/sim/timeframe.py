"""How a simulated clock maps onto wall time: one anchor and a speed. Pure.

A :class:`TimeFrame` says that simulated time ``sim`` was wall time ``wall`` and that
simulated time runs ``speed`` times faster. Everything that must agree on time in one
run (the world server, the daemon's clock, the Prometheus source that reads wall-clock
data for an accelerated daemon) shares one frame, so at 60x a runbook's ``for: 2m`` and a
Prometheus rule's ``for: 2s`` are the same two simulated minutes.

>>> f = TimeFrame(wall=1000.0, sim=5000.0, speed=60.0)
>>> f.sim_at(1001.0), f.wall_at(5060.0)
(5060.0, 1001.0)
>>> TimeFrame.from_dict(f.to_dict()) == f
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class FrameError(ValueError):
    """A time frame that is not finite or whose speed is not positive."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TimeFrame:
    """Simulated time ``sim`` happened at wall time ``wall``; it runs at ``speed``."""

    wall: float
    sim: float
    speed: float

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.wall, self.sim, self.speed)):
            raise FrameError("a time frame must be finite")
        if self.speed <= 0:
            raise FrameError("a time frame's speed must be positive")

    def sim_at(self, wall: float) -> float:
        """Simulated time at wall time ``wall``."""
        return self.sim + (wall - self.wall) * self.speed

    def wall_at(self, sim: float) -> float:
        """Wall time at simulated time ``sim``."""
        return self.wall + (sim - self.sim) / self.speed

    def wall_seconds(self, simulated: float) -> float:
        """Wall seconds that ``simulated`` seconds take."""
        return simulated / self.speed

    @property
    def identity(self) -> bool:
        """Simulated time is wall time (real speed, same origin)."""
        return self.speed == 1.0 and abs(self.sim - self.wall) < 1e-6

    def to_dict(self) -> dict[str, float]:
        return {"wall": self.wall, "sim": self.sim, "speed": self.speed}

    @classmethod
    def from_dict(cls, data: Any) -> TimeFrame:
        """A frame from its JSON form; :class:`FrameError` when it is not one."""
        if not isinstance(data, dict):
            raise FrameError("a time frame is an object {wall, sim, speed}")
        try:
            return cls(wall=float(data["wall"]), sim=float(data["sim"]),
                       speed=float(data["speed"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise FrameError(f"not a time frame: {exc}") from None
