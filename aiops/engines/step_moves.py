"""What a step's result does to its incident: the move, its event, and what waits for
the commit (close metrics and logs, escalation notifications).

:class:`StepMoves` holds the transitions every step ends in (next step, verify, resolve,
stop, escalate); :class:`~aiops.engines.remediate_steps.StepRunner` builds on it with
applying, reconciling and verifying. Network calls (notifications) run only after the
journal commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

from aiops.actuators.base import Executors
from aiops.engines.facts import FactsReader
from aiops.errors import AiopsError, TemporaryError
from aiops.journal import IncidentView, Journal
from aiops.journal.tx import Tx
from aiops.model import Action, OnChoice, Outcome, OutcomeStatus, PlannedStep, Reason, ReasonCode
from aiops.runbook.lifecycle import IllegalMove, Move
from aiops.runbook.schema import Runbook
from aiops.telemetry.metrics import Metrics

Log = structlog.typing.FilteringBoundLogger


class StepMoves:
    """The transitions a step ends in; stateless apart from what waits for a commit."""

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
