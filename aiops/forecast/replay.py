"""Simulated pods: what a replica count would have served, replayed on observed demand.

A pod created at ``t`` is ready at ``t + startup``; scale-down removes the newest
(least ready) pods first, as the ReplicaSet controller does. :meth:`SimulatedPods.serve`
says for how long, within an interval, demand was above the ready capacity and how many
requests were dropped. The autoscaling benchmark replays its policies with it, and the
capacity gate (:mod:`aiops.forecast.gate`) replays the reactive and predictive policies
on the demand actually observed.

>>> pods = SimulatedPods(startup=90.0)
>>> pods.scale_to(2, now=0.0)
>>> pods.ready(60.0), pods.ready(90.0)
(0, 2)
>>> pods.serve(150.0, 60.0, 120.0, 100.0)
(30.0, 4500.0)
"""

from __future__ import annotations

import bisect
import itertools

import numpy as np
from numpy.typing import NDArray


class SimulatedPods:
    """The pods of one simulated workload: their ready times, sorted."""

    def __init__(self, *, startup: float, ready_at: list[float] | None = None) -> None:
        self.startup = startup
        self.ready_at: list[float] = sorted(ready_at or [])

    def __len__(self) -> int:
        return len(self.ready_at)

    def scale_to(self, n: int, now: float) -> None:
        """Create pods (ready ``startup`` from ``now``) or remove the newest, to ``n``."""
        while len(self.ready_at) < n:
            self.ready_at.append(now + self.startup)
        del self.ready_at[max(n, 0) :]

    def ready(self, now: float) -> int:
        """Pods ready at ``now``."""
        return bisect.bisect_right(self.ready_at, now)

    def serve(self, demand: float, t0: float, t1: float, cap: float) -> tuple[float, float]:
        """Seconds of ``[t0, t1)`` with ``demand`` above ready capacity, and requests dropped."""
        cuts = [t for t in self.ready_at if t0 < t < t1]
        under = dropped = 0.0
        for a, b in itertools.pairwise([t0, *cuts, t1]):
            short = demand - self.ready(a) * cap
            if short > 1e-9:
                under += b - a
                dropped += short * (b - a)
        return under, dropped

    def state(self) -> NDArray[np.float64]:
        """Ready times as an array (for snapshots)."""
        return np.asarray(self.ready_at, dtype=np.float64)

    def load_state(self, ready_at: NDArray[np.float64]) -> None:
        """Load :meth:`state`."""
        self.ready_at = sorted(float(t) for t in ready_at)
