"""The remediation loop: signals -> match -> plan -> incidents -> steps -> verification.

Everything goes to the journal, in transactions that keep the engine's promises:

- **Atomic intake.** A signal is marked handled in the same transaction that records
  its decisions (incidents opened, or skips with their reason codes). A crash or an
  error before that commit leaves it unhandled, and it is handled again later (webhook
  alerts wait in the journal; anomalies are raised again by the next cycle).
- **One runbook cannot break the others.** An exception while matching or planning one
  runbook (a template, a guard) becomes that runbook's skip with code ``runbook-error``.
- **Guards hold across replicas.** The decision is journaled under the target's lock
  (:meth:`~aiops.journal.tx.Tx.lock_targets`) after the cooldown and ``max_runs``
  windows are read again inside that transaction, so two replicas sharing a journal
  cannot both act on one target within a window.
- **Typed lifecycle.** Every change of an incident is a :class:`~aiops.runbook.lifecycle.Move`
  journaled with its reason; a resolved alert closes its incidents whether running,
  awaiting approval or queued (code ``alert-resolved``), so a queued run never acts on
  a problem that has gone.

The engine holds no state of its own: a new :class:`Remediator` on the same journal
(after a crash or SIGKILL) resumes each open incident where it stood.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog

from aiops.actuators.base import Actuator, Executors
from aiops.config.durations import format_duration
from aiops.engines.facts import FactsReader
from aiops.engines.operators import Attendance, approve_incident, attend_incident
from aiops.engines.remediate_steps import StepRunner
from aiops.errors import AiopsError, Conflict, Forbidden, NotFound
from aiops.journal import IncidentView, Journal
from aiops.journal.tx import Tx
from aiops.model import (
    Alert,
    Anomaly,
    Decision,
    Plan,
    Reason,
    ReasonCode,
    Sample,
    SeriesKey,
    Signal,
    Target,
)
from aiops.runbook.guards import HOUR, GuardFacts
from aiops.runbook.lifecycle import Move, Status
from aiops.runbook.match import TargetFailure, match_signal
from aiops.runbook.planner import plan
from aiops.runbook.schema import Runbook
from aiops.telemetry.metrics import Metrics

Log = structlog.typing.FilteringBoundLogger
#: Stored alerts handled per remediate tick (one transaction); the rest wait for the next.
INTAKE_BATCH = 500
#: A queued run waiting longer than this for its target gives up.
QUEUE_LIMIT = 3600.0
#: Finished incidents and handled signals older than this are pruned from the journal;
#: longer than any sensible cooldown or max_runs window.
RETENTION = 30 * 86400.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Decided:
    """One runbook's decision about one signal, before it is journaled."""

    runbook: Runbook
    plan: Plan
    holder: str | None = None
    facts: GuardFacts | None = None


