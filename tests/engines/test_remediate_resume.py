"""Crash safety: a new Remediator on the same journal resumes without repeating actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiops.actuators.base import Executors
from aiops.actuators.command import CommandActuator
from aiops.actuators.record import RecordingActuator
from aiops.engines.operators import Attendance
from aiops.engines.remediate import Remediator
from aiops.journal import ActionStatus, Journal
from aiops.model import (
    Action,
    Outcome,
    OutcomeStatus,
    ReasonCode,
    Target,
    TargetState,
)
from aiops.runbook.lifecycle import Phase, Status
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.runbook.factories import LADDER, anomaly, runbook, sample

HEAD = LADDER[: LADDER.index("  steps:")]


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


class Blind(RecordingActuator):
    """Applies like a recording actuator but cannot read anything back (no reconcile)."""

    reconcile = None  # type: ignore[assignment]


def remediator(path: Path, actuator: object, text: str = LADDER) -> Remediator:
    return Remediator([runbook(text)], Journal(path), actuator,  # type: ignore[arg-type]
                      Metrics(), get_logger("test"))


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


def test_action_left_started_is_reconciled_not_reapplied(tmp_path: Path) -> None:
    """Killed between apply and outcome: the restart reads the world back and goes on."""
    world = RecordingActuator(replicas=3)
    first = remediator(tmp_path / "j.sqlite", DiesAfterApply(world))
    first.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    with pytest.raises(Killed):
        first.tick(1.0, {})
    inc = first.journal.incidents()[0]
    started = first.journal.action(f"{inc.id}:0")
    assert started is not None and started.status is ActionStatus.STARTED
    second = remediator(tmp_path / "j.sqlite", world)
    second.tick(30.0, {})
    assert [a.id for a in world.calls] == [f"{inc.id}:0"]  # never applied a second time
    done = second.journal.action(f"{inc.id}:0")
    assert done is not None and done.status is ActionStatus.DONE
    got = second.journal.incident(inc.id)
    assert got is not None and got.phase is Phase.VERIFY
    codes = [e.code for e in second.journal.timeline(inc.id)]
    assert "outcome-unknown" in codes and "reconciled-done" in codes


def test_action_that_never_took_effect_is_applied_once_after_restart(tmp_path: Path) -> None:
    """Killed after 'started' but before the actuator ran: reconcile says not done; apply."""
    world = RecordingActuator(replicas=3)
    first = remediator(tmp_path / "j.sqlite", world)
    first.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    inc = first.journal.incidents()[0]
    with first.journal.transaction() as tx:
        tx.action_started(action_id=f"{inc.id}:0", incident=inc.id, step=0, kind="scale",
                          target=inc.target, params={"replicas": 5}, dry_run=False, now=1.0)
    second = remediator(tmp_path / "j.sqlite", world)
    second.tick(30.0, {})
    assert [(a.id, a.params["replicas"]) for a in world.applied] == [(f"{inc.id}:0", 5)]
    codes = [e.code for e in second.journal.timeline(inc.id)]
    assert "reconciled-not-done" in codes


def test_unknown_outcome_of_a_blind_step_needs_a_person(tmp_path: Path) -> None:
    """No reconcile and not idempotent: never re-run; the incident waits in needs-attention."""
    world = Blind(replicas=3)
    first = remediator(tmp_path / "j.sqlite", DiesAfterApply(world))
    first.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    with pytest.raises(Killed):
        first.tick(1.0, {})
    second = remediator(tmp_path / "j.sqlite", world)
    second.tick(30.0, {})
    second.tick(60.0, {})
    inc = second.journal.incidents()[0]
    assert inc.status is Status.NEEDS_ATTENTION and len(world.calls) == 1
    assert second.journal.holding(inc.target) == inc.id  # nothing else runs there meanwhile
    assert second.metrics.registry.get_sample_value("aiops_incidents_needing_attention") == 1
    # a person says it did take effect: the ladder goes on to verify, still no re-run
    got = second.attend(inc.id, decision=Attendance.APPLIED, operator="alice", now=70.0)
    assert got.status is Status.RUNNING
    second.tick(71.0, {})
    assert len(world.calls) == 1
    assert second.journal.incident(inc.id).phase is Phase.VERIFY  # type: ignore[union-attr]


def test_unknown_outcome_of_an_idempotent_step_is_rerun_with_the_same_id(
        tmp_path: Path) -> None:
    """A step marked idempotent is re-run (same action id) when its outcome was lost."""
    text = HEAD + "  steps:\n    - action: restart\n      idempotent: true\n"
    world = Blind(replicas=3)
    first = remediator(tmp_path / "j.sqlite", DiesAfterApply(world), text)
    first.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    with pytest.raises(Killed):
        first.tick(1.0, {})
    second = remediator(tmp_path / "j.sqlite", world, text)
    second.tick(30.0, {})
    inc = second.journal.incidents()[0]
    assert [a.id for a in world.calls] == [f"{inc.id}:0", f"{inc.id}:0"]
    assert inc.status is Status.COMPLETED
    assert "rerun-idempotent" in [e.code for e in second.journal.timeline(inc.id)]


def test_command_that_times_out_is_unknown_not_retried(tmp_path: Path) -> None:
    """A command killed by its timeout may have acted: not idempotent -> needs-attention."""
    text = HEAD + ("  steps:\n    - action: command\n"
                   "      with: {argv: [sleep, '5'], timeout: 0.2s}\n")
    executors = Executors(workloads=RecordingActuator(), by_kind={"command": CommandActuator()})
    r = Remediator([runbook(text)], Journal(tmp_path / "j.sqlite"), executors, Metrics(),
                   get_logger("test"))
    r.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    r.tick(1.0, {})
    inc = r.journal.incidents()[0]
    assert inc.status is Status.NEEDS_ATTENTION
    action = r.journal.action(f"{inc.id}:0")
    assert action is not None and action.status is ActionStatus.UNKNOWN


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
    assert p.reason.code is ReasonCode.COOLDOWN and p.reason.message.startswith("cooldown 9m")


def test_done_action_before_phase_change_is_still_verified(tmp_path: Path) -> None:
    """An action journaled done while its incident still says 'apply' is verified, not redone."""
    world = RecordingActuator(replicas=3)
    first = remediator(tmp_path / "j.sqlite", world)
    first.handle(anomaly("latency_p99", "checkout", t=0.0), 0.0)
    inc = first.journal.incidents()[0]
    aid = f"{inc.id}:0"
    with first.journal.transaction() as tx:
        tx.action_started(action_id=aid, incident=inc.id, step=0, kind="scale",
                          target=inc.target, params={"replicas": 5}, dry_run=False, now=1.0)
    world.apply(Action(id=aid, kind="scale", target=inc.target, params={"replicas": 5}), now=1.0)
    with first.journal.transaction() as tx:
        tx.action_status(aid, ActionStatus.DONE, now=1.0,
                         outcome=Outcome(action_id=aid, status=OutcomeStatus.DONE))
    second = remediator(tmp_path / "j.sqlite", world)
    second.tick(30.0, sample("latency_p99", "checkout", t=30.0, value=0.2))
    got = second.journal.incident(inc.id)
    assert got is not None and got.status is Status.RESOLVED
    assert [a.id for a in world.calls] == [aid]
    assert second.journal.last_closed_at("ladder", inc.target) == 30.0  # cooldown starts
