"""Small helpers for sandbox tests: time in minutes, windowed means, targets, actions."""

from __future__ import annotations

from typing import Any

import numpy as np

from aiops.model import Action, Target
from aiops.sim import World

T0 = 1_700_000_000.0
MIN = 60.0


def at(minute: float) -> float:
    return T0 + minute * MIN


def target(name: str) -> Target:
    return Target(kind="SandboxWorkload", namespace="shop", name=name)


def action(id: str, kind: str, name: str, **params: Any) -> Action:
    return Action(id=id, kind=kind, target=target(name), params=params)


def mean(world: World, workload: str, metric: str, start: float, end: float) -> float:
    """Mean of one series sampled every 15 s over minutes [start, end)."""
    values: list[float] = []
    for t in np.arange(at(start), at(end), 15.0):
        world.advance(float(t))
        values.append(world.metrics(workload)[metric])
    return float(np.mean(values))