class Remediator:
    """Turns signals into incidents and drives each incident's ladder of steps."""

    def __init__(
        self,
        runbooks: Sequence[Runbook],
        journal: Journal,
        executors: Executors | Actuator,
        metrics: Metrics,
        log: Log,
        mode_override: str | None = None,
        dry_run: bool = False,
        *,
        changes_per_hour: int | None = None,
        deny_namespaces: Sequence[str] = ("kube-system",),
        allow_namespaces: Sequence[str] = (),
        shard: tuple[int, int] = (0, 1),
        retention: float = RETENTION,
    ) -> None:
        self.runbooks = {rb.name: rb for rb in runbooks}
        self.journal = journal
        if not isinstance(executors, Executors):
            executors = Executors(workloads=executors)
        self.executors = executors
        self.metrics = metrics
        self.log = log
        self.mode_override = "dry-run" if dry_run else mode_override
        self.retention = retention
        self._pruned_at: float | None = None
        self.facts = FactsReader(journal=journal, actuator=executors.workloads, log=log,
                                 changes_per_hour=changes_per_hour,
                                 deny_namespaces=deny_namespaces,
                                 allow_namespaces=allow_namespaces, shard=shard)
        self.steps = StepRunner(journal=journal, executors=executors, facts=self.facts,
                                metrics=metrics, log=log, runbooks=self.runbooks)

    # -- signals -> plans --------------------------------------------------------------

    def handle(self, signal: Signal, now: float) -> list[Plan]:
        """Match every runbook against ``signal``, plan, and journal the decisions.

        The signal is marked handled in the same transaction as its decisions; a signal
        handled before (same dedup key) is ignored. Anomalies are re-evaluated every
        cycle (their ``for:`` clock runs), so they are never ignored as duplicates.
        """
        if isinstance(signal, Alert) and signal.status != "firing":
            with self.journal.transaction() as tx:
                if tx.claim(signal, now):
                    self._alert_resolved(tx, signal, now)
            self.steps.after_commit()
            self._gauge()
            return []
        decided = [d for rb in self.runbooks.values()
                   if (d := self._decide(rb, signal, now)) is not None]
        plans: list[Plan] = []
        with self.journal.transaction() as tx:
            if isinstance(signal, Anomaly):
                tx.mark_seen(signal, now)
            elif not tx.claim(signal, now):
                self.log.info("duplicate signal ignored", signal=signal.dedup_key)
                return []
            tx.lock_targets(d.plan.target for d in decided if d.plan.decision is not Decision.SKIP)
            for d in decided:
                plans.append(self._record(tx, d, now))
        for p in plans:
            self.metrics.decisions.labels(p.runbook, str(p.decision), p.reason.code.value).inc()
        self.steps.after_commit()
        self._gauge()
        return plans

    def _decide(self, rb: Runbook, signal: Signal, now: float) -> Decided | None:
        """One runbook's plan for ``signal`` (None: no trigger fits). Never raises."""
        target = Target(kind=rb.spec.target.kind, name="?")
        try:
            m = match_signal(rb, signal, now)
            if isinstance(m, str):
                return None
            if isinstance(m, TargetFailure):
                return Decided(runbook=rb, plan=_skip_plan(rb, signal, target, m.reason))
            target = m.target
            facts = self.facts.facts(rb, m.target, now)
            return Decided(runbook=rb, plan=plan(m, facts, now, self.mode_override),
                           holder=facts.running, facts=facts)
        except Exception as exc:  # one runbook's failure must not stop the others
            self.log.error("runbook failed on a signal", runbook=rb.name, error=repr(exc))
            return Decided(runbook=rb, plan=_skip_plan(rb, signal, target, Reason(
                code=ReasonCode.RUNBOOK_ERROR,
                message=f"runbook {rb.name} failed on {signal.dedup_key}: {exc!r}")))

    def _record(self, tx: Tx, d: Decided, now: float) -> Plan:
        """Journal one decision inside the intake transaction; open its incident.

        The target is locked (see :meth:`handle`): the windows are judged as they stand
        now, not as read at plan time, and nobody changes them before this commits.
        """
        p, rb = d.plan, d.runbook
        if p.decision is not Decision.SKIP and d.facts is not None:
            blocked = self.facts.recheck_windows(tx, rb, p.target, d.facts, now=now)
            if blocked is not None:
                p = _skip(p, blocked.code, blocked.message)
        queued = d.holder is not None and p.decision is not Decision.SKIP
        if queued and (other := tx.queued_for(p.runbook, p.target)) is not None:
            p = _skip(p, ReasonCode.CONCURRENCY, f"{other} already queued on {p.target}")
        if p.decision is Decision.SKIP:
            self._journal_skip(tx, p, now)
            return p
        mode = "dry-run" if p.decision is Decision.DRY_RUN else (self.mode_override or rb.spec.mode)
        status = Status.QUEUED if queued else (
            Status.AWAITING_APPROVAL if p.decision is Decision.AWAIT_APPROVAL else Status.RUNNING)
        expires = now + rb.spec.approval.timeout if status is Status.AWAITING_APPROVAL else None
        inc = tx.open_incident(p, status=status, mode=mode, now=now, approval_expires_at=expires)
        if inc is None:  # the database's concurrency guard: another run holds the target
            p = _skip(p, ReasonCode.CONCURRENCY, f"another incident holds {p.target}")
            self._journal_skip(tx, p, now)
            return p
        target = str(p.target)
        reasons = [r.to_dict() for r in p.reasons]
        tx.event(t=now, kind="matched", why=p.reasons[0], incident=inc.id, runbook=p.runbook,
                 target=target, detail={"signal": p.signal_key, "reasons": reasons})
        tx.event(t=now, kind="planned", why=p.reason, incident=inc.id, runbook=p.runbook,
                 target=target, detail={"steps": [s.description for s in p.steps]})
        if status is Status.AWAITING_APPROVAL:
            self._approval_event(tx, inc, rb, now)
        if status is Status.QUEUED:
            tx.event(t=now, kind="queued", why=Reason(
                code=ReasonCode.QUEUED, message=f"waiting for {d.holder}"), incident=inc.id,
                runbook=p.runbook, target=target)
        self.log.info("incident opened", incident=inc.id, runbook=p.runbook, target=target,
                      decision=str(p.decision), status=status.value, code=p.reason.code.value)
        return p

    def _journal_skip(self, tx: Tx, p: Plan, now: float) -> None:
        """One skip event per change of reason (a long anomaly does not flood the journal)."""
        target = str(p.target)
        prev = tx.last_event(p.runbook, target)
        if prev is None or prev.kind != "skipped" or prev.code != p.reason.code.value:
            tx.event(t=now, kind="skipped", why=p.reason, runbook=p.runbook, target=target,
                     detail={"signal": p.signal_key,
                             "reasons": [r.to_dict() for r in p.reasons]})
            self.log.info("skipped", runbook=p.runbook, target=target,
                          code=p.reason.code.value, reason=p.reason.message)

    def _approval_event(self, tx: Tx, inc: IncidentView, rb: Runbook, now: float) -> None:
        tx.event(t=now, kind="awaiting-approval", why=Reason(
            code=ReasonCode.AWAITING_APPROVAL,
            message=f"approve with `aiops approve {inc.id}` within "
            f"{format_duration(rb.spec.approval.timeout)}"),
            incident=inc.id, runbook=inc.runbook, target=str(inc.target))

    def _alert_resolved(self, tx: Tx, alert: Alert, now: float) -> None:
        """Close every open incident the alert opened that has not acted past recall."""
        prefix = f"alert:{alert.fingerprint}:{alert.starts_at}:"
        for inc in self.journal.open_incidents():
            if not inc.signal_key.startswith(prefix) or inc.status is Status.NEEDS_ATTENTION:
                continue  # needs-attention waits for a person: an action's fate is unknown
            cur = tx.incident(inc.id) or inc
            self.steps.move(cur, Move.RESOLVE, Reason(
                code=ReasonCode.ALERT_RESOLVED,
                message=f"alert {alert.name} resolved at {alert.ends_at or 'now'}"), now, tx=tx)

    # -- queued runs -------------------------------------------------------------------

    def _dequeue(self, now: float) -> None:
        """Start queued runs whose target is free, if their guards still allow it."""
        for q in self.journal.open_incidents():
            if q.status is not Status.QUEUED:
                continue
            if self.journal.holding(q.target) is not None:
                if now - q.opened_at > QUEUE_LIMIT:
                    self.steps.move(q, Move.EXPIRE, Reason(
                        code=ReasonCode.QUEUE_EXPIRED,
                        message=f"queued for {format_duration(now - q.opened_at)}"), now)
                continue
            rb = self.runbooks.get(q.runbook)
            if rb is None:
                self.steps.move(q, Move.STOP, Reason(code=ReasonCode.RUNBOOK_UNLOADED, message=(
                    f"runbook {q.runbook} is no longer loaded")), now)
                continue
            facts = self.facts.facts(rb, q.target, now)  # observes: outside the transaction
            approve = q.mode == "approve"
            move = Move.DEQUEUE_FOR_APPROVAL if approve else Move.DEQUEUE
            with self.journal.transaction() as tx:
                tx.lock_targets([q.target])
                if tx.holding(q.target) is not None:
                    continue  # taken meanwhile (by another replica sharing the journal)
                blocked = self.facts.recheck_windows(tx, rb, q.target, facts, now=now)
                if blocked is not None:
                    self.steps.move(q, Move.SKIP, Reason(code=blocked.code, message=(
                        f"at dequeue: {blocked.message}")), now, tx=tx)
                    continue
                got = self.steps.move(q, move, Reason(code=ReasonCode.DEQUEUED, message=(
                    f"target free: now {'awaiting approval' if approve else 'running'}")),
                    now, tx=tx)
                if got is not None and approve:
                    tx.set_approval_deadline(q.id, now + rb.spec.approval.timeout)
                    self._approval_event(tx, got, rb, now)

    # -- approvals and operators -------------------------------------------------------

    def approve(self, incident_id: str, approver: str, now: float) -> IncidentView:
        """Let an incident awaiting approval run.

        Raises :class:`NotFound`, :class:`Forbidden` (``approver`` not in the runbook's
        ``approvers``; journaled) or :class:`Conflict` (not awaiting, or expired).
        """
        inc = self.journal.incident(incident_id)
        name = inc.runbook if inc is not None else "?"
        try:
            got = approve_incident(self.journal, self.runbooks, incident_id, approver, now,
                                   log=self.log)
        except (Forbidden, Conflict, NotFound):
            self.metrics.decisions.labels(name, "approve", "refused").inc()
            raise
        self.metrics.decisions.labels(name, "approve", "approved").inc()
        self._gauge()
        return got

    def attend(self, incident_id: str, *, decision: Attendance, operator: str, now: float,
               note: str = "") -> IncidentView:
        """A person settles an incident in needs-attention (see :func:`attend_incident`)."""
        got = attend_incident(self.journal, incident_id, decision=decision, operator=operator,
                              now=now, note=note)
        self.log.info("attended", incident=incident_id, operator=operator,
                      decision=Attendance(decision).value)
        self._gauge()
        return got

    # -- advancing incidents -----------------------------------------------------------

    def tick(self, now: float, latest: Mapping[SeriesKey, Sample]) -> None:
        """Advance every open incident as far as it can go at ``now``.

        Alerts the webhook stored but no decision handled yet are handled first (the
        journal is the queue between the webhook and the engine).
        """
        self.intake(now)
        self._dequeue(now)
        if self._pruned_at is None or now - self._pruned_at >= HOUR:
            self._pruned_at = now
            gone = self.journal.prune(now - self.retention)
            if gone:
                self.log.info("journal pruned", rows=gone,
                              retention=format_duration(self.retention))
        for inc in self.journal.open_incidents():
            if inc.status is Status.AWAITING_APPROVAL:
                if inc.approval_expires_at is not None and now > inc.approval_expires_at:
                    self.steps.move(inc, Move.EXPIRE, Reason(
                        code=ReasonCode.APPROVAL_EXPIRED, message="approval timed out"), now)
                continue
            if inc.status is not Status.RUNNING:
                continue
            try:
                self.steps.advance(inc, now, latest)
            except AiopsError:
                raise  # the journal cannot be written: the whole tick fails, visibly
            except Exception as exc:  # one broken incident must not stop the others
                self.log.error("incident step crashed", incident=inc.id, error=repr(exc))
                with self.journal.transaction() as tx:
                    tx.event(t=now, kind="error", why=Reason(
                        code=ReasonCode.STEP_ERROR, message=repr(exc)), incident=inc.id,
                        runbook=inc.runbook, target=str(inc.target))
        self.steps.after_commit()
        self._gauge()

    def intake(self, now: float, *, limit: int = INTAKE_BATCH) -> int:
        """Handle up to ``limit`` stored alerts no decision has handled yet, oldest first.

        They are handled in one transaction (each alert's claim still commits with its
        decisions, and a failure rolls back the whole batch, leaving every alert
        unhandled for the next tick), so a flood costs one fsync per batch, and the
        daemon's lock is held for a bounded batch, not the whole backlog.
        """
        alerts = self.journal.unhandled_alerts(limit=limit)
        if alerts:
            with self.journal.transaction():
                for alert in alerts:
                    self.handle(alert, now)
        return len(alerts)

    def _gauge(self) -> None:
        counts = self.journal.counts()
        self.metrics.incidents_open.set(sum(n for s, n in counts.items() if Status(s).open))
        self.metrics.needs_attention.set(counts.get(Status.NEEDS_ATTENTION.value, 0))

    def summary(self) -> dict[str, Any]:
        """Counts of incidents by status (for logs and the CLI)."""
        return dict(self.journal.counts())


def _skip(p: Plan, code: ReasonCode, message: str) -> Plan:
    return replace(p, decision=Decision.SKIP, reasons=(*p.reasons[:-1], Reason(
        code=code, message=message)))


def _skip_plan(rb: Runbook, signal: Signal, target: Target, why: Reason) -> Plan:
    return Plan(runbook=rb.name, target=target, decision=Decision.SKIP, reasons=(why,),
                signal_key=signal.dedup_key)
