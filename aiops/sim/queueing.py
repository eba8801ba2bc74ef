"""Load to latency and errors: a queueing-style response of a pool of pods.

p99 latency grows like ``1 + 0.5 * u / (1 - u)`` with utilization ``u`` (the M/M/1
waiting-time shape), so it is nearly flat at low load and rises sharply as ``u``
nears 1. Requests above :data:`MAX_UTILIZATION` of capacity are shed and count as
errors; with no capacity at all every request fails and p99 sits at its ceiling.

>>> round(latency_factor(0.5), 3)
1.5
>>> latency_factor(0.9) > 5 * latency_factor(0.1)
True
>>> shed_fraction(demand=100.0, capacity=50.0)
0.51
"""

from __future__ import annotations

import math

MAX_UTILIZATION = 0.98


def utilization(*, demand: float, capacity: float) -> float:
    """Demand over capacity; infinite when nothing can serve."""
    if capacity <= 0.0:
        return math.inf if demand > 0.0 else 0.0
    return demand / capacity


def latency_factor(u: float) -> float:
    """How many times the unloaded p99 a pool at utilization ``u`` shows."""
    r = min(max(u, 0.0), MAX_UTILIZATION)
    return 1.0 + 0.5 * r / (1.0 - r)


def shed_fraction(*, demand: float, capacity: float) -> float:
    """Share of requests rejected because they exceed what the pool can take."""
    if demand <= 0.0:
        return 0.0
    served = min(demand, capacity * MAX_UTILIZATION)
    return round(1.0 - served / demand, 12)
