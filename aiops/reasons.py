"""Why things happen, as data: a bounded :class:`ReasonCode` plus a sentence for people.

Every decision (a plan, a guard, a lifecycle transition, a verification) carries
:class:`Reason` values. Code reads the ``code`` (metric labels, tests, the web page,
branching); people read the ``message``. Nothing ever parses a message back.

>>> r = Reason(code=ReasonCode.COOLDOWN, message="cooldown 4m left on Deployment/shop/cart")
>>> str(r), r.code.value, r.skip
('cooldown 4m left on Deployment/shop/cart', 'cooldown', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

#: Longest message kept in a reason: label values can be large, reasons stay readable.
MAX_MESSAGE = 512


class ReasonCode(StrEnum):
    """Every reason aiops gives, as a small fixed vocabulary (safe as a metric label)."""

    # -- matching and planning
    MATCHED = "matched"
    TARGET = "target"
    WHEN_TRUE = "when-true"
    GUARDS_PASSED = "guards-passed"
    MODE_AUTO = "mode-auto"
    MODE_DRY_RUN = "mode-dry-run"
    MODE_APPROVE = "mode-approve"
    QUEUED = "queued"
    # -- why a plan is skipped (and why a step is blocked)
    WHEN_FALSE = "when-false"
    WHEN_ERROR = "when-error"
    TEMPLATE_ERROR = "template-error"
    INVALID_TARGET = "invalid-target"
    RUNBOOK_ERROR = "runbook-error"
    NAMESPACE_DENIED = "namespace-denied"
    NAMESPACE_NOT_ALLOWED = "namespace-not-allowed"
    CONCURRENCY = "concurrency"
    COOLDOWN = "cooldown"
    MAX_RUNS = "max-runs"
    BUDGET = "budget"
    BLOCKED_BY_ALERT = "blocked-by-alert"
    MAINTENANCE_WINDOW = "maintenance-window"
    MAX_PODS_FRACTION = "max-pods-fraction"
    ROLLOUT_IN_PROGRESS = "rollout-in-progress"
    # -- the incident lifecycle
    AWAITING_APPROVAL = "awaiting-approval"
    APPROVED = "approved"
    APPROVAL_DENIED = "approval-denied"
    APPROVAL_EXPIRED = "approval-expired"
    DEQUEUED = "dequeued"
    QUEUE_EXPIRED = "queue-expired"
    RUNBOOK_UNLOADED = "runbook-unloaded"
    ALERT_RESOLVED = "alert-resolved"
    ACTION_DONE = "action-done"
    ACTION_FAILED = "action-failed"
    ACTION_RETRY = "action-retry"
    ACTION_DRY_RUN = "action-dry-run"
    RESUMED = "resumed"
    TIMED_OUT = "timed-out"
    WAITED = "waited"
    VERIFIED = "verified"
    VERIFY_FAILED = "verify-failed"
    VERIFY_INCONCLUSIVE = "verify-inconclusive"
    NEXT_STEP = "next-step"
    COMPLETED = "completed"
    STOPPED_BY_RUNBOOK = "stopped-by-runbook"
    EXHAUSTED = "exhausted"
    ESCALATED = "escalated"
    BLOCKED = "blocked"
    BLOCKED_TOO_LONG = "blocked-too-long"
    OUTCOME_UNKNOWN = "outcome-unknown"
    RECONCILED_DONE = "reconciled-done"
    RECONCILED_NOT_DONE = "reconciled-not-done"
    RERUN_IDEMPOTENT = "rerun-idempotent"
    OPERATOR = "operator"
    STEP_ERROR = "step-error"

    @property
    def skip(self) -> bool:
        """Whether this code stops a run (a skip at plan time, a block before a step)."""
        return self in SKIP_CODES


SKIP_CODES = frozenset({
    ReasonCode.WHEN_FALSE, ReasonCode.WHEN_ERROR, ReasonCode.TEMPLATE_ERROR,
    ReasonCode.INVALID_TARGET, ReasonCode.RUNBOOK_ERROR, ReasonCode.NAMESPACE_DENIED,
    ReasonCode.NAMESPACE_NOT_ALLOWED, ReasonCode.CONCURRENCY, ReasonCode.COOLDOWN,
    ReasonCode.MAX_RUNS, ReasonCode.BUDGET, ReasonCode.BLOCKED_BY_ALERT,
    ReasonCode.MAINTENANCE_WINDOW, ReasonCode.MAX_PODS_FRACTION,
    ReasonCode.ROLLOUT_IN_PROGRESS,
})


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, marking the cut.

    >>> clip("abcdef", 4)
    'abc…'
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, kw_only=True, slots=True)
class Reason:
    """One step of an explanation: a code for machines, a message for people."""

    code: ReasonCode
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", clip(self.message))

    def __str__(self) -> str:
        return self.message

    @property
    def skip(self) -> bool:
        return self.code.skip

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}

    @classmethod
    def from_dict(cls, d: Any) -> Reason:
        """Read back :meth:`to_dict` (or a bare string from an older journal).

        >>> Reason.from_dict({"code": "cooldown", "message": "m"}).code
        <ReasonCode.COOLDOWN: 'cooldown'>
        """
        if isinstance(d, str):
            return cls(code=ReasonCode.MATCHED, message=d)
        try:
            code = ReasonCode(str(d.get("code", "")))
        except ValueError:
            code = ReasonCode.STEP_ERROR
        return cls(code=code, message=str(d.get("message", "")))


def reason(code: ReasonCode, message: str) -> Reason:
    """Shorthand constructor: ``reason(ReasonCode.COOLDOWN, "...")``."""
    return Reason(code=code, message=message)
