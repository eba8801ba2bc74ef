"""Tests for aiops.actuators.sandbox: the Actuator protocol over a persisted simulated world."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.actuators.base import Actuator
from aiops.actuators.sandbox import SandboxActuator
from aiops.config.sources import SandboxConfig
from aiops.errors import PermanentError
from aiops.model import Action, OutcomeStatus, Target
from aiops.sim import load_state, open_world

T0 = 1_700_000_000.0
CART = Target(kind="SandboxWorkload", namespace="shop", name="cart")


def test_satisfies_the_actuator_protocol() -> None:
    """SandboxActuator is an Actuator named 'sandbox'."""
    act = SandboxActuator(open_world(SandboxConfig(), None, T0), None)
    assert isinstance(act, Actuator)
    assert act.name == "sandbox"


def test_apply_saves_and_idempotency_survives_a_restart(tmp_path: Path) -> None:
    """A done action is persisted, so re-applying its id after a re-open is ALREADY_DONE."""
    path = tmp_path / "sandbox.json"
    config = SandboxConfig()
    act = SandboxActuator(open_world(config, path, T0), path)
    scale = Action(id="a-1", kind="scale", target=CART, params={"replicas": 7})
    assert act.apply(scale, now=T0 + 30.0).status is OutcomeStatus.DONE
    saved = load_state(path) or {}
    assert "a-1" in saved["applied"]
    again = SandboxActuator(open_world(config, path, T0 + 40.0), path)
    assert again.apply(scale, now=T0 + 40.0).status is OutcomeStatus.ALREADY_DONE
    state = again.observe(CART, now=T0 + 200.0)
    assert state.replicas == 7 and state.ready_replicas == 7


def test_dry_run_is_not_saved(tmp_path: Path) -> None:
    """A dry-run leaves the state file untouched."""
    path = tmp_path / "sandbox.json"
    act = SandboxActuator(open_world(SandboxConfig(), path, T0), path)
    before = path.read_bytes()
    probe = Action(id="p", kind="restart", target=CART, dry_run=True)
    assert act.apply(probe, now=T0 + 30.0).status is OutcomeStatus.DRY_RUN
    assert path.read_bytes() == before


def test_unknown_target_is_permanent() -> None:
    """Acting on a workload the sandbox lacks raises PermanentError; observing says missing."""
    act = SandboxActuator(open_world(SandboxConfig(), None, T0), None)
    ghost = Target(kind="SandboxWorkload", namespace="shop", name="ghost")
    with pytest.raises(PermanentError):
        act.apply(Action(id="x", kind="restart", target=ghost), now=T0)
    assert not act.observe(ghost, now=T0).exists
