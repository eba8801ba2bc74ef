"""Read-side values of the journal: incidents, timeline events, actions (JSON-friendly)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from aiops.model import Decision, Plan, PlannedStep, Target

OPEN_STATUSES = ("running", "awaiting-approval")


@dataclass(frozen=True, kw_only=True, slots=True)
class EventView:
    """One entry of an incident's (or the global) timeline."""

    id: int
    t: float
    kind: str
    reason: str
    incident: str | None = None
    runbook: str = ""
    target: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["detail"] = dict(self.detail)
        return d


@dataclass(frozen=True, kw_only=True, slots=True)
class ActionView:
    """One action: its idempotency key, status (started/done/failed) and outcome."""

    id: str
    incident: str
    step: int
    kind: str
    target: str
    status: str
    dry_run: bool
    started_at: float
    finished_at: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    outcome: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["params"], d["outcome"] = dict(self.params), dict(self.outcome)
        return d


@dataclass(frozen=True, kw_only=True, slots=True)
class IncidentView:
    """An incident: one run of a runbook on a target, and where its ladder stands.

    ``phase`` is ``apply`` (step ``step`` not yet done), ``verify`` (done, waiting for
    its verification since ``phase_since``) or ``closed``.
    """

    id: str
    runbook: str
    target: Target
    status: str
    mode: str
    opened_at: float
    closed_at: float | None
    step: int
    phase: str
    phase_since: float
    attempts: int
    next_try_at: float | None
    signal_key: str
    labels: Mapping[str, str]
    reasons: tuple[str, ...]
    steps: tuple[PlannedStep, ...]
    approval_expires_at: float | None = None
    approver: str | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    def plan(self) -> Plan:
        """The plan the incident runs (as decided when it opened)."""
        decision = {"awaiting-approval": Decision.AWAIT_APPROVAL}.get(
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
            "name": self.target.name, "status": self.status, "mode": self.mode,
            "opened_at": self.opened_at, "closed_at": self.closed_at, "step": self.step,
            "phase": self.phase, "phase_since": self.phase_since, "attempts": self.attempts,
            "signal_key": self.signal_key, "labels": dict(self.labels),
            "reasons": list(self.reasons), "steps": [step_to_dict(s) for s in self.steps],
            "approval_expires_at": self.approval_expires_at, "approver": self.approver,
        }


def step_to_dict(s: PlannedStep) -> dict[str, Any]:
    return {
        "index": s.index, "kind": s.kind, "params": dict(s.params),
        "verify": dict(s.verify) if s.verify is not None else None,
        "description": s.description,
    }


def step_from_dict(d: Mapping[str, Any]) -> PlannedStep:
    return PlannedStep(
        index=int(d["index"]), kind=str(d["kind"]), params=dict(d.get("params") or {}),
        verify=dict(d["verify"]) if d.get("verify") is not None else None,
        description=str(d.get("description", "")),
    )
