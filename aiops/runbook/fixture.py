"""Fixtures for ``aiops runbook test``: recorded signals and samples on a timeline.

A fixture is YAML (or JSON) like::

    state: {replicas: 3}            # what the target looks like at the start
    events:
      - at: 0s
        anomaly: {metric: latency_p99, labels: {namespace: shop, workload: checkout},
                  score: 0.98, value: 1.4, expected: 0.35}
      - at: 90s
        samples: [{metric: latency_p99, labels: {namespace: shop, workload: checkout},
                   value: 0.3}]

An Alertmanager webhook body (``{"alerts": [...]}``) is accepted as is: its alerts
arrive at ``at: 0``. Pure: the caller reads the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from aiops.config.durations import Duration, parse_duration
from aiops.config.yamlsource import parse_yaml, validate
from aiops.model import (
    Alert,
    Anomaly,
    ManualSignal,
    Sample,
    Score,
    SeriesKey,
    Signal,
    freeze_labels,
)
from aiops.runbook.schema import Strict


class AnomalyEvent(Strict):
    metric: str
    labels: dict[str, str] = Field(default_factory=dict)
    score: float = Field(0.99, ge=0, le=1)
    value: float = 1.0
    expected: float = 0.0
    since: float | str | None = Field(
        None, description="When it became anomalous, e.g. -3m (default: at)."
    )

    @field_validator("since")
    @classmethod
    def _since(cls, v: float | str | None) -> float | None:
        if isinstance(v, str):
            text = v.strip()
            if text.startswith("-"):
                return -parse_duration(text[1:])
            return parse_duration(text)
        return v

    @property
    def since_s(self) -> float | None:
        return float(self.since) if self.since is not None else None


class AlertEvent(Strict):
    alertname: str
    status: Literal["firing", "resolved"] = "firing"
    labels: dict[str, str] = Field(default_factory=dict)
    fingerprint: str = ""
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = "1970-01-01T00:00:00Z"


class ManualEvent(Strict):
    runbook: str
    labels: dict[str, str] = Field(default_factory=dict)
    requested_by: str = "fixture"


class SampleEvent(Strict):
    metric: str
    labels: dict[str, str] = Field(default_factory=dict)
    value: float


class Event(Strict):
    at: Duration = 0.0
    anomaly: AnomalyEvent | None = None
    alert: AlertEvent | None = None
    manual: ManualEvent | None = None
    samples: list[SampleEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one(self) -> Event:
        if sum(x is not None for x in (self.anomaly, self.alert, self.manual)) > 1:
            raise ValueError("an event carries at most one of anomaly, alert, manual")
        return self


class InitialState(Strict):
    replicas: int = Field(2, ge=0)
    revision: int = Field(2, ge=1)


class Fixture(Strict):
    state: InitialState = Field(default_factory=InitialState)
    step: Duration = Field(15.0, gt=0, description="Tick period between events.")
    until: Duration | None = Field(None, description="Stop time (default: last event + 30m).")
    events: list[Event] = Field(min_length=1)


@dataclass(frozen=True, kw_only=True, slots=True)
class Timed:
    """A signal or samples due at ``t``."""

    t: float
    signal: Signal | None
    samples: tuple[Sample, ...] = ()


def parse_fixture(text: str, *, file: str) -> Fixture:
    """Validate a fixture; errors name file:line:column and the field."""
    doc = parse_yaml(text, file=file)
    if isinstance(doc.data, dict) and "alerts" in doc.data and "events" not in doc.data:
        return _from_webhook(doc.data)
    return validate(Fixture, doc)


def _from_webhook(body: dict[str, Any]) -> Fixture:
    events = []
    for a in body.get("alerts") or []:
        labels = {str(k): str(v) for k, v in (a.get("labels") or {}).items()}
        events.append(Event(alert=AlertEvent(
            alertname=labels.get("alertname", ""), status=a.get("status", "firing"),
            labels=labels, fingerprint=str(a.get("fingerprint", "")),
            annotations={str(k): str(v) for k, v in (a.get("annotations") or {}).items()},
            startsAt=str(a.get("startsAt", "")))))
    return Fixture(events=events)


def timeline(fx: Fixture, *, start: float = 0.0) -> list[Timed]:
    """The fixture's events as signals and samples at absolute times, in order."""
    out: list[Timed] = []
    for i, ev in enumerate(sorted(fx.events, key=lambda e: e.at)):
        t = start + ev.at
        samples = tuple(
            Sample(key=SeriesKey(metric=s.metric, labels=freeze_labels(s.labels)), t=t,
                   value=s.value)
            for s in ev.samples
        )
        sig: Signal | None = None
        if ev.anomaly is not None:
            a = ev.anomaly
            key = SeriesKey(metric=a.metric, labels=freeze_labels(a.labels))
            sig = Anomaly(
                score=Score(key=key, t=t, value=a.value, score=a.score, expected=a.expected,
                            lower=a.expected, upper=a.expected, why="from fixture"),
                since=t + a.since_s if a.since_s is not None else t,
            )
        elif ev.alert is not None:
            al = ev.alert
            sig = Alert(
                fingerprint=al.fingerprint or f"fixture-{i}", status=al.status,
                labels={"alertname": al.alertname, **al.labels},
                annotations=dict(al.annotations),
                starts_at=al.startsAt, ends_at="", t=t,
            )
        elif ev.manual is not None:
            sig = ManualSignal(runbook=ev.manual.runbook, t=t, labels=dict(ev.manual.labels),
                               requested_by=ev.manual.requested_by)
        out.append(Timed(t=t, signal=sig, samples=samples))
    return out
