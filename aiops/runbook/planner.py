"""``plan(match, facts, now)``: what a matched runbook would do, and why. Pure.

The plan's reasons list, in order, the trigger that matched, the target, the ``when``
expression, the guard verdict and the mode; a skip ends with the guard that stopped
it. Steps carry concrete parameters (templates rendered, scale bounds resolved);
a scale ``delta`` is resolved to absolute replicas by :func:`resolve_replicas` right
before it is applied, from a fresh observation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiops.config.durations import format_duration
from aiops.model import (
    Decision,
    OnChoice,
    Plan,
    PlannedStep,
    Reason,
    ReasonCode,
    StepControl,
    TargetState,
    Verdict,
    VerifySpec,
)
from aiops.runbook.argv import check_argv
from aiops.runbook.guards import GuardFacts, check_guards
from aiops.runbook.match import Match
from aiops.runbook.schema import (
    CommandStep,
    DeletePodStep,
    Guards,
    NotifyStep,
    RollbackStep,
    ScaleStep,
    Step,
    WaitStep,
)
from aiops.runbook.secrets import SecretRef
from aiops.runbook.steps import IDEMPOTENT_BY_DEFAULT, Verify
from aiops.runbook.templating import TemplateError, evaluate, render, render_value
from aiops.runbook.verify import describe

MODE_DECISION = {
    "dry-run": Decision.DRY_RUN, "approve": Decision.AWAIT_APPROVAL, "auto": Decision.RUN
}


def resolve_replicas(params: Mapping[str, Any], current: int) -> int:
    """Absolute replicas for a scale step, clamped to its ``min``/``max``.

    >>> resolve_replicas({"delta": 2, "min": 1, "max": 5}, current=4)
    5
    >>> resolve_replicas({"replicas": 0, "min": 1}, current=4)
    1
    """
    if params.get("replicas") is not None:
        n = int(params["replicas"])
    else:
        n = current + int(params.get("delta") or 0)
    n = max(n, int(params.get("min", 0)))
    if params.get("max") is not None:
        n = min(n, int(params["max"]))
    return n


def step_control(step: Step) -> StepControl:
    """The ladder-control half of a runbook step (the actuator never sees it)."""
    idempotent = step.idempotent
    if idempotent is None:
        idempotent = step.action in IDEMPOTENT_BY_DEFAULT
    return StepControl(retry=step.retry, timeout=step.timeout,
                       on_failure=OnChoice(step.on.failure),
                       on_inconclusive=OnChoice(step.on.inconclusive), idempotent=idempotent)


def verify_spec(v: Verify) -> VerifySpec:
    """A runbook ``verify`` block as the value the engine judges."""
    return VerifySpec(metric=v.metric, below=v.below, above=v.above, within=v.within,
                      on_no_data=Verdict(v.on_no_data))


def _step_params(step: Step, guards: Guards, ctx: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any]
    if isinstance(step, ScaleStep):
        w = step.with_
        ceiling = [m for m in (w.max, guards.max_replicas) if m is not None]
        params = {"min": w.min, "max": min(ceiling) if ceiling else None, "via_hpa": w.via_hpa}
        if isinstance(w.replicas, str):
            text = render(w.replicas, ctx)
            try:
                params["replicas"] = int(float(text))
            except ValueError:
                raise TemplateError(f"replicas {w.replicas!r} rendered {text!r}, not a number")\
                    from None
        elif w.replicas is not None:
            params["replicas"] = w.replicas
        else:
            params["delta"] = w.delta
    elif isinstance(step, RollbackStep):
        params = {"only_if_changed_within": step.with_.only_if_changed_within}
    elif isinstance(step, DeletePodStep):
        params = {"pod": render(step.with_.pod, ctx)} if step.with_.pod else {}
    elif isinstance(step, WaitStep):
        params = {"duration": step.with_.duration}
    elif isinstance(step, NotifyStep):
        params = {
            "url": render(step.with_.url, ctx),
            "body": render_value(step.with_.body, ctx),
            # secret references are copied as references: the actuator resolves them
            "headers": {k: v.as_params() if isinstance(v, SecretRef) else v
                        for k, v in step.with_.headers.items()},
        }
    elif isinstance(step, CommandStep):
        argv = render_value(step.with_.argv, ctx)
        check_argv(step.with_.argv, argv, allow_leading_dash=step.with_.allow_leading_dash)
        params = {"argv": argv, "timeout": step.with_.timeout}
    else:
        params = {}
    return params


def _describe_step(
    kind: str, params: Mapping[str, Any], target: str, state: TargetState | None
) -> str:
    if kind == "scale":
        if params.get("replicas") is not None:
            what = f"to {params['replicas']}"
        else:
            what = f"by {int(params['delta']):+d}"
        if state is not None:
            what += f" ({state.replicas} -> {resolve_replicas(params, state.replicas)})"
        if params.get("max") is not None:
            what += f", max {params['max']}"
        return f"scale {target} {what}"
    if kind == "wait":
        return f"wait {format_duration(float(params['duration']))}"
    if kind in ("notify", "webhook"):
        return f"POST {params['url']}"
    if kind == "command":
        return "run " + " ".join(str(a) for a in params["argv"])
    if kind == "rollback" and params.get("only_if_changed_within"):
        return (
            f"rollback {target} if changed within "
            f"{format_duration(float(params['only_if_changed_within']))}"
        )
    return f"{kind} {target}"


def plan(
    m: Match, facts: GuardFacts, now: float, mode_override: str | None = None
) -> Plan:
    """Decide what to do about a match: run, dry-run, await approval, or skip (and why)."""
    rb = m.runbook
    reasons = list(m.reasons)
    ctx = dict(m.context)
    ctx["state"] = _state_dict(facts.state)

    def done(decision: Decision, steps: tuple[PlannedStep, ...] = ()) -> Plan:
        return Plan(
            runbook=rb.name, target=m.target, decision=decision, reasons=tuple(reasons),
            steps=steps, labels=dict(m.labels), signal_key=m.signal.dedup_key,
        )

    def skip(code: ReasonCode, message: str) -> Plan:
        reasons.append(Reason(code=code, message=message))
        return done(Decision.SKIP)

    if rb.spec.when is not None:
        try:
            ok = evaluate(rb.spec.when, ctx)
        except TemplateError as exc:
            return skip(ReasonCode.WHEN_ERROR, f"when: {exc}")
        if not ok:
            return skip(ReasonCode.WHEN_FALSE, f"when {rb.spec.when!r} is false")
        reasons.append(Reason(code=ReasonCode.WHEN_TRUE, message=f"when {rb.spec.when!r} is true"))
    blocked = check_guards(rb.spec.guards, m.target, facts, now=now,
                           kinds={s.action for s in rb.spec.steps})
    if blocked is not None:
        reasons.append(blocked)
        return done(Decision.SKIP)
    reasons.append(Reason(code=ReasonCode.GUARDS_PASSED, message="guards passed"))
    if facts.running is not None:  # only reachable with concurrency: queue
        reasons.append(Reason(code=ReasonCode.QUEUED,
                              message=f"queued: incident {facts.running} is running on {m.target}"))
    steps: list[PlannedStep] = []
    for i, step in enumerate(rb.spec.steps):
        try:
            params = _step_params(step, rb.spec.guards, ctx)
        except TemplateError as exc:
            return skip(ReasonCode.TEMPLATE_ERROR, f"step {i} ({step.action}): {exc}")
        verify = verify_spec(step.verify) if step.verify is not None else None
        # Only the first step's resolution is known now; later ones resolve when they run.
        state = facts.state if i == 0 else None
        desc = _describe_step(step.action, params, str(m.target), state)
        if verify is not None:
            desc += f"; verify {describe(verify)}"
        steps.append(PlannedStep(index=i, kind=step.action, params=params,
                                 control=step_control(step), verify=verify, description=desc))
    mode = mode_override or rb.spec.mode
    decision = MODE_DECISION[mode]
    code, text = {
        Decision.RUN: (ReasonCode.MODE_AUTO, "mode auto: run"),
        Decision.DRY_RUN: (ReasonCode.MODE_DRY_RUN,
                           "mode dry-run: record what would run, change nothing"),
        Decision.AWAIT_APPROVAL: (ReasonCode.MODE_APPROVE, "mode approve: awaiting approval"),
    }[decision]
    reasons.append(Reason(code=code, message=text + (" (mode overridden)" if mode_override
                                                       else "")))
    return done(decision, tuple(steps))


def _state_dict(state: TargetState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "exists": state.exists, "replicas": state.replicas,
        "ready_replicas": state.ready_replicas, "revision": state.revision,
        "rollout_in_progress": state.rollout_in_progress, "changed_at": state.changed_at,
        "hpa_min_replicas": state.hpa_min_replicas,
    }
