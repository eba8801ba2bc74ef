"""Simulated pods and policy replays: what a policy would have served on observed demand.

A pod created at ``t`` is ready at ``t + startup``; scale-down removes the newest
(least ready) pods first, as the ReplicaSet controller does. :meth:`SimulatedPods.serve`
says for how long, within an interval, demand was above the ready capacity and how many
requests were dropped. The autoscaling benchmark replays its policies with it.
:class:`PolicyReplay` is one policy's replay as the capacity gate
(:mod:`aiops.forecast.gate`) keeps it: its pods and policy history, under-provisioned
seconds over a window (in partial sums), replica-seconds as a forgetting sum, and the
coverage of its upper band; :class:`ReplayScore` is what it reports.

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
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aiops.forecast.capacity import PolicyState


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


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplayScore:
    """One policy replayed: steps and under-provisioned seconds over the window, its
    replica-seconds (a sum forgetting over ``cost_window``), and its band's coverage."""

    steps: int
    under_seconds: float
    replica_seconds: float
    coverage: float | None = None
    quantile: float | None = None

    @property
    def replica_hours(self) -> float:
        return self.replica_seconds / 3600.0


class PolicyReplay:
    """One policy replayed: simulated pods, its policy history, windowed under-provisioned
    seconds (``buckets`` partial sums), forgetting replica-second sums and band coverage."""

    def __init__(
        self, *, buckets: int, coverage_window: int, startup: float, min_replicas: int
    ) -> None:
        self.pods = SimulatedPods(startup=startup)
        self.pods.scale_to(min_replicas, -startup)
        self.policy = PolicyState()
        self.under = np.zeros(buckets)
        self.replica = 0.0
        self.hits = np.zeros(coverage_window, dtype=np.int8)
        self.covered = 0
        self.hit_count = 0  # sum of ``hits``, kept in step
        self.pending: list[float] = []  # upper forecasts at the lead, oldest first

    def score(self, steps: int, quantile: float | None) -> ReplayScore:
        """Steps replayed, under-provisioned seconds of the window, cost and coverage."""
        full = self.covered >= len(self.hits)
        cov = self.hit_count / len(self.hits) if full else None
        return ReplayScore(steps=steps, under_seconds=float(self.under.sum()),
                           replica_seconds=self.replica, coverage=cov, quantile=quantile)

    def check(self, demand: float, upper: float, lead: int) -> None:
        """Score the upper band made ``lead`` cycles ago against ``demand``; queue ``upper``."""
        # The upper made ``lead`` cycles ago at the lead is the band for this demand.
        if len(self.pending) >= lead:
            old = self.pending.pop(0)
            if math.isfinite(old) and math.isfinite(demand):
                slot, hit = self.covered % len(self.hits), int(demand <= old)
                self.hit_count += hit - int(self.hits[slot])
                self.hits[slot] = hit
                self.covered += 1
        self.pending.append(upper)

    def state(self) -> dict[str, NDArray[Any]]:
        """All of it as named arrays."""
        return {
            "pods": self.pods.state(),
            **{f"policy.{k}": v for k, v in self.policy.arrays().items()},
            "under": self.under.copy(),
            "replica": np.array(self.replica),
            "hits": self.hits.copy(),
            "covered": np.array(self.covered, dtype=np.int64),
            "pending": np.asarray(self.pending, dtype=np.float64),
        }

    def load_state(self, state: Mapping[str, NDArray[Any]]) -> None:
        """Load :meth:`state` (same window sizes)."""
        if state["under"].shape != self.under.shape or state["hits"].shape != self.hits.shape:
            raise ValueError("gate state was saved with other window sizes")
        self.pods.load_state(state["pods"])
        self.policy = PolicyState.from_arrays(
            {k[len("policy.") :]: v for k, v in state.items() if k.startswith("policy.")}
        )
        self.under = state["under"].astype(np.float64, copy=True)
        self.replica = float(state["replica"])
        self.hits = state["hits"].astype(np.int8, copy=True)
        self.hit_count = int(self.hits.sum())
        self.covered = int(state["covered"])
        self.pending = [float(v) for v in state["pending"]]
