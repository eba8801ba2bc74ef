"""One incident's ladder, one step at a time: apply, verify, go on, stop or escalate.

Phases of the current step: ``apply`` (guards re-checked, action journaled as
``started`` BEFORE ``apply`` and its outcome after) then ``verify`` (the step's metric
read for the incident's target from the latest samples). A verified pass resolves the
incident; a failure takes the step's ``on.failure`` (default ``next``); running out of
steps is ``exhausted`` and triggers ``on_exhausted``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog

from aiops.actuators.base import Actuator
from aiops.config.durations import format_duration
from aiops.errors import AiopsError, TemporaryError
from aiops.journal import IncidentView, Journal
from aiops.model import (
    Action,
    Outcome,
    OutcomeStatus,
    PlannedStep,
    Sample,
    SeriesKey,
    Target,
    Verdict,
)
from aiops.runbook.guards import GuardFacts, check_guards
from aiops.runbook.planner import actuator_params, resolve_replicas
from aiops.runbook.schema import MUTATING, Guards, Runbook
from aiops.runbook.verify import describe, judge
from aiops.telemetry.metrics import Metrics

Log = structlog.typing.FilteringBoundLogger
NAME_LABELS = ("workload", "deployment", "statefulset", "unit", "name", "service")
#: How long a mutating step may stay blocked by a guard before the incident stops.
BLOCKED_LIMIT = 1800.0


class FactsFn(Protocol):
    def __call__(
        self, rb: Runbook, target: Target, now: float, *, recheck: bool = False
    ) -> GuardFacts: ...


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


class StepRunner:
    """Advances incidents; stateless apart from what it reads from the journal."""

    def __init__(
        self, *, journal: Journal, actuator: Actuator, executors: Mapping[str, Actuator],
        metrics: Metrics, log: Log, facts: FactsFn, runbooks: Mapping[str, Runbook],
    ) -> None:
        self.journal = journal
        self.actuator = actuator
        self.executors = executors
        self.metrics = metrics
        self.log = log
        self.facts = facts
        self.runbooks = runbooks

    def _event(self, inc: IncidentView, now: float, kind: str, reason: str,
               **detail: Any) -> None:
        self.journal.add_event(t=now, kind=kind, reason=reason, incident=inc.id,
                               runbook=inc.runbook, target=str(inc.target), detail=detail)

    def close(self, inc: IncidentView, status: str, now: float, reason: str) -> None:
        """Finish an incident with ``status`` and say why."""
        self.journal.update_incident(inc.id, status=status, closed_at=now, phase="closed")
        self._event(inc, now, "closed", f"{status}: {reason}")
        self.log.info("incident closed", incident=inc.id, runbook=inc.runbook,
                      target=str(inc.target), status=status, reason=reason)

    def advance(self, inc: IncidentView, now: float, latest: Mapping[SeriesKey, Sample]) -> None:
        """Move ``inc`` forward until it has to wait (for time, data or a retry)."""
        for _ in range(len(inc.steps) * 2 + 2):
            cur = self.journal.incident(inc.id)
            if cur is None or not cur.open or cur.status != "running":
                return
            if not self._step(cur, now, latest):
                return

    # -- one step ----------------------------------------------------------------------

    def _step(self, inc: IncidentView, now: float, latest: Mapping[SeriesKey, Sample]) -> bool:
        """Do what the current phase allows; ``True`` if the incident moved on."""
        if inc.step >= len(inc.steps):
            self._exhausted(inc, now, "no steps left")
            return False
        step = inc.steps[inc.step]
        if inc.phase == "verify":
            return self._verify(inc, step, now, latest)
        if step.kind == "wait":
            until = inc.phase_since + float(step.params.get("duration", 0))
            if now < until:
                return False
            self._event(inc, now, "step", f"step {step.index}: waited "
                        f"{format_duration(now - inc.phase_since)}")
            return self._succeeded(inc, step, now)
        return self._apply(inc, step, now)

    def _apply(self, inc: IncidentView, step: PlannedStep, now: float) -> bool:
        if inc.next_try_at is not None and now < inc.next_try_at:
            return False
        timeout = step.params.get("timeout")
        if timeout is not None and now - inc.phase_since > float(timeout):
            took = format_duration(float(timeout))
            return self._failed(inc, step, now, f"timed out after {took}")
        action_id = f"{inc.id}:{step.index}"
        prior = self.journal.action(action_id)
        if prior is not None and prior.status == "done":
            # Completed before a restart: never apply it again; verify it if it has a check.
            self._event(inc, now, "step", f"step {step.index} ({step.kind}) already done "
                        "before a restart; resuming")
            self.journal.update_incident(inc.id, acted=1)
            if step.verify is not None:
                since = prior.finished_at if prior.finished_at is not None else now
                self.journal.update_incident(inc.id, phase="verify", phase_since=since,
                                             attempts=0, next_try_at=None)
                return True
            return self._succeeded(inc, step, now)
        rb = self.runbooks.get(inc.runbook)
        if step.kind in MUTATING:
            guards = rb.spec.guards if rb is not None else Guards()
            blocked = check_guards(
                guards, inc.target,
                self.facts(rb, inc.target, now, recheck=True) if rb is not None
                else GuardFacts(), now=now, recheck=True, kinds=(step.kind,))
            if blocked is not None:
                return self._blocked(inc, step, now, blocked)
        if prior is not None:
            params = dict(prior.params)  # re-apply exactly what was started, same id
            self._event(inc, now, "step", f"step {step.index} ({step.kind}) was started "
                        "before a restart; re-applying with the same id")
        else:
            params = self._params(inc, step, now)
            self.journal.action_started(
                action_id=action_id, incident=inc.id, step=step.index, kind=step.kind,
                target=inc.target, params=params, dry_run=inc.mode == "dry-run", now=now)
        action = Action(id=action_id, kind=step.kind, target=inc.target, params=params,
                        dry_run=inc.mode == "dry-run", incident=inc.id)
        executor = self.executors.get(step.kind, self.actuator)
        try:
            outcome = executor.apply(action, now=now)
        except TemporaryError as exc:
            outcome = Outcome(action_id=action_id, status=OutcomeStatus.TEMPORARY,
                              message=str(exc), retry_after=exc.retry_after)
        except AiopsError as exc:
            outcome = Outcome(action_id=action_id, status=OutcomeStatus.FAILED, message=str(exc))
        except Exception as exc:  # an actuator bug is a failed step, not a dead daemon
            outcome = Outcome(action_id=action_id, status=OutcomeStatus.FAILED,
                              message=f"actuator error: {exc!r}")
        self.metrics.actions.labels(inc.runbook, step.kind, str(outcome.status)).inc()
        self.log.info("action", incident=inc.id, action=action_id, kind=step.kind,
                      target=str(inc.target), outcome=str(outcome.status), message=outcome.message)
        if outcome.status is OutcomeStatus.TEMPORARY:
            retries = int(step.params.get("retry") or 0)
            if inc.attempts < retries:
                wait = outcome.retry_after or 5.0
                self.journal.update_incident(inc.id, attempts=inc.attempts + 1,
                                             next_try_at=now + wait)
                self._event(inc, now, "retry", f"step {step.index} ({step.kind}): "
                            f"{outcome.message}; retry {inc.attempts + 1}/{retries} in "
                            f"{format_duration(wait)}")
                return False
        self.journal.action_finished(action_id, outcome, now=now)
        self._event(inc, now, "action", f"step {step.index}: {step.description} -> "
                    f"{outcome.status}" + (f" ({outcome.message})" if outcome.message else ""),
                    action=action_id, outcome=str(outcome.status), params=params,
                    before=dict(outcome.before), after=dict(outcome.after))
        if not outcome.ok:
            return self._failed(inc, step, now, outcome.message or str(outcome.status))
        self.journal.update_incident(inc.id, acted=1)
        if step.verify is not None:
            self.journal.update_incident(inc.id, phase="verify", phase_since=now, attempts=0,
                                         next_try_at=None)
            return True
        return self._succeeded(inc, step, now)

    def _params(self, inc: IncidentView, step: PlannedStep, now: float) -> dict[str, Any]:
        params = actuator_params(step)
        if step.kind == "scale":
            # Resolve a delta to absolute replicas from a fresh observation, right now.
            state = self.actuator.observe(inc.target, now=now)
            current = state.hpa_min_replicas if params.get("via_hpa") and \
                state.hpa_min_replicas is not None else state.replicas
            params = {"replicas": resolve_replicas(params, current),
                      "via_hpa": bool(params.get("via_hpa")), "from": current}
        return params

    def _blocked(self, inc: IncidentView, step: PlannedStep, now: float, reason: str) -> bool:
        last = self.journal.timeline(inc.id)
        text = f"step {step.index} ({step.kind}) {reason}"
        if not last or last[-1].kind != "blocked" or last[-1].reason != text:
            self._event(inc, now, "blocked", text)
            word = reason.removeprefix("skipped: ").split(" ", 1)[0].rstrip(":")
            self.metrics.decisions.labels(inc.runbook, "blocked", word).inc()
        if now - inc.phase_since > BLOCKED_LIMIT:
            self.close(inc, "stopped", now, f"blocked for {format_duration(now - inc.phase_since)}:"
                       f" {reason}")
        return False

    # -- verification ------------------------------------------------------------------

    def _verify(self, inc: IncidentView, step: PlannedStep, now: float,
                latest: Mapping[SeriesKey, Sample]) -> bool:
        v = step.verify
        assert v is not None
        worst = max if v.get("below") is not None else min
        value = read_metric(latest, str(v["metric"]), inc.target, after=inc.phase_since,
                            worst=worst)
        verdict = judge(v, value, started=inc.phase_since, now=now)
        if verdict is Verdict.PENDING:
            return False
        seen = "no data" if value is None else f"{value:.4g}"
        self._event(inc, now, "verify", f"step {step.index}: {describe(v)}: {verdict} "
                    f"(observed {seen} after {format_duration(now - inc.phase_since)})",
                    verdict=str(verdict), value=value)
        self.metrics.decisions.labels(inc.runbook, "verify", str(verdict)).inc()
        if verdict is Verdict.PASS:
            self.close(inc, "resolved", now, f"verified {describe(v)} after step {step.index}"
                       f" ({step.kind})")
            return False
        choice = str(step.params.get("on_failure" if verdict is Verdict.FAIL
                                     else "on_inconclusive", "next"))
        return self._go(inc, step, now, choice, f"verification {verdict}")

    # -- transitions -------------------------------------------------------------------

    def _succeeded(self, inc: IncidentView, step: PlannedStep, now: float) -> bool:
        if step.index + 1 >= len(inc.steps):
            self.close(inc, "completed", now, f"all {len(inc.steps)} step(s) done"
                       + ("" if step.verify is None else "; last verification did not pass"))
            return False
        self.journal.update_incident(inc.id, step=step.index + 1, phase="apply",
                                     phase_since=now, attempts=0, next_try_at=None)
        return True

    def _failed(self, inc: IncidentView, step: PlannedStep, now: float, why: str) -> bool:
        choice = str(step.params.get("on_failure", "next"))
        return self._go(inc, step, now, choice, f"step failed: {why}")

    def _go(self, inc: IncidentView, step: PlannedStep, now: float, choice: str,
            why: str) -> bool:
        if choice == "stop":
            self.close(inc, "stopped", now, f"step {step.index} ({step.kind}): {why}; on: stop")
            return False
        if choice == "escalate":
            self._exhausted(inc, now, f"step {step.index} ({step.kind}): {why}; on: escalate")
            return False
        if step.index + 1 >= len(inc.steps):
            self._exhausted(inc, now, f"step {step.index} ({step.kind}): {why}; no steps left")
            return False
        self._event(inc, now, "next", f"step {step.index} ({step.kind}): {why}; "
                    f"trying step {step.index + 1} ({inc.steps[step.index + 1].kind})")
        self.journal.update_incident(inc.id, step=step.index + 1, phase="apply",
                                     phase_since=now, attempts=0, next_try_at=None)
        return True

    def _exhausted(self, inc: IncidentView, now: float, why: str) -> None:
        rb = self.runbooks.get(inc.runbook)
        targets = rb.spec.on_exhausted.notify if rb is not None else []
        notifier = self.executors.get("notify")
        for i, dest in enumerate(targets):
            if dest.startswith(("http://", "https://")) and notifier is not None:
                action = Action(
                    id=f"{inc.id}:escalate:{i}", kind="notify", target=inc.target,
                    incident=inc.id, dry_run=inc.mode == "dry-run",
                    params={"url": dest, "body": {
                        "incident": inc.id, "runbook": inc.runbook, "target": str(inc.target),
                        "status": "exhausted", "reason": why}},
                )
                try:
                    out = notifier.apply(action, now=now)
                    self._event(inc, now, "escalation", f"notified {dest}: {out.status}")
                except AiopsError as exc:
                    self._event(inc, now, "escalation", f"could not notify {dest}: {exc}")
            else:
                self._event(inc, now, "escalation", f"escalated to {dest}")
        self.metrics.decisions.labels(inc.runbook, "escalate", "exhausted").inc()
        self.close(inc, "exhausted", now, why)
