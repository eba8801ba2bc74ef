"""What people do to incidents from outside the daemon's loop: approve one that awaits
approval, or settle one that needs attention.

Both write only to the journal (the handshake between the daemon and ``aiops approve``,
``aiops attend`` or the HTTP routes, possibly other processes); the daemon acts on its
next tick. Every refusal is journaled.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import structlog

from aiops.errors import Conflict, Forbidden, NotFound
from aiops.journal import ActionStatus, IncidentView, Journal
from aiops.model import Reason, ReasonCode
from aiops.runbook.lifecycle import Move, Status
from aiops.runbook.schema import Runbook

Log = structlog.typing.FilteringBoundLogger


def approve_incident(
    journal: Journal, runbooks: Mapping[str, Runbook], incident_id: str, approver: str,
    now: float, *, log: Log | None = None,
) -> IncidentView:
    """Approve a pending incident in the journal (the daemon runs it on its next tick).

    Checks the runbook's approver allowlist and the approval timeout; every refusal is
    journaled. Used by ``Remediator.approve``, the HTTP route and ``aiops approve``
    (another process: the journal is the handshake).
    """
    inc = journal.incident(incident_id)
    if inc is None:
        raise NotFound(f"no incident {incident_id!r}")
    target = str(inc.target)
    if inc.status is not Status.AWAITING_APPROVAL:
        raise Conflict(f"incident {incident_id} is {inc.status.value}, not awaiting approval")
    if inc.approval_expires_at is not None and now > inc.approval_expires_at:
        with journal.transaction() as tx:
            tx.move(inc, Move.EXPIRE, Reason(code=ReasonCode.APPROVAL_EXPIRED,
                                              message="approval timed out"), now=now)
        raise Conflict(f"approval of {incident_id} expired")
    rb = runbooks.get(inc.runbook)
    allowed = rb.spec.approval.approvers if rb is not None else []
    if allowed and approver not in allowed:
        with journal.transaction() as tx:
            tx.event(t=now, kind="approval-denied", why=Reason(
                code=ReasonCode.APPROVAL_DENIED,
                message=f"{approver} is not an approver of {inc.runbook}"),
                incident=inc.id, runbook=inc.runbook, target=target)
        raise Forbidden(f"{approver!r} may not approve runbook {inc.runbook}")
    with journal.transaction() as tx:
        got = tx.move(inc, Move.APPROVE, Reason(code=ReasonCode.APPROVED,
                                                 message=f"approved by {approver}"),
                      now=now, approver=approver)
    if log is not None:
        log.info("approved", incident=inc.id, approver=approver)
    return got


class Attendance(StrEnum):
    """What a person decided about an action whose outcome is unknown."""

    APPLIED = "applied"  # it took effect: go on as if done
    NOT_APPLIED = "not-applied"  # it did not: apply it now, same id
    STOP = "stop"  # close the incident


def attend_incident(journal: Journal, incident_id: str, *, decision: Attendance,
                    operator: str, now: float, note: str = "") -> IncidentView:
    """A person settles an incident that needs attention (an action's fate unknown).

    Journaled with the operator's name and ``decision``; the daemon continues on its
    next tick.
    """
    decision = Attendance(decision)
    inc = journal.incident(incident_id)
    if inc is None:
        raise NotFound(f"no incident {incident_id!r}")
    if inc.status is not Status.NEEDS_ATTENTION:
        raise Conflict(f"incident {incident_id} is {inc.status.value}, not needs-attention")
    why = Reason(code=ReasonCode.OPERATOR, message=(
        f"{operator}: {decision.value}" + (f" ({note})" if note else "")))
    action_id = f"{inc.id}:{inc.step}"
    with journal.transaction() as tx:
        if decision is Attendance.STOP:
            return tx.move(inc, Move.STOP, why, now=now)
        applied = decision is Attendance.APPLIED
        status = ActionStatus.DONE if applied else ActionStatus.RETRYING
        if tx.action(action_id) is not None:
            tx.action_status(action_id, status, now=now)
        return tx.move(inc, Move.RESUME, why, now=now, acted=applied)
