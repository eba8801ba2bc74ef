"""Shared sandbox fixtures: one trace, and snapshots of the default world before each fault."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from aiops.config.sources import SandboxConfig
from aiops.sim import Trace, World, load_trace

T0 = 1_700_000_000.0
MIN = 60.0


@pytest.fixture(scope="session")
def trace() -> Trace:
    return load_trace("builtin:nyc_taxi")


@pytest.fixture(scope="session")
def snapshots(trace: Trace) -> dict[int, dict[str, Any]]:
    """JSON states of an untouched default world at 24, 44, 64 and 104 minutes."""
    world = World.create(SandboxConfig(), now=T0, trace=trace)
    out: dict[int, dict[str, Any]] = {}
    for minute in (24, 44, 64, 104):
        world.advance(T0 + minute * MIN)
        out[minute] = json.loads(json.dumps(world.to_state()))
    return out


@pytest.fixture
def world_at(
    snapshots: dict[int, dict[str, Any]], trace: Trace
) -> Callable[[int], World]:
    """A fresh copy of the default world as it was at one of the snapshot minutes."""

    def make(minute: int) -> World:
        return World.from_state(json.loads(json.dumps(snapshots[minute])), trace=trace)

    return make
