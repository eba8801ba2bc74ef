"""Keep a world on disk: atomic JSON save/load, and re-open-or-create.

The one place in :mod:`aiops.sim` that writes files, through
:func:`aiops.statedir.write_atomic` (temporary file, fsync, rename, fsync of the
directory), so a crash mid-save leaves the previous state intact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiops.config.sources import SandboxConfig
from aiops.errors import PermanentError
from aiops.sim.world import STATE_VERSION, World, settings
from aiops.statedir import write_atomic


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` as JSON to ``path`` atomically and durably."""
    write_atomic(path, json.dumps(state, separators=(",", ":")).encode())


def load_state(path: Path) -> dict[str, Any] | None:
    """The JSON state at ``path``, or None if there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PermanentError(f"sandbox state {path} is not valid JSON: {exc}") from exc
    if not isinstance(state, dict):
        raise PermanentError(f"sandbox state {path} is not a JSON object")
    return state


def save_world(world: World, path: Path) -> None:
    """Snapshot ``world`` under its lock and save it atomically."""
    with world.lock:
        save_state(path, world.to_state())


def open_world(config: SandboxConfig, state_path: Path | None, now: float) -> World:
    """The persisted world at ``state_path`` if it was built from the same settings,
    else a new world created at ``now`` (saved right away when a path is given)."""
    if state_path is not None:
        state = load_state(state_path)
        if (
            state is not None
            and state.get("version") == STATE_VERSION
            and state.get("settings") == settings(config)
        ):
            return World.from_state(state)
    world = World.create(config, now=now)
    if state_path is not None:
        save_world(world, state_path)
    return world
