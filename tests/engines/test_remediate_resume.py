"""Crash safety: a new Remediator on the same journal resumes without repeating actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.actuators.record import RecordingActuator
from aiops.engines.remediate import Remediator
from aiops.journal import Journal
from aiops.model import Action, Outcome, Target, TargetState
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import LADDER, anomaly, runbook, sample


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs."""


class DiesAfterApply:
    """A real recording actuator that 'dies' right after the change took effect."""

    name = "dies"

    def __init__(self, inner: RecordingActuator) -> None:
        self.inner = inner

    def apply(self, action: Action, *, now: float) -> Outcome:
        self.inner.apply(action, now=now)
        raise Killed

    def observe(self, target: Target, *, now: float) -> TargetState:
        return self.inner.observe(target, now=now)

    def close(self) -> None:
        return None


def remediator(path: Path, actuator: object) -> Remediator:
    return Remediator([runbook(LADDER)], Journal(path), actuator, Metrics(),  # type: ignore[arg-type]
                      get_logger("test"))


def test_completed_step_is_never_reapplied_after_restart(tmp_path: Path) -> None:
    """After a crash in the verify phase, a new process resumes verifying, not re-scaling."""
    world = RecordingActuator(replicas=3)
    first = remediator(tmp_path / "j.sqlite", world)
    first.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    first.tick(1.0, {})
    assert len(world.applied) == 1
    # no close(): the first process just vanishes
    second = remediator(tmp_path / "j.sqlite", world)
    second.tick(50.0, sample("latency_p99", "checkout", t=50.0, value=0.9))
    second.tick(190.0, sample("latency_p99", "checkout", t=190.0, value=0.9))
    assert [a.kind for a in world.calls] == ["scale", "restart"]
    assert world.observe(Target(kind="SandboxWorkload", namespace="shop", name="checkout"),
                         now=0.0).replicas == 5


def test_action_left_started_is_reapplied_with_same_id(tmp_path: Path) -> None:
    """An action journaled 'started' when the process died is re-applied once, same id, no-op."""
    world = RecordingActuator(replicas=3)
    first = remediator(tmp_path / "j.sqlite", DiesAfterApply(world))
    first.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    with pytest.raises(Killed):
        first.tick(1.0, {})
    inc = first.journal.incidents()[0]
    started = first.journal.action(f"{inc.id}:0")
    assert started is not None and started.status == "started"
    world.set_state(TargetState(target=inc.target, replicas=5))  # the change took effect
    second = remediator(tmp_path / "j.sqlite", world)
    second.tick(30.0, {})
    assert [a.id for a in world.calls] == [f"{inc.id}:0", f"{inc.id}:0"]
    assert len(world.applied) == 1
    assert world.calls[1].params["replicas"] == 5  # the params first journaled, not 5+2
    done = second.journal.action(f"{inc.id}:0")
    assert done is not None and done.status == "done"
    assert done.outcome["status"] == "already-done"
    assert second.journal.incident(inc.id).phase == "verify"  # type: ignore[union-attr]


def test_cooldown_survives_restart(tmp_path: Path) -> None:
    """A resolved incident's cooldown is read back from the journal by a new process."""
    world = RecordingActuator(replicas=3)
    first = remediator(tmp_path / "j.sqlite", world)
    first.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    first.tick(1.0, {})
    first.tick(5.0, sample("latency_p99", "checkout", t=5.0, value=0.1))
    first.journal.close()
    second = remediator(tmp_path / "j.sqlite", world)
    p = second.handle(anomaly("latency_p99", "checkout", t=60.0), 60.0)[0]
    assert p.reasons[-1].startswith("skipped: cooldown 9m")


def test_done_action_before_phase_change_is_still_verified(tmp_path: Path) -> None:
    """Killed after the outcome was journaled but before 'verify': resume verifies, no re-apply."""
    from aiops.model import OutcomeStatus

    world = RecordingActuator(replicas=3)
    first = remediator(tmp_path / "j.sqlite", world)
    first.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    inc = first.journal.incidents()[0]
    aid = f"{inc.id}:0"
    first.journal.action_started(action_id=aid, incident=inc.id, step=0, kind="scale",
                                 target=inc.target, params={"replicas": 5}, dry_run=False,
                                 now=1.0)
    world.apply(Action(id=aid, kind="scale", target=inc.target, params={"replicas": 5}), now=1.0)
    first.journal.action_finished(aid, Outcome(action_id=aid, status=OutcomeStatus.DONE),
                                  now=1.0)
    second = remediator(tmp_path / "j.sqlite", world)
    second.tick(30.0, sample("latency_p99", "checkout", t=30.0, value=0.2))
    got = second.journal.incident(inc.id)
    assert got is not None and got.status == "resolved"
    assert [a.id for a in world.calls] == [aid]
    assert second.journal.last_closed_at("ladder", inc.target) == 30.0  # cooldown starts
