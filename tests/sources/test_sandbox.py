"""Tests for aiops.sources.sandbox: the Source protocol over a persisted simulated world."""

from __future__ import annotations

from pathlib import Path

from aiops.config.sources import SandboxConfig
from aiops.sim import WORKLOADS, load_state
from aiops.sources.base import Source
from aiops.sources.sandbox import SandboxSource, open_world

T0 = 1_700_000_000.0


def test_satisfies_the_source_protocol() -> None:
    """SandboxSource is a Source named 'sandbox'."""
    src = SandboxSource(open_world(SandboxConfig(), None, T0), None)
    assert isinstance(src, Source)
    assert src.name == "sandbox"


def test_backfill_is_the_request_history_before_creation() -> None:
    """Backfill gives request_rate only, every 15 s, before the world existed, repeatably."""
    world = open_world(SandboxConfig(), None, T0)
    src = SandboxSource(world, None)
    history = list(src.backfill(T0 - 3600, T0 + 3600))
    assert {s.key.metric for s in history} == {"request_rate"}
    assert len(history) == 240 * 5 and max(s.t for s in history) < T0
    frontend = [s.value for s in history if s.key.label("workload") == "frontend"]
    level = world.demand_level(T0 - 15) * WORKLOADS["frontend"].base_rps
    assert abs(frontend[-1] / level - 1) < 0.2, "demand follows the trace at the base rate"
    assert len(set(frontend)) == len(frontend), "history carries noise like live demand"
    assert [s.value for s in src.backfill(T0 - 3600, T0)] == [s.value for s in history]
    assert list(src.backfill(T0, T0 + 60)) == []


def test_pull_advances_the_world_and_returns_all_series() -> None:
    """Each pull stamps samples with now and moves the world to now."""
    world = open_world(SandboxConfig(), None, T0)
    src = SandboxSource(world, None)
    samples = src.pull(T0 + 60.0)
    assert {s.t for s in samples} == {T0 + 60.0}
    assert {s.key.metric for s in samples} == {
        "cpu_usage", "memory_usage", "latency_p99", "request_rate", "error_rate",
        "ready_replicas",
    }
    assert world.t == T0 + 60.0


def test_pull_persists_and_a_restart_continues_the_same_world(tmp_path: Path) -> None:
    """After a pull the state file holds the world; a re-opened source continues it."""
    path = tmp_path / "state" / "sandbox.json"
    config = SandboxConfig()
    reference = SandboxSource(open_world(config, None, T0), None)
    src = SandboxSource(open_world(config, path, T0), path)
    src.pull(T0 + 300.0)
    assert (load_state(path) or {})["t"] == T0 + 300.0
    src.close()
    reopened = SandboxSource(open_world(config, path, T0 + 301.0), path)
    reference.pull(T0 + 300.0)
    assert reopened.pull(T0 + 600.0) == reference.pull(T0 + 600.0)
