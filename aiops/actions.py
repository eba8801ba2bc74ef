"""What the daemon does to the world, as values: targets and their state, actions and
their outcomes, reconciliations, verification verdicts, and the plans runbooks make.

Frozen, keyword-only; time is a float of Unix seconds injected by the caller. These are
re-exported by :mod:`aiops.model`, where most code imports them from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiops.reasons import Reason, ReasonCode


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """What an action changes: a workload, a unit, a sandbox workload."""

    kind: str
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetState:
    """What an actuator observed about a target, for guards and verification.

    ``last_action_at`` is when aiops last acted on the target *as recorded on the target
    itself* (e.g. a Kubernetes annotation): every replica reads the same value, so the
    cooldown holds across a leader failover even though journals are per replica.
    """

    target: Target
    exists: bool = True
    replicas: int = 0
    ready_replicas: int = 0
    revision: int = 0
    rollout_in_progress: bool = False
    changed_at: float | None = None
    hpa_min_replicas: int | None = None
    last_action_at: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Action:
    """One mutation to apply. ``id`` is the idempotency key: applying twice is a no-op.

    ``incident`` and ``id`` reach the actuator so the world can record them (an
    annotation on a Kubernetes object, ``AIOPS_ACTION_ID`` for a command).
    """

    id: str
    kind: str
    target: Target
    params: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    incident: str = ""
    runbook: str = ""
    step: int = 0
    attempt: int = 0


class OutcomeStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"
    TEMPORARY = "temporary"
    DRY_RUN = "dry-run"
    ALREADY_DONE = "already-done"
    #: The actuator cannot tell whether the action took effect (e.g. a command timed out).
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What applying an :class:`Action` did, and what the world looked like around it."""

    action_id: str
    status: OutcomeStatus
    message: str = ""
    retry_after: float | None = None
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (
            OutcomeStatus.DONE, OutcomeStatus.DRY_RUN, OutcomeStatus.ALREADY_DONE
        )


class Reconciled(StrEnum):
    """What an actuator read back about an action whose outcome was lost."""

    DONE = "done"
    NOT_DONE = "not-done"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True, slots=True)
class Reconciliation:
    """The world's answer to "did action ``action_id`` take effect?", with the evidence."""

    action_id: str
    status: Reconciled
    message: str = ""


class Verdict(StrEnum):
    """Result of a verify step."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    PENDING = "pending"


class Decision(StrEnum):
    """What a plan decided to do with a matched signal."""

    RUN = "run"
    DRY_RUN = "dry-run"
    AWAIT_APPROVAL = "await-approval"
    SKIP = "skip"


class OnChoice(StrEnum):
    """Where a ladder goes after a failed or inconclusive step."""

    NEXT = "next"
    STOP = "stop"
    ESCALATE = "escalate"


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifySpec:
    """A verification: ``metric`` ``below`` (or ``above``) a bound ``within`` seconds."""

    metric: str
    below: float | None = None
    above: float | None = None
    within: float = 300.0
    on_no_data: Verdict = Verdict.INCONCLUSIVE

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "below": self.below, "above": self.above,
                "within": self.within, "on_no_data": self.on_no_data.value}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VerifySpec:
        return cls(metric=str(d["metric"]),
                   below=None if d.get("below") is None else float(d["below"]),
                   above=None if d.get("above") is None else float(d["above"]),
                   within=float(d.get("within", 300.0)),
                   on_no_data=Verdict(str(d.get("on_no_data", "inconclusive"))))


@dataclass(frozen=True, kw_only=True, slots=True)
class StepControl:
    """How the ladder treats a step (kept apart from the actuator's parameters).

    ``retry``: temporary failures retried this many times (the engine schedules them,
    never sleeping); ``timeout``: give up after this long; ``idempotent``: the step may
    be re-run when a crash left its outcome unknown.
    """

    retry: int = 3
    timeout: float | None = None
    on_failure: OnChoice = OnChoice.NEXT
    on_inconclusive: OnChoice = OnChoice.ESCALATE
    idempotent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"retry": self.retry, "timeout": self.timeout,
                "on_failure": self.on_failure.value,
                "on_inconclusive": self.on_inconclusive.value, "idempotent": self.idempotent}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepControl:
        return cls(retry=int(d.get("retry") or 0),
                   timeout=None if d.get("timeout") is None else float(d["timeout"]),
                   on_failure=OnChoice(str(d.get("on_failure") or "next")),
                   on_inconclusive=OnChoice(str(d.get("on_inconclusive") or "escalate")),
                   idempotent=bool(d.get("idempotent", False)))


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedStep:
    """One step of a runbook ladder as it would run against a concrete target.

    ``params`` are the actuator's arguments only; ``control`` steers the ladder.
    """

    index: int
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    control: StepControl = field(default_factory=StepControl)
    verify: VerifySpec | None = None
    description: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """The pure answer to "what would this runbook do about this signal, and why".

    ``reasons`` explain the decision in order (matched trigger, when-expression,
    each guard); a skip's last reason is the guard that stopped it, e.g. code
    ``cooldown``, message ``"cooldown 4m left on Deployment/shop/checkout"``.
    """

    runbook: str
    target: Target
    decision: Decision
    reasons: tuple[Reason, ...]
    steps: tuple[PlannedStep, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    signal_key: str = ""

    @property
    def reason(self) -> Reason:
        """The deciding (last) reason."""
        return self.reasons[-1] if self.reasons else Reason(
            code=ReasonCode.MATCHED, message="no reason given")
