"""Sandbox-like metric streams for detector tests: a real demand trace plus noise and faults.

Values follow the shape of the daemon's sandbox at 15 s steps: request rate from the
NYC taxi trace (interpolated), CPU and latency driven by utilization, memory flat with
noise, error rate as small Poisson counts, ready replicas constant.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import numpy.typing as npt

TRACE = Path(__file__).resolve().parents[3] / "shared" / "data" / "traces" / "nyc_taxi.csv"
STEP = 15.0
METRICS = ("cpu_usage", "memory_usage", "latency_p99", "request_rate", "error_rate",
           "ready_replicas")


def demand(n: int, *, offset: int = 0) -> npt.NDArray[np.float64]:
    """``n`` points of the NYC taxi trace at 15 s steps (30 min points interpolated)."""
    with TRACE.open() as fh:
        vals = np.array([float(r["value"]) for r in csv.DictReader(fh)])
    pos = (np.arange(n) + offset) * STEP / 1800.0
    out: npt.NDArray[np.float64] = np.interp(pos % len(vals), np.arange(len(vals)), vals)
    return out


def workload(n: int, seed: int, *, scale: float = 1.0) -> dict[str, npt.NDArray[np.float64]]:
    """A fault-free workload: six metrics, ``n`` samples each."""
    rng = np.random.default_rng(seed)
    rate = demand(n, offset=seed * 997) * scale / 100.0
    rate = rate * (1 + 0.05 * rng.standard_normal(n))
    util = np.clip(rate / (3 * 150.0), 0.05, 0.98)
    return {
        "request_rate": rate,
        "cpu_usage": np.clip(util * 3 * (1 + 0.08 * rng.standard_normal(n)), 0, None),
        "latency_p99": 0.12 + 0.05 * util / (1.02 - util) + 0.01 * rng.gamma(2.0, 1.0, n),
        "memory_usage": 512e6 * (1 + 0.01 * rng.standard_normal(n)),
        "error_rate": rng.poisson(0.3, n) / 15.0,
        "ready_replicas": np.full(n, 3.0),
    }
