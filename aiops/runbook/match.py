"""Does a runbook's trigger fit a signal? Pure: no I/O, no clock (``now`` is passed in).

:func:`explain_match` returns either a :class:`Match` (trigger, labels, rendered
target, reasons) or the reason it does not match; :func:`match` keeps only the match.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiops.config.durations import format_duration
from aiops.model import (
    Alert,
    Anomaly,
    Episode,
    ForecastSignal,
    ManualSignal,
    ModelDrift,
    Signal,
    SignalKind,
    Target,
)
from aiops.reasons import Reason, ReasonCode
from aiops.runbook.schema import Runbook, Trigger
from aiops.runbook.targets import target_problem
from aiops.runbook.templating import TemplateError, render


@dataclass(frozen=True, kw_only=True, slots=True)
class Match:
    """A runbook trigger that fits a signal, with the concrete target it points at."""

    runbook: Runbook
    signal: Signal
    trigger: int
    target: Target
    labels: Mapping[str, str]
    context: Mapping[str, Any] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()


def signal_labels(signal: Signal) -> dict[str, str]:
    """The labels a signal offers to templates and matchers."""
    if isinstance(signal, Alert):
        return dict(signal.labels)
    if isinstance(signal, ManualSignal):
        return dict(signal.labels)
    return signal.labels


def signal_context(signal: Signal) -> dict[str, Any]:
    """Variables visible to ``when`` expressions and templates."""
    labels = signal_labels(signal)
    ctx: dict[str, Any] = {"labels": labels, "kind": str(signal.kind), "t": signal.t}
    if isinstance(signal, Anomaly):
        s = signal.score
        ctx |= {
            "metric": s.key.metric, "score": s.score, "value": s.value,
            "expected": s.expected, "since": signal.since, "why": s.why,
            "episode": str(signal.episode), "episode_start": signal.episode_start,
            "peak": signal.peak,
        }
    elif isinstance(signal, Alert):
        ctx |= {"alertname": signal.name, "annotations": dict(signal.annotations),
                "status": signal.status, "score": 1.0}
    elif isinstance(signal, ForecastSignal):
        ctx |= {
            "metric": signal.key.metric, "predicted": signal.predicted,
            "capacity": signal.capacity, "desired_replicas": signal.desired_replicas,
            "current_replicas": signal.current_replicas, "score": 1.0,
        }
    elif isinstance(signal, ModelDrift):
        ctx |= {"metric": signal.key.metric, "psi": signal.psi, "since": signal.since,
                "model": signal.model, "why": signal.why, "score": 1.0}
    else:
        ctx |= {"requested_by": signal.requested_by, "score": 1.0}
    return ctx


def _labels_fit(want: Mapping[str, str], have: Mapping[str, str]) -> str | None:
    for k, v in want.items():
        if v == "*":  # present with any value
            if k not in have:
                return f"label {k} is missing"
            continue
        if have.get(k) != v:
            return f"label {k}={have.get(k, '<missing>')!r} is not {v!r}"
    return None


def _trigger_fits(trig: Trigger, signal: Signal, runbook: str, now: float) -> str:
    """'' when the trigger fits, otherwise why not."""
    if trig.anomaly is not None:
        a = trig.anomaly
        if not isinstance(signal, Anomaly):
            return "not an anomaly signal"
        if signal.episode is Episode.END:
            return "the anomaly episode has ended"
        if signal.score.key.metric != a.metric:
            return f"metric {signal.score.key.metric} is not {a.metric}"
        if signal.score.score <= a.score_above:
            return f"score {signal.score.score:.2f} not above {a.score_above:.2f}"
        if (bad := _labels_fit(a.labels, signal.labels)) is not None:
            return bad
        v, e = signal.score.value, signal.score.expected
        if (a.direction == "above" and not v > e) or (a.direction == "below" and not v < e):
            return f"value {v:.4g} is not {a.direction} expected {e:.4g}"
        lasted = now - signal.since
        if lasted < a.for_:
            return (
                f"anomalous for {format_duration(lasted)}, "
                f"needs {format_duration(a.for_)}"
            )
        return ""
    if trig.alert is not None:
        al = trig.alert
        if not isinstance(signal, Alert):
            return "not an alert signal"
        if signal.name != al.alertname:
            return f"alertname {signal.name} is not {al.alertname}"
        if signal.status != al.status:
            return f"alert is {signal.status}; only {al.status} alerts trigger"
        return _labels_fit(al.matchers, signal.labels) or ""
    if trig.forecast is not None:
        f = trig.forecast
        if not isinstance(signal, ForecastSignal):
            return "not a forecast signal"
        if signal.key.metric != f.metric:
            return f"metric {signal.key.metric} is not {f.metric}"
        if signal.desired_replicas - signal.current_replicas < f.min_increase:
            return (
                f"forecast asks for {signal.desired_replicas} replicas, "
                f"{signal.current_replicas} running"
            )
        return _labels_fit(f.labels, signal.labels) or ""
    if trig.model_drift is not None:
        d = trig.model_drift
        if not isinstance(signal, ModelDrift):
            return "not a model-drift signal"
        if d.metric != "*" and signal.key.metric != d.metric:
            return f"metric {signal.key.metric} is not {d.metric}"
        if signal.psi <= d.psi_above:
            return f"stability index {signal.psi:.2f} not above {d.psi_above:.2f}"
        return _labels_fit(d.labels, signal.labels) or ""
    if trig.schedule is not None:
        if not isinstance(signal, ManualSignal) or signal.kind != SignalKind.SCHEDULE:
            return "not a schedule signal"
        if signal.runbook != runbook:
            return f"schedule is for {signal.runbook}"
        return ""
    assert trig.manual is not None
    if not isinstance(signal, ManualSignal) or signal.kind != SignalKind.MANUAL:
        return "not a manual signal"
    if signal.runbook != runbook:
        return f"manual run asks for {signal.runbook}"
    if not trig.manual.allowed:
        return "manual runs are not allowed"
    return ""


def _describe(trig: Trigger, signal: Signal, now: float) -> str:
    if isinstance(signal, Anomaly):
        s = signal.score
        return (
            f"matched anomaly trigger: {s.key} score {s.score:.2f} > "
            f"{trig.anomaly.score_above if trig.anomaly else 0:.2f} "
            f"for {format_duration(now - signal.since)}"
            + (f" ({s.why})" if s.why else "")
        )
    if isinstance(signal, Alert):
        return f"matched alert trigger: {signal.name} firing since {signal.starts_at}"
    if isinstance(signal, ForecastSignal):
        return (
            f"matched forecast trigger: {signal.key} needs {signal.desired_replicas} replicas "
            f"(now {signal.current_replicas})" + (f" ({signal.why})" if signal.why else "")
        )
    if isinstance(signal, ModelDrift):
        return (f"matched model-drift trigger: {signal.key} drifted from its training window "
                f"(PSI {signal.psi:.2f} > {signal.threshold:.2f}, {signal.model})")
    return f"matched {signal.kind} trigger: requested by {signal.requested_by}"


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetFailure:
    """A trigger fitted but the target could not be rendered: a skip worth journaling."""

    runbook: Runbook
    signal: Signal
    reason: Reason


def match_signal(runbook: Runbook, signal: Signal, now: float) -> Match | TargetFailure | str:
    """The match, a :class:`TargetFailure` (trigger fits, target does not), or why not."""
    why_not: list[str] = []
    for i, trig in enumerate(runbook.spec.triggers):
        bad = _trigger_fits(trig, signal, runbook.name, now)
        if bad:
            why_not.append(f"{trig.kind}: {bad}")
            continue
        ctx = signal_context(signal)
        spec = runbook.spec.target
        try:
            ns = render(spec.namespace, ctx)
            name = render(spec.name, ctx)
        except TemplateError as exc:
            return TargetFailure(runbook=runbook, signal=signal, reason=Reason(
                code=ReasonCode.TEMPLATE_ERROR, message=f"target: {exc}"))
        if not name:
            return TargetFailure(runbook=runbook, signal=signal, reason=Reason(
                code=ReasonCode.INVALID_TARGET,
                message=f"target: name {spec.name!r} rendered empty"))
        target = Target(kind=spec.kind, namespace=ns, name=name)
        if (invalid := target_problem(target)) is not None:
            return TargetFailure(runbook=runbook, signal=signal, reason=Reason(
                code=ReasonCode.INVALID_TARGET, message=f"target: {invalid}"))
        return Match(
            runbook=runbook,
            signal=signal,
            trigger=i,
            target=target,
            labels=signal_labels(signal),
            context=ctx,
            reasons=(Reason(code=ReasonCode.MATCHED, message=_describe(trig, signal, now)),
                     Reason(code=ReasonCode.TARGET, message=f"target {target}")),
        )
    return "; ".join(why_not) or "no trigger"


def explain_match(runbook: Runbook, signal: Signal, now: float) -> Match | str:
    """The match of ``runbook`` on ``signal`` at ``now``, or why there is none."""
    m = match_signal(runbook, signal, now)
    if isinstance(m, TargetFailure):
        return m.reason.message
    return m


def schedules(runbooks: Sequence[Runbook]) -> list[tuple[str, str, dict[str, str]]]:
    """``(runbook, cron, labels)`` of every schedule trigger, for the daemon's scheduler.

    Each tick becomes ``ManualSignal(runbook=..., labels=..., source=SignalKind.SCHEDULE)``.
    """
    return [(rb.name, t.schedule.cron, dict(t.schedule.labels))
            for rb in runbooks for t in rb.spec.triggers if t.schedule is not None]


def match(runbook: Runbook, signal: Signal, now: float) -> Match | None:
    """The match of ``runbook`` on ``signal`` at ``now``, if its trigger fits."""
    m = explain_match(runbook, signal, now)
    return m if isinstance(m, Match) else None
