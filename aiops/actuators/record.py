"""A recording actuator: applies nothing, remembers every action (dry runs, tests, trials).

It keeps a small model of each target (replicas, revision) so ``observe`` reflects
what was "applied", and it is idempotent on ``action.id`` like every actuator.

>>> from aiops.model import Action, Target
>>> rec = RecordingActuator(replicas=3)
>>> t = Target(kind="SandboxWorkload", namespace="shop", name="cart")
>>> rec.apply(Action(id="i1:0", kind="scale", target=t, params={"replicas": 5}), now=0.0).status
<OutcomeStatus.DONE: 'done'>
>>> rec.apply(Action(id="i1:0", kind="scale", target=t, params={"replicas": 5}), now=1.0).status
<OutcomeStatus.ALREADY_DONE: 'already-done'>
>>> rec.observe(t, now=2.0).replicas
5
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aiops.errors import PermanentError
from aiops.model import (
    Action,
    Outcome,
    OutcomeStatus,
    Reconciled,
    Reconciliation,
    Target,
    TargetState,
)

KINDS = frozenset({"scale", "restart", "rollback", "delete_pod"})


class RecordingActuator:
    """Records actions in ``applied`` instead of changing the world."""

    name = "record"

    def __init__(self, *, replicas: int = 2, revision: int = 2) -> None:
        self.applied: list[Action] = []
        self.calls: list[Action] = []
        self._done: dict[str, Outcome] = {}
        self._states: dict[Target, TargetState] = {}
        self._replicas = replicas
        self._revision = revision
        self._lock = threading.Lock()

    def set_state(self, state: TargetState) -> None:
        """Pretend a target looks like ``state`` (tests, fixtures)."""
        with self._lock:
            self._states[state.target] = state

    def _state(self, target: Target) -> TargetState:
        return self._states.get(target) or TargetState(
            target=target,
            replicas=self._replicas,
            ready_replicas=self._replicas,
            revision=self._revision,
        )

    def observe(self, target: Target, *, now: float) -> TargetState:
        with self._lock:
            return self._state(target)

    def apply(self, action: Action, *, now: float) -> Outcome:
        if action.kind not in KINDS:
            raise PermanentError(f"record actuator cannot {action.kind!r}")
        with self._lock:
            self.calls.append(action)
            if action.id in self._done:
                return replace(self._done[action.id], status=OutcomeStatus.ALREADY_DONE)
            before = self._state(action.target)
            after = self._after(before, action, now)
            info: dict[str, Any] = {"replicas": before.replicas, "revision": before.revision}
            done: dict[str, Any] = {"replicas": after.replicas, "revision": after.revision}
            if action.dry_run:
                return Outcome(
                    action_id=action.id,
                    status=OutcomeStatus.DRY_RUN,
                    message=f"would {action.kind}",
                    before=info,
                    after=done,
                )
            self._states[action.target] = after
            self.applied.append(action)
            out = Outcome(
                action_id=action.id,
                status=OutcomeStatus.DONE,
                message=f"recorded {action.kind}",
                before=info,
                after=done,
            )
            self._done[action.id] = out
            return out

    def reconcile(
        self, action: Action, *, before: Mapping[str, Any], now: float
    ) -> Reconciliation:
        """Done if this actuator recorded ``action.id``, else certainly not done."""
        with self._lock:
            done = action.id in self._done
        return Reconciliation(action_id=action.id,
                              status=Reconciled.DONE if done else Reconciled.NOT_DONE,
                              message="recorded" if done else "not recorded")

    @staticmethod
    def _after(s: TargetState, action: Action, now: float) -> TargetState:
        if action.kind == "scale":
            n = int(action.params["replicas"])
            return replace(s, replicas=n, ready_replicas=n, changed_at=now)
        if action.kind == "rollback":
            return replace(s, revision=max(1, s.revision - 1), changed_at=now)
        return replace(s, changed_at=now)

    def close(self) -> None:
        return None
