"""Advance incidents through their ladder: apply, verify, retry, escalate. Exactly once.

Every step goes through the journal: the action is recorded ``started`` (committed)
before the actuator is called, and its outcome is written in one transaction with the
incident's move it causes. After a crash an action left ``started`` is *unknown*
(:meth:`StepRunner.recover`): an actuator that can read the world back
(:class:`~aiops.actuators.base.Reconciler`) decides whether it took effect; otherwise it
is re-run only when the step is idempotent, and the incident goes to
``needs-attention`` instead. Actuators make one attempt per call; a temporary failure
is retried by scheduling (``next_try_at``), never by sleeping.

Replicas sharing a journal never both apply one action: the process that inserts the
action (or takes over its retry, or its reconcile) applies it; any other finds it taken
and leaves it alone, and an action ``started`` by a process that is still alive is
never treated as lost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from aiops.actuators.base import Executors, Reconciler
from aiops.config.durations import format_duration
from aiops.engines.facts import FactsReader
from aiops.errors import AiopsError, TemporaryError
from aiops.journal import ActionStatus, ActionView, IncidentView, Journal
from aiops.journal.tx import Tx
from aiops.model import (
    Action,
    OnChoice,
    Outcome,
    OutcomeStatus,
    PlannedStep,
    Reason,
    ReasonCode,
    Reconciled,
    Sample,
    SeriesKey,
    Target,
    TargetState,
    Verdict,
)
from aiops.runbook.guards import check_guards
from aiops.runbook.lifecycle import IllegalMove, Move, Phase, Status
from aiops.runbook.planner import resolve_replicas
from aiops.runbook.schema import MUTATING, Guards, Runbook
from aiops.runbook.verify import describe, judge
from aiops.telemetry.metrics import Metrics

Log = structlog.typing.FilteringBoundLogger
NAME_LABELS = ("workload", "deployment", "statefulset", "unit", "name", "service")
#: How long a mutating step may stay blocked by a guard before the incident stops.
BLOCKED_LIMIT = 1800.0
#: Longest wait between retries of a temporary failure.
MAX_BACKOFF = 300.0


def read_metric(
    latest: Mapping[SeriesKey, Sample], metric: str, target: Target, *, after: float,
    worst: Callable[[list[float]], float] = max,
) -> float | None:
    """The target's latest finite value of ``metric`` newer than ``after`` (worst of many).

    A series belongs to the target when its ``namespace`` label (if the target has one)
    matches and one of its name labels (workload, deployment, ...) equals the name.
    """
    values: list[float] = []
    for key, s in latest.items():
        if key.metric != metric or s.t <= after or not math.isfinite(s.value):
            continue
        labels = key.label_map
        if target.namespace and labels.get("namespace", target.namespace) != target.namespace:
            continue
        if not any(labels.get(n) == target.name for n in NAME_LABELS):
            continue
        values.append(s.value)
    return worst(values) if values else None


def backoff(retry_after: float | None, attempt: int) -> float:
    """Seconds before retry ``attempt`` (0-based): the hint, doubled per attempt, capped.

    >>> backoff(5.0, 0), backoff(5.0, 3), backoff(None, 10)
    (5.0, 40.0, 300.0)
    """
    return float(min(MAX_BACKOFF, max(retry_after or 5.0, 1.0) * 2.0 ** attempt))


def state_image(state: TargetState | None) -> dict[str, Any]:
    """What a target looked like before an action (kept with the action for reconcile)."""
    if state is None:
        return {}
    return {"replicas": state.replicas, "revision": state.revision,
            "ready_replicas": state.ready_replicas, "changed_at": state.changed_at,
            "details": {str(k): str(v) for k, v in state.details.items()}}


class StepRunner:
    """Advances incidents; stateless apart from what it reads from the journal."""

    def __init__(
        self, *, journal: Journal, executors: Executors, facts: FactsReader, metrics: Metrics,
        log: Log, runbooks: Mapping[str, Runbook],
    ) -> None:
        self.journal = journal
        self.executors = executors
        self.facts = facts
        self.metrics = metrics
        self.log = log
        self.runbooks = runbooks
        self._recovered = False
        self._after: list[Callable[[], None]] = []

    # -- moves -------------------------------------------------------------------------

    def move(self, inc: IncidentView, move: Move, why: Reason, now: float, *,
             tx: Tx | None = None, **kw: Any) -> IncidentView | None:
        """Make ``move`` (in ``tx`` or a transaction of its own); None if it lost a race."""
        try:
            if tx is not None:
                got = tx.move(inc, move, why, now=now, **kw)
            else:
                with self.journal.transaction() as own:
                    got = own.move(inc, move, why, now=now, **kw)
        except IllegalMove as exc:
            self.log.warning("move dropped", incident=inc.id, move=move.value, error=str(exc))
            return None
        if got.status.terminal:
            def closed(got: IncidentView = got) -> None:
                self.metrics.closed.labels(inc.runbook, got.status.value, why.code.value).inc()
                self.log.info("incident closed", incident=inc.id, runbook=inc.runbook,
                              target=str(inc.target), status=got.status.value,
                              code=why.code.value, reason=why.message)
            self._after.append(closed)
        return got

    def after_commit(self) -> None:
        """Run what waits for the journal to commit (notifications, metrics, logs).

        Network calls never run inside a journal transaction.
        """
        while self._after:
            self._after.pop(0)()

    def recover(self, now: float) -> int:
        """Mark actions a dead process left ``started`` as ``unknown`` (first tick only)."""
        with self.journal.transaction() as tx:
            lost = tx.started_to_unknown()
            for a in lost:
                inc = tx.incident(a.incident)
                tx.event(t=now, kind="action", incident=a.incident,
                         runbook=inc.runbook if inc else "", target=a.target,
                         why=Reason(code=ReasonCode.OUTCOME_UNKNOWN, message=(
                             f"step {a.step} ({a.kind}) was started before a restart and its "
                             "outcome was never recorded: reconciling before anything else")),
                         detail={"action": a.id})
        if lost:
            self.log.warning("actions with unknown outcome", count=len(lost),
                             actions=[a.id for a in lost])
        self._recovered = True
        return len(lost)

    def advance(self, inc: IncidentView, now: float, latest: Mapping[SeriesKey, Sample]) -> None:
        """Move ``inc`` forward until it has to wait (for time, data, a retry or a person)."""
        if not self._recovered:
            self.recover(now)
        for _ in range(len(inc.steps) * 3 + 3):
            cur = self.journal.incident(inc.id)
            if cur is None or cur.status is not Status.RUNNING:
                return
            try:
                moved = self._step(cur, now, latest)
            except BaseException:
                self._after.clear()  # their transaction rolled back
                raise
            self.after_commit()
            if not moved:
                return

    # -- one step ----------------------------------------------------------------------

    def _event(self, inc: IncidentView, now: float, kind: str, code: ReasonCode, message: str,
               *, tx: Tx | None = None, **detail: Any) -> None:
        why = Reason(code=code, message=message)
        if tx is not None:
            tx.event(t=now, kind=kind, why=why, incident=inc.id, runbook=inc.runbook,
                     target=str(inc.target), detail=detail)
            return
        with self.journal.transaction() as own:
            own.event(t=now, kind=kind, why=why, incident=inc.id, runbook=inc.runbook,
                      target=str(inc.target), detail=detail)

    def _step(self, inc: IncidentView, now: float, latest: Mapping[SeriesKey, Sample]) -> bool:
        """Do what the current phase allows; ``True`` if the incident moved on."""
        if inc.step >= len(inc.steps):
            self.exhaust(inc, now, Reason(code=ReasonCode.EXHAUSTED, message="no steps left"))
            return False
        step = inc.steps[inc.step]
        if inc.phase is Phase.VERIFY:
            return self._verify(inc, step, now, latest)
        if step.kind == "wait":
            until = inc.phase_since + float(step.params.get("duration", 0))
            if now < until:
                return False
            why = Reason(code=ReasonCode.WAITED, message=f"step {step.index}: waited "
                         f"{format_duration(now - inc.phase_since)}")
            return self._succeeded(inc, step, now, why)
        return self._apply(inc, step, now)

    def _apply(self, inc: IncidentView, step: PlannedStep, now: float) -> bool:
        timeout = step.control.timeout
        if timeout is not None and now - inc.phase_since > timeout:
            return self._failed(inc, step, now, Reason(
                code=ReasonCode.TIMED_OUT, message=f"step {step.index} ({step.kind}) timed out "
                f"after {format_duration(timeout)}"))
        if inc.next_try_at is not None and now < inc.next_try_at:
            return False
        action_id = f"{inc.id}:{step.index}"
        prior = self.journal.action(action_id)
        executor = self.executors.for_kind(step.kind)
        if prior is not None and prior.status is ActionStatus.DONE:
            # Completed before a restart: never apply it again; verify it if it has a check.
            why = Reason(code=ReasonCode.RESUMED, message=f"step {step.index} ({step.kind}) "
                         "was already done before a restart; resuming")
            return self._succeeded(inc, step, now, why, verify_since=prior.finished_at,
                                   acted=True)
        if prior is not None and prior.status is ActionStatus.FAILED:
            return self._failed(inc, step, now, Reason(
                code=ReasonCode.ACTION_FAILED, message=f"step {step.index} ({step.kind}) "
                f"failed before a restart: {prior.outcome.get('message', '')}"))
        if prior is not None and prior.status is ActionStatus.STARTED and \
                not self.journal.orphaned(prior):
            return False  # another live process (a replica) is applying it right now
        if self._skip_unreachable(inc, step, prior, now):
            return False
        if prior is not None and prior.status in (ActionStatus.UNKNOWN, ActionStatus.STARTED):
            return self._reconcile(inc, step, prior, now)
        rb = self.runbooks.get(inc.runbook)
        before: dict[str, Any] = {}
        if step.kind in MUTATING:
            facts = self.facts.facts(rb, inc.target, now, recheck=True)
            guards = rb.spec.guards if rb is not None else Guards()
            blocked = check_guards(guards, inc.target, facts, now=now, recheck=True,
                                   kinds=(step.kind,))
            if blocked is not None:
                return self._blocked(inc, step, now, blocked)
            before = state_image(facts.state)
            if self._skip_unreachable(inc, step, prior, now):
                return False
        if prior is not None:  # retrying: exactly what was started, same id
            params = dict(prior.params)
        else:
            try:
                params = self._params(inc, step, now)
            except TemporaryError as exc:
                return self._temporary(inc, step, now, None, exc.retry_after, str(exc))
        with self.journal.transaction() as tx:
            ours = tx.action_started(
                action_id=action_id, incident=inc.id, step=step.index, kind=step.kind,
                target=inc.target, params=params, dry_run=inc.mode == "dry-run", now=now,
                before=before)
        if not ours:
            self.log.info("action taken by another process", incident=inc.id, action=action_id)
            return False
        action = Action(id=action_id, kind=step.kind, target=inc.target, params=params,
                        dry_run=inc.mode == "dry-run", incident=inc.id, runbook=inc.runbook,
                        step=step.index, attempt=inc.attempts)
        outcome = self._call(executor.apply, action, now)
        return self._record(inc, step, action, outcome, now)

    def _skip_unreachable(self, inc: IncidentView, step: PlannedStep, prior: ActionView | None,
                          now: float) -> bool:
        """Retry later, without calling it, a step whose actuator already failed with a
        temporary error in this tick (a stalled API costs one timeout per tick, not one
        per call); ``True`` if the step was put off."""
        down = self.facts.unreachable(now)
        if down is None or self.executors.for_kind(step.kind) is not self.executors.workloads:
            return False
        retrying = prior is not None and prior.status is ActionStatus.RETRYING
        self._temporary(inc, step, now, prior.id if retrying and prior else None, None,
                        f"not tried: the actuator failed earlier in this tick ({down})")
        return True

    def _call(self, fn: Callable[..., Outcome], action: Action, now: float) -> Outcome:
        try:
            return fn(action, now=now)
        except TemporaryError as exc:
            return Outcome(action_id=action.id, status=OutcomeStatus.TEMPORARY,
                           message=str(exc), retry_after=exc.retry_after)
        except AiopsError as exc:
            return Outcome(action_id=action.id, status=OutcomeStatus.FAILED, message=str(exc))
        except Exception as exc:  # an actuator bug is a failed step, not a dead daemon
            return Outcome(action_id=action.id, status=OutcomeStatus.FAILED,
                           message=f"actuator error: {exc!r}")

    def _record(self, inc: IncidentView, step: PlannedStep, action: Action, outcome: Outcome,
                now: float) -> bool:
        """Journal an outcome together with the move it causes (one transaction)."""
        self.metrics.actions.labels(inc.runbook, step.kind, str(outcome.status)).inc()
        self.log.info("action", incident=inc.id, action=action.id, kind=step.kind,
                      target=str(inc.target), outcome=str(outcome.status),
                      message=outcome.message)
        if outcome.status is OutcomeStatus.TEMPORARY:
            return self._temporary(inc, step, now, action.id, outcome.retry_after,
                                   outcome.message)
        if outcome.status is OutcomeStatus.UNKNOWN:
            if step.control.idempotent and inc.attempts < step.control.retry:
                return self._temporary(inc, step, now, action.id, None, outcome.message)
            with self.journal.transaction() as tx:
                tx.action_status(action.id, ActionStatus.UNKNOWN, outcome=outcome)
                return self._unknown(inc, step, now, outcome.message, tx=tx)
        text = (f"step {step.index}: {step.description} -> {outcome.status}"
                + (f" ({outcome.message})" if outcome.message else ""))
        detail = {"action": action.id, "outcome": str(outcome.status),
                  "params": dict(action.params), "before": dict(outcome.before),
                  "after": dict(outcome.after)}
        with self.journal.transaction() as tx:
            tx.action_status(action.id, ActionStatus.DONE if outcome.ok else ActionStatus.FAILED,
                             now=now, outcome=outcome)
            if not outcome.ok:
                self._event(inc, now, "action", ReasonCode.ACTION_FAILED, text, tx=tx, **detail)
                return self._failed(inc, step, now, Reason(
                    code=ReasonCode.ACTION_FAILED, message=outcome.message or "failed"), tx=tx)
            code = ReasonCode.ACTION_DRY_RUN if outcome.status is OutcomeStatus.DRY_RUN \
                else ReasonCode.ACTION_DONE
            self._event(inc, now, "action", code, text, tx=tx, **detail)
            return self._succeeded(inc, step, now, Reason(code=code, message=text), tx=tx,
                                   acted=True)

    def _temporary(self, inc: IncidentView, step: PlannedStep, now: float,
                   action_id: str | None, retry_after: float | None, message: str) -> bool:
        if self.executors.for_kind(step.kind) is self.executors.workloads:
            self.facts.mark_unreachable(now, message)  # no more calls to it this tick
        retries = step.control.retry
        if inc.attempts < retries:
            wait = backoff(retry_after, inc.attempts)
            why = Reason(code=ReasonCode.ACTION_RETRY, message=(
                f"step {step.index} ({step.kind}): {message}; retry {inc.attempts + 1}/"
                f"{retries} in {format_duration(wait)}"))
            with self.journal.transaction() as tx:
                if action_id is not None:
                    tx.action_status(action_id, ActionStatus.RETRYING, attempts=inc.attempts + 1)
                self.move(inc, Move.RETRY, why, now, tx=tx, retry_at=now + wait)
            return False
        why = Reason(code=ReasonCode.ACTION_FAILED, message=(
            f"{message} (gave up after {retries} retries)"))
        with self.journal.transaction() as tx:
            if action_id is not None:
                tx.action_status(action_id, ActionStatus.FAILED, now=now, outcome=Outcome(
                    action_id=action_id, status=OutcomeStatus.FAILED, message=why.message))
            return self._failed(inc, step, now, why, tx=tx)

    def _params(self, inc: IncidentView, step: PlannedStep, now: float) -> dict[str, Any]:
        params = dict(step.params)
        if step.kind == "scale":
            # Resolve a delta to absolute replicas from a fresh observation, right now.
            state = self.executors.workloads.observe(inc.target, now=now)
            current = state.hpa_min_replicas if params.get("via_hpa") and \
                state.hpa_min_replicas is not None else state.replicas
            params = {"replicas": resolve_replicas(params, current),
                      "via_hpa": bool(params.get("via_hpa")), "from": current}
        return params

    # -- crashes and unknown outcomes ----------------------------------------------------

    def _reconcile(self, inc: IncidentView, step: PlannedStep, prior: ActionView,
                   now: float) -> bool:
        """Decide an action whose outcome was lost: read the world back, or ask a person.

        The action is taken over first: of two processes reconciling it, one does.
        """
        with self.journal.transaction() as tx:
            if not tx.take_over(prior):
                return False
        executor = self.executors.for_kind(step.kind)
        action = Action(id=prior.id, kind=prior.kind, target=inc.target, params=prior.params,
                        dry_run=prior.dry_run, incident=inc.id, runbook=inc.runbook,
                        step=step.index, attempt=inc.attempts)
        verdict, evidence = Reconciled.UNKNOWN, "the actuator cannot read the world back"
        if isinstance(executor, Reconciler):
            try:
                rec = executor.reconcile(action, before=prior.before, now=now)
                verdict, evidence = rec.status, rec.message
            except TemporaryError as exc:
                with self.journal.transaction() as tx:  # still unknown: reconcile again
                    tx.action_status(prior.id, ActionStatus.UNKNOWN)
                return self._temporary(inc, step, now, None, exc.retry_after,
                                       f"cannot reconcile yet: {exc}")
            except AiopsError as exc:
                evidence = f"reconcile failed: {exc}"
        if verdict is Reconciled.DONE:
            outcome = Outcome(action_id=prior.id, status=OutcomeStatus.DONE,
                              message=f"reconciled: {evidence}")
            self.metrics.actions.labels(inc.runbook, step.kind, "reconciled").inc()
            with self.journal.transaction() as tx:
                tx.action_status(prior.id, ActionStatus.DONE, now=now, outcome=outcome)
                why = Reason(code=ReasonCode.RECONCILED_DONE, message=(
                    f"step {step.index} ({step.kind}) took effect before the restart: "
                    f"{evidence}"))
                self._event(inc, now, "reconciled", why.code, why.message, tx=tx,
                            action=prior.id)
                return self._succeeded(inc, step, now, why, tx=tx, acted=True)
        if verdict is Reconciled.NOT_DONE or step.control.idempotent:
            code = ReasonCode.RECONCILED_NOT_DONE if verdict is Reconciled.NOT_DONE \
                else ReasonCode.RERUN_IDEMPOTENT
            message = (f"step {step.index} ({step.kind}) did not take effect ({evidence}): "
                       "applying it now, same id") if verdict is Reconciled.NOT_DONE else (
                f"step {step.index} ({step.kind}) outcome unknown ({evidence}); the step is "
                "idempotent: re-running it with the same id")
            # Still 'started' by this process: a crash while applying leaves it unknown.
            self._event(inc, now, "reconciled", code, message, action=prior.id)
            outcome = self._call(executor.apply, action, now)
            return self._record(inc, step, action, outcome, now)
        return self._unknown(inc, step, now, evidence, action_id=prior.id)

    def _unknown(self, inc: IncidentView, step: PlannedStep, now: float, evidence: str, *,
                 tx: Tx | None = None, action_id: str | None = None) -> bool:
        """An outcome nobody can establish: never re-run blindly; stop and ask a person."""
        why = Reason(code=ReasonCode.OUTCOME_UNKNOWN, message=(
            f"step {step.index} ({step.kind}): outcome unknown ({evidence}); not re-running a "
            f"step that is not idempotent. Decide with `aiops attend {inc.id}`"))
        with self.journal.transaction() as own:
            if action_id is not None:
                own.action_status(action_id, ActionStatus.UNKNOWN)
            got = self.move(inc, Move.ATTENTION, why, now, tx=tx or own)
        self.metrics.decisions.labels(inc.runbook, "attention", why.code.value).inc()
        if got is not None:
            self._after.append(lambda: self.notify(got, now, "needs-attention", why))
        return False

    # -- guards --------------------------------------------------------------------------

    def _blocked(self, inc: IncidentView, step: PlannedStep, now: float, why: Reason) -> bool:
        last = self.journal.timeline(inc.id)
        text = f"step {step.index} ({step.kind}) blocked: {why.message}"
        if not last or last[-1].kind != "blocked" or last[-1].reason != text:
            self._event(inc, now, "blocked", why.code, text)
            self.metrics.decisions.labels(inc.runbook, "blocked", why.code.value).inc()
        if now - inc.phase_since > BLOCKED_LIMIT:
            self.move(inc, Move.STOP, Reason(code=ReasonCode.BLOCKED_TOO_LONG, message=(
                f"blocked for {format_duration(now - inc.phase_since)}: {why.message}")), now)
        return False

    # -- verification ------------------------------------------------------------------

    def _verify(self, inc: IncidentView, step: PlannedStep, now: float,
                latest: Mapping[SeriesKey, Sample]) -> bool:
        v = step.verify
        assert v is not None
        worst = max if v.below is not None else min
        value = read_metric(latest, v.metric, inc.target, after=inc.phase_since, worst=worst)
        verdict = judge(v, value, started=inc.phase_since, now=now)
        if verdict is Verdict.PENDING:
            return False
        seen = "no data" if value is None else f"{value:.4g}"
        text = (f"step {step.index}: {describe(v)}: {verdict} (observed {seen} after "
                f"{format_duration(now - inc.phase_since)})")
        self.metrics.decisions.labels(inc.runbook, "verify", str(verdict)).inc()
        with self.journal.transaction() as tx:
            if verdict is Verdict.PASS:
                self._event(inc, now, "verify", ReasonCode.VERIFIED, text, tx=tx,
                            verdict=str(verdict), value=value)
                self.move(inc, Move.RESOLVE, Reason(code=ReasonCode.VERIFIED, message=(
                    f"verified {describe(v)} after step {step.index} ({step.kind})")), now, tx=tx)
                return False
            code = ReasonCode.VERIFY_FAILED if verdict is Verdict.FAIL \
                else ReasonCode.VERIFY_INCONCLUSIVE
            self._event(inc, now, "verify", code, text, tx=tx, verdict=str(verdict), value=value)
            choice = step.control.on_failure if verdict is Verdict.FAIL \
                else step.control.on_inconclusive
            return self._go(inc, step, now, choice, Reason(
                code=code, message=f"verification {verdict}"), tx=tx)

    # -- transitions -------------------------------------------------------------------

    def _succeeded(self, inc: IncidentView, step: PlannedStep, now: float, why: Reason, *,
                   tx: Tx | None = None, acted: bool = False,
                   verify_since: float | None = None) -> bool:
        if step.verify is not None:
            return self.move(inc, Move.APPLIED, why, now, tx=tx, acted=acted,
                             since=verify_since) is not None
        if step.index + 1 >= len(inc.steps):
            done = Reason(code=ReasonCode.COMPLETED, message=f"all {len(inc.steps)} step(s) "
                          f"done ({why.message})")
            self.move(inc, Move.COMPLETE, done, now, tx=tx, acted=acted)
            return False
        return self.move(inc, Move.NEXT, why, now, tx=tx, acted=acted) is not None

    def _failed(self, inc: IncidentView, step: PlannedStep, now: float, why: Reason, *,
                tx: Tx | None = None) -> bool:
        return self._go(inc, step, now, step.control.on_failure, why, tx=tx)

    def _go(self, inc: IncidentView, step: PlannedStep, now: float, choice: OnChoice,
            why: Reason, *, tx: Tx | None = None) -> bool:
        where = f"step {step.index} ({step.kind}): {why.message}"
        if choice is OnChoice.STOP:
            self.move(inc, Move.STOP, Reason(code=ReasonCode.STOPPED_BY_RUNBOOK,
                                             message=f"{where}; on: stop"), now, tx=tx)
            return False
        if choice is OnChoice.ESCALATE:
            self.exhaust(inc, now, Reason(code=why.code, message=f"{where}; on: escalate"),
                         tx=tx)
            return False
        if step.index + 1 >= len(inc.steps):
            self.exhaust(inc, now, Reason(code=why.code, message=f"{where}; no steps left"),
                         tx=tx)
            return False
        nxt = inc.steps[step.index + 1]
        return self.move(inc, Move.NEXT, Reason(code=ReasonCode.NEXT_STEP, message=(
            f"{where}; trying step {step.index + 1} ({nxt.kind})")), now, tx=tx) is not None

    def exhaust(self, inc: IncidentView, now: float, why: Reason, *,
                tx: Tx | None = None) -> None:
        """Close as exhausted and notify the runbook's ``on_exhausted`` destinations."""
        self.metrics.decisions.labels(inc.runbook, "escalate", "exhausted").inc()
        got = self.move(inc, Move.EXHAUST, why, now, tx=tx)
        if got is not None:
            self._after.append(lambda: self.notify(got, now, "exhausted", why))

    def notify(self, inc: IncidentView, now: float, status: str, why: Reason) -> None:
        """Tell the runbook's ``on_exhausted.notify`` destinations (best effort, journaled)."""
        rb = self.runbooks.get(inc.runbook)
        targets = rb.spec.on_exhausted.notify if rb is not None else []
        notifier = self.executors.by_kind.get("notify")
        for i, dest in enumerate(targets):
            if dest.startswith(("http://", "https://")) and notifier is not None:
                action = Action(
                    id=f"{inc.id}:{status}:{i}", kind="notify", target=inc.target,
                    incident=inc.id, dry_run=inc.mode == "dry-run",
                    params={"url": dest, "body": {
                        "incident": inc.id, "runbook": inc.runbook, "target": str(inc.target),
                        "status": status, "code": why.code.value, "reason": why.message}},
                )
                out = self._call(notifier.apply, action, now)
                text = f"notified {dest}: {out.status}" + (
                    f" ({out.message})" if not out.ok and out.message else "")
            else:
                text = f"escalated to {dest}"
            try:
                self._event(inc, now, "escalation", ReasonCode.ESCALATED, text)
            except AiopsError as exc:
                self.log.error("escalation not journaled", incident=inc.id, error=str(exc))
