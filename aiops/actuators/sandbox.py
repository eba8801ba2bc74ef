"""The sandbox as an actuator: actions change the simulated cluster.

>>> from aiops.config.sources import SandboxConfig
>>> from aiops.model import Action, Target
>>> from aiops.sim import open_world
>>> act = SandboxActuator(open_world(SandboxConfig(), None, 0.0), None)
>>> t = Target(kind="SandboxWorkload", namespace="shop", name="frontend")
>>> act.apply(Action(id="a1", kind="scale", target=t, params={"replicas": 8}), now=10.0).status
<OutcomeStatus.DONE: 'done'>
>>> act.observe(t, now=10.0).replicas
8
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiops.model import (
    Action,
    Outcome,
    OutcomeStatus,
    Reconciled,
    Reconciliation,
    Target,
    TargetState,
)
from aiops.sim import World, save_world


class SandboxActuator:
    """Applies actions to a :class:`aiops.sim.World`, saving it after each change."""

    name = "sandbox"

    def __init__(self, world: World, state_path: Path | None = None) -> None:
        self.world = world
        self.state_path = state_path

    def apply(self, action: Action, *, now: float) -> Outcome:
        """Apply ``action`` (see :meth:`aiops.sim.World.apply`) and persist a change."""
        with self.world.lock:
            outcome = self.world.apply(action, now)
            if outcome.status is OutcomeStatus.DONE and self.state_path is not None:
                save_world(self.world, self.state_path)
        return outcome

    def observe(self, target: Target, *, now: float) -> TargetState:
        return self.world.observe(target, now)

    def reconcile(
        self, action: Action, *, before: Mapping[str, Any], now: float
    ) -> Reconciliation:
        """The world remembers every action id it applied (and persists them with itself)."""
        seen = self.world.applied(action.id)
        if seen is not None:
            return Reconciliation(action_id=action.id, status=Reconciled.DONE,
                                  message=f"the sandbox applied {action.id} at t={seen['t']:.0f}")
        return Reconciliation(action_id=action.id, status=Reconciled.NOT_DONE,
                              message=f"the sandbox has no record of {action.id}")

    def close(self) -> None:
        if self.state_path is not None:
            save_world(self.world, self.state_path)
