"""The sandbox as a metrics source: each pull advances the simulated cluster.

>>> from aiops.config.sources import SandboxConfig
>>> src = SandboxSource(open_world(SandboxConfig(), None, 0.0), None)
>>> len(src.pull(15.0))
30
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aiops.model import Sample
from aiops.sim import World, open_world, save_world

__all__ = ["SandboxSource", "open_world"]

BACKFILL_STEP = 15.0


class SandboxSource:
    """Pulls every series of a :class:`aiops.sim.World`, saving it after each pull."""

    name = "sandbox"

    def __init__(self, world: World, state_path: Path | None = None) -> None:
        self.world = world
        self.state_path = state_path

    def pull(self, now: float) -> Sequence[Sample]:
        """Advance the world to ``now`` and return all its samples."""
        with self.world.lock:
            samples = self.world.samples(now)
            if self.state_path is not None:
                save_world(self.world, self.state_path)
        return samples

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        """Request history from before the world existed (the trace), every 15 s.

        Only ``request_rate`` has a past: the other series depend on the simulated
        cluster's state, which starts at creation.
        """
        with self.world.lock:
            return self.world.demand_history(start, end, BACKFILL_STEP)

    def close(self) -> None:
        """Save once more so a restart continues from here."""
        if self.state_path is not None:
            save_world(self.world, self.state_path)
