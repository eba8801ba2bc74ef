"""Tests for aiops.sim.store: atomic JSON state files and re-opening the same world."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.config.sources import SandboxConfig
from aiops.errors import PermanentError
from aiops.sim import World, load_state, open_world, save_state, save_world
from tests.sim.helpers import T0, action, at, target


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    """A saved state loads back equal and leaves no temporary files behind."""
    path = tmp_path / "deep" / "sandbox.json"
    save_state(path, {"a": [1, 2.5, None], "b": {"c": "d"}})
    assert load_state(path) == {"a": [1, 2.5, None], "b": {"c": "d"}}
    assert [p.name for p in path.parent.iterdir()] == ["sandbox.json"]


def test_failed_save_keeps_the_previous_state(tmp_path: Path) -> None:
    """A save that fails midway leaves the old file intact and no temp file."""
    path = tmp_path / "sandbox.json"
    save_state(path, {"v": 1})
    with pytest.raises(TypeError):
        save_state(path, {"v": object()})
    assert load_state(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.json"]


def test_load_missing_is_none_and_garbage_is_permanent(tmp_path: Path) -> None:
    """No file means no state; a corrupt file is a PermanentError naming it."""
    assert load_state(tmp_path / "none.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PermanentError, match=r"bad\.json"):
        load_state(bad)


def test_open_world_reopens_the_same_world(tmp_path: Path) -> None:
    """A re-opened world keeps its creation time, actions and future samples."""
    path = tmp_path / "sandbox.json"
    config = SandboxConfig(fault_schedule="none")
    first = open_world(config, path, T0)
    assert path.exists()
    first.apply(action("s", "scale", "cart", replicas=5), at(10))
    save_world(first, path)
    again = open_world(config, path, T0 + 9999.0)
    assert again.created_at == T0
    assert again.observe(target("cart"), at(10)).replicas == 5
    assert again.samples(at(20)) == first.samples(at(20))


def test_open_world_starts_over_when_settings_change(tmp_path: Path) -> None:
    """A state saved under other settings (here the seed) is replaced by a new world."""
    path = tmp_path / "sandbox.json"
    open_world(SandboxConfig(seed=1), path, T0)
    fresh = open_world(SandboxConfig(seed=2), path, T0 + 500.0)
    assert fresh.created_at == T0 + 500.0
    assert World.from_state(load_state(path) or {}).settings["seed"] == 2
