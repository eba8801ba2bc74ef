"""Two remediators on one journal (two replicas): every guard holds between them.

Each replica is a :class:`Remediator` with its own connection. The races are made
deterministic by letting one replica act *inside* the other's window: while B observes
the target (between reading its guards and journaling its decision), or while A's
actuator is applying an action.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from aiops.actuators.record import RecordingActuator
from aiops.engines.remediate import Remediator
from aiops.journal import ActionStatus, Journal
from aiops.model import Action, Outcome, ReasonCode, Target, TargetState
from aiops.runbook.lifecycle import Status
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import alert, runbook

BOUNCE = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: bounce}
spec:
  mode: auto
  triggers:
    - alert: {alertname: WebDown}
  target: {kind: SandboxWorkload, namespace: shop, name: '{{ labels.workload }}'}
  guards: GUARDS
  steps:
    - action: restart
"""
WEB = Target(kind="SandboxWorkload", namespace="shop", name="web")

Opener = Callable[[], Journal]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """A new connection per call (a replica) to one journal of each engine."""
    if request.param == "sqlite":
        return lambda: Journal(tmp_path / "j.sqlite")
    return request.getfixturevalue("pg_db").journal  # type: ignore[no-any-return]


class Hooked(RecordingActuator):
    """A recording actuator that runs ``during_observe``, ``during_apply`` (before the
    change) and ``after_apply`` (after it took effect) once each."""

    def __init__(self) -> None:
        super().__init__(replicas=3)
        self.during_observe: Callable[[], None] | None = None
        self.during_apply: Callable[[], None] | None = None
        self.after_apply: Callable[[], None] | None = None

    def observe(self, target: Target, *, now: float) -> TargetState:
        hook, self.during_observe = self.during_observe, None
        if hook is not None:
            hook()
        return super().observe(target, now=now)

    def apply(self, action: Action, *, now: float) -> Outcome:
        hook, self.during_apply = self.during_apply, None
        if hook is not None:
            hook()
        out = super().apply(action, now=now)
        hook, self.after_apply = self.after_apply, None
        if hook is not None:
            hook()
        return out


class Died(BaseException):
    """Stands in for SIGKILL of a replica: nothing after it runs."""


def _replica(j: Journal, world: RecordingActuator, guards: str) -> Remediator:
    return Remediator([runbook(BOUNCE.replace("GUARDS", guards))], j, world, Metrics(),
                      get_logger("replica"))


@pytest.mark.parametrize("guards", ["{cooldown: 1h}", "{max_runs: [{count: 1, per: 1h}]}"])
def test_a_window_is_judged_again_under_the_targets_lock(opener: Opener, guards: str) -> None:
    """B read 'no recent run' before A ran and closed one: B's decision still sees A's."""
    world_a, world_b = Hooked(), Hooked()
    a, b = _replica(opener(), world_a, guards), _replica(opener(), world_b, guards)

    def a_runs_one() -> None:
        a.handle(alert("WebDown", fingerprint="a", workload="web"), 100.0)
        a.tick(101.0, {})

    world_b.during_observe = a_runs_one  # B has read the journal's windows already
    plans = b.handle(alert("WebDown", fingerprint="b", workload="web"), 102.0)
    assert [a.id for a in world_a.applied] != [] and world_b.applied == []
    assert [p.reason.code for p in plans] == [
        ReasonCode.COOLDOWN if "cooldown" in guards else ReasonCode.MAX_RUNS]
    b.tick(103.0, {})
    a.tick(103.0, {})
    assert len(world_a.applied) + len(world_b.applied) == 1
    statuses = sorted(i.status.value for i in b.journal.incidents())
    assert statuses == ["completed"]


def test_two_replicas_apply_an_action_once(pg_db: object) -> None:
    """B ticks while A's action is being applied: B sees it started by a live replica."""
    opener = pg_db.journal  # type: ignore[attr-defined]
    world_a, world_b = Hooked(), Hooked()
    a, b = _replica(opener(), world_a, "{cooldown: 1h}"), _replica(opener(), world_b,
                                                                   "{cooldown: 1h}")
    a.handle(alert("WebDown", fingerprint="a", workload="web"), 100.0)
    inc = a.journal.incidents()[0]
    seen: list[ActionStatus] = []

    def b_ticks() -> None:
        b.tick(101.0, {})
        got = b.journal.action(f"{inc.id}:0")
        assert got is not None
        seen.append(got.status)

    world_a.during_apply = b_ticks
    a.tick(101.0, {})
    assert seen == [ActionStatus.STARTED]  # B left it alone
    assert [x.id for x in world_a.applied] == [f"{inc.id}:0"] and world_b.applied == []
    b.tick(102.0, {})
    got = b.journal.incident(inc.id)
    assert got is not None and got.status is Status.COMPLETED and world_b.calls == []


def test_a_dead_replicas_action_is_reconciled_by_the_survivor(pg_db: object) -> None:
    """A dies mid-apply (its session ends): B marks the action unknown and reconciles it."""
    opener = pg_db.journal  # type: ignore[attr-defined]
    world = Hooked()
    a = _replica(opener(), world, "{cooldown: 1h}")
    b = _replica(opener(), world, "{cooldown: 1h}")
    b.tick(50.0, {})  # B has had its first tick (its start-up recovery is behind it)
    a.handle(alert("WebDown", fingerprint="a", workload="web"), 100.0)
    inc = a.journal.incidents()[0]

    def die() -> None:
        a.journal.close()  # the process is gone, and its database session with it
        raise Died

    world.after_apply = die
    with pytest.raises(Died):
        a.tick(101.0, {})
    deadline, t = time.monotonic() + 30, 102.0
    while (got := b.journal.incident(inc.id)) is not None and got.status is Status.RUNNING:
        assert time.monotonic() < deadline, "B never took A's action over"
        b.tick(t, {})  # until the server has ended A's session
        t += 1.0
        time.sleep(0.02)
    assert got is not None and got.status is Status.COMPLETED
    assert [x.id for x in world.applied] == [f"{inc.id}:0"]  # never applied twice
    codes = [e.code for e in b.journal.timeline(inc.id)]
    assert "reconciled-done" in codes
