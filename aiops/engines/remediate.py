"""The remediation loop: signals -> match -> plan -> incidents -> steps -> verification.

Every decision and every step goes to the journal first, so the engine holds no state
of its own: a new :class:`Remediator` on the same journal (after a crash or SIGKILL)
resumes each open incident where it stood. A step whose action completed is never
applied again; an action left ``started`` is re-applied with the same id, which
actuators treat as a no-op if it already took effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import structlog

from aiops.actuators.base import Actuator
from aiops.actuators.command import CommandActuator
from aiops.actuators.webhook import WebhookActuator
from aiops.config.durations import format_duration
from aiops.engines.remediate_steps import StepRunner
from aiops.errors import AiopsError, Forbidden, NotFound, PermanentError
from aiops.journal import IncidentView, Journal
from aiops.model import Alert, Decision, Plan, Sample, SeriesKey, Signal, Target, TargetState
from aiops.runbook.guards import HOUR, GuardFacts, check_guards
from aiops.runbook.match import explain_match
from aiops.runbook.planner import plan
from aiops.runbook.schema import Runbook
from aiops.telemetry.metrics import Metrics

Log = structlog.typing.FilteringBoundLogger
#: A queued run waiting longer than this for its target gives up.
QUEUE_LIMIT = 3600.0
#: Finished incidents and handled signals older than this are pruned from the journal;
#: longer than any sensible cooldown or max_runs window.
RETENTION = 30 * 86400.0


def reason_label(reason: str) -> str:
    """A bounded label for a decision reason (``skipped: cooldown 4m ...`` -> ``cooldown``).

    >>> reason_label("skipped: cooldown 4m left on SandboxWorkload/shop/checkout")
    'cooldown'
    >>> reason_label("skipped: when 'x' is false")
    'when'
    """
    if not reason.startswith("skipped: "):
        return "matched"
    word = reason.removeprefix("skipped: ").split(" ", 1)[0].rstrip(":")
    return {"global": "budget", "alert": "blocked_by_alert", "rollout": "rollout",
            "namespace": "namespace", "step": "template"}.get(word, word)


def approve_incident(
    journal: Journal, runbooks: Mapping[str, Runbook], incident_id: str, approver: str,
    now: float, *, log: Log | None = None,
) -> IncidentView:
    """Approve a pending incident in the journal (the daemon runs it on its next tick).

    Checks the runbook's approver allowlist and the approval timeout; every refusal is
    journaled and raised as :class:`PermanentError`. Used by ``Remediator.approve``, the
    HTTP route and ``aiops approve`` (another process: the journal is the handshake).
    """
    inc = journal.incident(incident_id)
    if inc is None:
        raise NotFound(f"no incident {incident_id!r}")
    target = str(inc.target)
    if inc.status != "awaiting-approval":
        raise PermanentError(f"incident {incident_id} is {inc.status}, not awaiting approval")
    if inc.approval_expires_at is not None and now > inc.approval_expires_at:
        journal.update_incident(inc.id, status="expired", closed_at=now, phase="closed")
        journal.add_event(t=now, kind="closed", reason="expired: approval timed out",
                          incident=inc.id, runbook=inc.runbook, target=target)
        raise PermanentError(f"approval of {incident_id} expired")
    rb = runbooks.get(inc.runbook)
    allowed = rb.spec.approval.approvers if rb is not None else []
    if allowed and approver not in allowed:
        journal.add_event(t=now, kind="approval-denied",
                          reason=f"{approver} is not an approver of {inc.runbook}",
                          incident=inc.id, runbook=inc.runbook, target=target)
        raise Forbidden(f"{approver!r} may not approve runbook {inc.runbook}")
    journal.update_incident(inc.id, status="running", phase_since=now, approver=approver)
    journal.add_event(t=now, kind="approved", reason=f"approved by {approver}",
                      incident=inc.id, runbook=inc.runbook, target=target)
    if log is not None:
        log.info("approved", incident=inc.id, approver=approver)
    got = journal.incident(inc.id)
    assert got is not None
    return got


class Remediator:
    """Turns signals into incidents and drives each incident's ladder of steps."""

    def __init__(
        self,
        runbooks: Sequence[Runbook],
        journal: Journal,
        actuator: Actuator,
        metrics: Metrics,
        log: Log,
        mode_override: str | None = None,
        dry_run: bool = False,
        *,
        changes_per_hour: int | None = None,
        deny_namespaces: Sequence[str] = ("kube-system",),
        executors: Mapping[str, Actuator] | None = None,
        retention: float = RETENTION,
    ) -> None:
        self.runbooks = {rb.name: rb for rb in runbooks}
        self.journal = journal
        self.actuator = actuator
        self.metrics = metrics
        self.log = log
        self.mode_override = "dry-run" if dry_run else mode_override
        self.changes_per_hour = changes_per_hour
        self.deny_namespaces = tuple(deny_namespaces)
        self.retention = retention
        self._pruned_at: float | None = None
        if executors is None:
            webhook = WebhookActuator()
            executors = {"notify": webhook, "webhook": webhook, "command": CommandActuator()}
        self.steps = StepRunner(
            journal=journal, actuator=actuator, executors=executors, metrics=metrics, log=log,
            facts=self.facts, runbooks=self.runbooks,
        )

    # -- facts for the guards ----------------------------------------------------------

    def observe(self, target: Target, now: float) -> TargetState | None:
        """The actuator's view of ``target``, or ``None`` if it cannot be observed."""
        try:
            return self.actuator.observe(target, now=now)
        except AiopsError as exc:
            self.log.warning("observe failed", target=str(target), error=str(exc))
            return None

    def facts(
        self, rb: Runbook, target: Target, now: float, *, recheck: bool = False
    ) -> GuardFacts:
        """Gather the guards' inputs from the journal and the actuator."""
        running = None if recheck else self.journal.running_on(target)
        windows = [w.per for w in rb.spec.guards.max_runs]
        return GuardFacts(
            running=running,
            last_closed_at=self.journal.last_closed_at(rb.name, target),
            run_starts=self.journal.run_starts(rb.name, target, now - max(windows))
            if windows else (),
            changes_last_hour=self.journal.changes_since(now - HOUR)
            if self.changes_per_hour is not None else 0,
            changes_per_hour=self.changes_per_hour,
            firing_alerts=self.journal.firing_alerts(),
            state=None if running else self.observe(target, now),
            pods_deleted_last_hour=self.journal.actions_since(target, "delete_pod", now - HOUR)
            if rb.spec.guards.max_pods_fraction is not None else 0,
            deny_namespaces=self.deny_namespaces,
        )

    # -- signals -> plans --------------------------------------------------------------

    def handle(self, signal: Signal, now: float, *, recorded: bool = False) -> list[Plan]:
        """Match every runbook against ``signal``, plan, journal, and open incidents.

        Alerts are claimed in the journal so each (fingerprint, startsAt, status) is
        handled exactly once, whether the webhook already journaled it (``recorded``,
        kept for callers that say so; the claim makes it unnecessary) or not.
        """
        if isinstance(signal, Alert):
            if not self.journal.claim_signal(signal, now):
                self.log.info("duplicate alert ignored", alert=signal.name,
                              fingerprint=signal.fingerprint)
                return []
            if signal.status != "firing":
                self._alert_resolved(signal, now)
                return []
        else:
            self.journal.record_signal(signal, now)
        plans: list[Plan] = []
        for rb in self.runbooks.values():
            m = explain_match(rb, signal, now)
            if isinstance(m, str):
                continue
            facts = self.facts(rb, m.target, now)
            p = plan(m, facts, now, self.mode_override)
            plans.append(self._record(p, rb, now, queued_behind=facts.running))
        return plans

    def _record(self, p: Plan, rb: Runbook, now: float, *, queued_behind: str | None = None
                ) -> Plan:
        """Journal, log and count a decision; open its incident. Returns the final plan."""
        last_reason = p.reasons[-1] if p.reasons else ""
        if queued_behind is not None and p.decision is not Decision.SKIP:
            waiting = [q for q in self.journal.incidents(status="queued")
                       if q.runbook == p.runbook and q.target == p.target]
            if waiting:  # one queued run per runbook and target is enough
                p = replace(p, decision=Decision.SKIP, reasons=(
                    *p.reasons[:-1], f"skipped: concurrency: {waiting[0].id} already queued"))
                last_reason = p.reasons[-1]
        label = reason_label(last_reason)
        self.metrics.decisions.labels(p.runbook, str(p.decision), label).inc()
        target = str(p.target)
        if p.decision is Decision.SKIP:
            prev = self.journal.last_event(p.runbook, target)
            if prev is None or prev.kind != "skipped" or reason_label(prev.reason) != label:
                self.journal.add_event(t=now, kind="skipped", reason=last_reason,
                                       runbook=p.runbook, target=target,
                                       detail={"reasons": list(p.reasons)})
                self.log.info("skipped", runbook=p.runbook, target=target, reason=last_reason)
            return p
        mode = "dry-run" if p.decision is Decision.DRY_RUN else (self.mode_override or rb.spec.mode)
        status = "awaiting-approval" if p.decision is Decision.AWAIT_APPROVAL else "running"
        if queued_behind is not None:
            status = "queued"
        inc = self.journal.open_incident(p, now=now, status=status, mode=mode)
        self.journal.add_event(t=now, kind="matched", reason="; ".join(p.reasons[:-1]),
                               incident=inc.id, runbook=p.runbook, target=target,
                               detail={"signal": p.signal_key, "labels": dict(p.labels)})
        self.journal.add_event(
            t=now, kind="planned", reason=last_reason + ": "
            + " -> ".join(s.description for s in p.steps),
            incident=inc.id, runbook=p.runbook, target=target)
        if status == "awaiting-approval":
            self._await_approval(inc, rb, now)
        if status == "queued":
            self.journal.add_event(t=now, kind="queued", reason=f"waiting for {queued_behind}",
                                   incident=inc.id, runbook=p.runbook, target=target)
        self.log.info("incident opened", incident=inc.id, runbook=p.runbook, target=target,
                      decision=str(p.decision), reasons=list(p.reasons))
        self._gauge()
        return p

    def _await_approval(self, inc: IncidentView, rb: Runbook, now: float) -> None:
        expires = now + rb.spec.approval.timeout
        self.journal.update_incident(inc.id, approval_expires_at=expires)
        self.journal.add_event(
            t=now, kind="awaiting-approval",
            reason=f"approve with `aiops approve {inc.id}` within "
            f"{format_duration(rb.spec.approval.timeout)}",
            incident=inc.id, runbook=inc.runbook, target=str(inc.target))

    def _dequeue(self, now: float) -> None:
        """Start queued runs whose target is free, if their guards still allow it."""
        for q in reversed(self.journal.incidents(limit=1000, status="queued")):
            if self.journal.running_on(q.target) is not None:
                if now - q.opened_at > QUEUE_LIMIT:
                    self.steps.close(q, "expired", now,
                                     f"queued for {format_duration(now - q.opened_at)}")
                continue
            rb = self.runbooks.get(q.runbook)
            if rb is None:
                self.steps.close(q, "stopped", now, f"runbook {q.runbook} is no longer loaded")
                continue
            blocked = check_guards(rb.spec.guards, q.target, self.facts(rb, q.target, now),
                                   now=now)
            if blocked is not None:
                self.steps.close(q, "skipped", now, f"at dequeue: {blocked}")
                continue
            status = "awaiting-approval" if q.mode == "approve" else "running"
            self.journal.update_incident(q.id, status=status, phase_since=now)
            self.journal.add_event(t=now, kind="dequeued", reason=f"target free: now {status}",
                                   incident=q.id, runbook=q.runbook, target=str(q.target))
            if status == "awaiting-approval":
                self._await_approval(q, rb, now)

    def _alert_resolved(self, alert: Alert, now: float) -> None:
        prefix = f"alert:{alert.fingerprint}:{alert.starts_at}:"
        for inc in self.journal.open_incidents():
            if inc.signal_key.startswith(prefix):
                self.steps.close(inc, "resolved", now,
                                 f"alert {alert.name} resolved at {alert.ends_at}")
        self._gauge()

    # -- approvals ---------------------------------------------------------------------

    def approve(self, incident_id: str, approver: str, now: float) -> IncidentView:
        """Let an incident awaiting approval run; raises :class:`PermanentError` if not allowed."""
        inc = self.journal.incident(incident_id)
        name = inc.runbook if inc is not None else "?"
        try:
            got = approve_incident(self.journal, self.runbooks, incident_id, approver, now,
                                   log=self.log)
        except PermanentError:
            self.metrics.decisions.labels(name, "approve", "refused").inc()
            raise
        self.metrics.decisions.labels(name, "approve", "approved").inc()
        self._gauge()
        return got

    # -- advancing incidents -----------------------------------------------------------

    def tick(self, now: float, latest: Mapping[SeriesKey, Sample]) -> None:
        """Advance every open incident as far as it can go at ``now``.

        Alerts the webhook stored but never handed over (a crash in between) are
        recovered from the journal first.
        """
        for lost in self.journal.unhandled_alerts():
            self.handle(lost, now)
        self._dequeue(now)
        if self._pruned_at is None or now - self._pruned_at >= HOUR:
            self._pruned_at = now
            gone = self.journal.prune(now - self.retention)
            if gone:
                self.log.info("journal pruned", rows=gone,
                              retention=format_duration(self.retention))
        for inc in self.journal.open_incidents():
            if inc.status == "awaiting-approval":
                if inc.approval_expires_at is not None and now > inc.approval_expires_at:
                    self.steps.close(inc, "expired", now, "approval timed out")
                continue
            try:
                self.steps.advance(inc, now, latest)
            except Exception as exc:  # one broken incident must not stop the others
                self.log.error("incident step crashed", incident=inc.id, error=repr(exc))
                self.journal.add_event(t=now, kind="error", reason=repr(exc), incident=inc.id,
                                       runbook=inc.runbook, target=str(inc.target))
        self._gauge()

    def _gauge(self) -> None:
        self.metrics.incidents_open.set(len(self.journal.open_incidents()))

    def summary(self) -> dict[str, Any]:
        """Counts of incidents by status (for logs and the CLI)."""
        out: dict[str, int] = {}
        for inc in self.journal.incidents(limit=10_000):
            out[inc.status] = out.get(inc.status, 0) + 1
        return dict(out)
