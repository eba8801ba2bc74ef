"""Read-side values of the journal: incidents, timeline events, actions (JSON-friendly)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiops.model import Decision, Plan, PlannedStep, StepControl, Target, VerifySpec
from aiops.reasons import Reason, ReasonCode
from aiops.runbook.lifecycle import OPEN, Phase, Position, Status

#: Open statuses as SQL values (kept for callers that filter by them).
OPEN_STATUSES = tuple(sorted(s.value for s in OPEN))


class ActionStatus(StrEnum):
    """An action's record: started before apply, then one of the outcomes.

    ``unknown``: it was started by a process that died before recording the outcome (or
    the actuator could not tell); it is reconciled, never blindly re-run.
    ``retrying``: a temporary failure that the actuator guarantees left nothing applied
    or is safe to repeat under the same id.
    """

    STARTED = "started"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True, slots=True)
class EventView:
    """One entry of an incident's (or the global) timeline."""

    id: int
    t: float
    kind: str
    reason: str
    code: str = ""
    incident: str | None = None
    runbook: str = ""
    target: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "t": self.t, "kind": self.kind, "code": self.code,
                "reason": self.reason, "incident": self.incident, "runbook": self.runbook,
                "target": self.target, "detail": dict(self.detail)}


@dataclass(frozen=True, kw_only=True, slots=True)
class ActionView:
    """One action: its idempotency key, status and outcome, and the world before it."""

    id: str
    incident: str
    step: int
    kind: str
    target: str
    status: ActionStatus
    dry_run: bool
    started_at: float
    finished_at: float | None = None
    attempts: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    before: Mapping[str, Any] = field(default_factory=dict)
    outcome: Mapping[str, Any] = field(default_factory=dict)
    #: The process that started it (host/pid/nonce): the one allowed to apply it.
    owner: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "incident": self.incident, "step": self.step,
                "kind": self.kind, "target": self.target, "status": self.status.value,
                "dry_run": self.dry_run, "started_at": self.started_at,
                "finished_at": self.finished_at, "attempts": self.attempts,
                "params": dict(self.params), "before": dict(self.before),
                "outcome": dict(self.outcome), "owner": self.owner}


@dataclass(frozen=True, kw_only=True, slots=True)
class IncidentView:
    """An incident: one run of a runbook on a target, and where its ladder stands.

    ``phase`` is ``apply`` (step ``step`` not yet done), ``verify`` (done, waiting for
    its verification since ``phase_since``) or ``closed``; ``close_code`` is the reason
    code it closed with.
    """

    id: str
    runbook: str
    target: Target
    status: Status
    mode: str
    opened_at: float
    closed_at: float | None
    step: int
    phase: Phase
    phase_since: float
    attempts: int
    next_try_at: float | None
    signal_key: str
    labels: Mapping[str, str]
    reasons: tuple[Reason, ...]
    steps: tuple[PlannedStep, ...]
    approval_expires_at: float | None = None
    approver: str | None = None
    acted: bool = False
    close_code: str = ""

    @property
    def open(self) -> bool:
        return self.status.open

    @property
    def position(self) -> Position:
        return Position(status=self.status, phase=self.phase, step=self.step,
                        phase_since=self.phase_since, attempts=self.attempts,
                        next_try_at=self.next_try_at, closed_at=self.closed_at)

    def plan(self) -> Plan:
        """The plan the incident runs (as decided when it opened)."""
        decision = {Status.AWAITING_APPROVAL: Decision.AWAIT_APPROVAL}.get(
            self.status, Decision.DRY_RUN if self.mode == "dry-run" else Decision.RUN
        )
        return Plan(
            runbook=self.runbook, target=self.target, decision=decision, reasons=self.reasons,
            steps=self.steps, labels=dict(self.labels), signal_key=self.signal_key,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "runbook": self.runbook, "target": str(self.target),
            "target_kind": self.target.kind, "namespace": self.target.namespace,
            "name": self.target.name, "status": self.status.value, "mode": self.mode,
            "opened_at": self.opened_at, "closed_at": self.closed_at, "step": self.step,
            "phase": self.phase.value, "phase_since": self.phase_since,
            "attempts": self.attempts, "signal_key": self.signal_key,
            "labels": dict(self.labels), "reasons": [r.to_dict() for r in self.reasons],
            "steps": [step_to_dict(s) for s in self.steps],
            "approval_expires_at": self.approval_expires_at, "approver": self.approver,
            "acted": self.acted, "close_code": self.close_code,
        }


def step_to_dict(s: PlannedStep) -> dict[str, Any]:
    return {
        "index": s.index, "kind": s.kind, "params": dict(s.params),
        "control": s.control.to_dict(),
        "verify": s.verify.to_dict() if s.verify is not None else None,
        "description": s.description,
    }


#: Ladder-control keys that journals before schema 3 kept inside a step's params.
_OLD_CONTROL_KEYS = ("retry", "timeout", "on_failure", "on_inconclusive")


def step_from_dict(d: Mapping[str, Any]) -> PlannedStep:
    params = dict(d.get("params") or {})
    control = d.get("control")
    if control is None:  # schema 2: control keys mixed into params
        control = {k: params.pop(k) for k in _OLD_CONTROL_KEYS if k in params}
    return PlannedStep(
        index=int(d["index"]), kind=str(d["kind"]), params=params,
        control=StepControl.from_dict(control),
        verify=VerifySpec.from_dict(d["verify"]) if d.get("verify") is not None else None,
        description=str(d.get("description", "")),
    )


def reasons_from_json(items: Any) -> tuple[Reason, ...]:
    """Stored reasons (dicts; bare strings in journals before schema 3)."""
    return tuple(Reason.from_dict(r) for r in (items or ()))


__all__ = ["OPEN_STATUSES", "ActionStatus", "ActionView", "EventView", "IncidentView",
           "ReasonCode", "reasons_from_json", "step_from_dict", "step_to_dict"]
