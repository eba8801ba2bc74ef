"""The runbook language (``apiVersion: aiops/v1``, ``kind: Runbook``) as pydantic models.

Every model forbids unknown fields and is frozen. Expressions (``when``) and templates
(``target``, notify bodies) are compiled at load time so a typo fails ``aiops check``,
not the first incident. ``runbooks/README.md`` documents every field.

>>> rb = Runbook.model_validate({
...     "apiVersion": "aiops/v1", "kind": "Runbook", "metadata": {"name": "leak"},
...     "spec": {"triggers": [{"anomaly": {"metric": "memory_usage"}}],
...              "target": {"kind": "SandboxWorkload", "name": "{{ labels.workload }}"},
...              "steps": [{"action": "restart"}]}})
>>> rb.spec.steps[0].action, rb.spec.mode
('restart', 'dry-run')
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from aiops.config.durations import Duration
from aiops.runbook.base import Strict
from aiops.runbook.steps import (
    ACTIONS,
    MUTATING,
    CommandStep,
    DeletePodStep,
    NotifyStep,
    RestartStep,
    RollbackStep,
    ScaleStep,
    ScaleWith,
    Step,
    Verify,
    WaitStep,
)
from aiops.runbook.template_position import locate
from aiops.runbook.templating import TemplateError, check_expression, check_template

__all__ = [
    "ACTIONS", "MUTATING", "CommandStep", "DeletePodStep", "Guards", "NotifyStep",
    "RestartStep", "RollbackStep", "Runbook", "ScaleStep", "ScaleWith", "Step", "Strict",
    "Trigger", "Verify", "WaitStep", "json_schema",
]

NAME = re.compile(r"^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
TargetKind = Literal["Deployment", "StatefulSet", "SystemdUnit", "SandboxWorkload"]


# --- triggers -----------------------------------------------------------------------


class AnomalyTrigger(Strict):
    """Fires when a series of ``metric`` (with these labels) scores above a threshold."""

    metric: str = Field(min_length=1, description="Metric name, e.g. latency_p99.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Label values the series must carry ('*': present with any value).",
    )
    score_above: float = Field(0.9, ge=0, le=1, description="Score threshold (0..1).")
    for_: Duration = Field(
        0.0, alias="for", description="How long the series must stay anomalous first."
    )
    direction: Literal["above", "below", "any"] = Field(
        "any", description="Only values above (or below) the detector's expected value."
    )


class AlertTrigger(Strict):
    """Fires on an Alertmanager alert; resolved alerts never trigger."""

    alertname: str = Field(min_length=1, description="The alert's alertname label.")
    status: Literal["firing"] = Field("firing", description="Only firing alerts trigger.")
    matchers: dict[str, str] = Field(
        default_factory=dict,
        description="Label values the alert must carry ('*': present with any value).",
    )


class ForecastTrigger(Strict):
    """Fires when forecast demand exceeds current capacity within the horizon."""

    metric: str = Field("request_rate", description="Forecast demand metric.")
    labels: dict[str, str] = Field(default_factory=dict, description="Exact label values.")
    min_increase: int = Field(
        1, ge=1, description="Replicas the forecast must ask for above the current count."
    )


class ManualTrigger(Strict):
    """Allows ``aiops runbook run NAME`` / the API (and the daemon's schedules) to fire."""

    allowed: bool = Field(True, description="Set false to forbid manual runs.")


_CRON_FIELD = re.compile(r"^[\d*?/,\-A-Za-z]+$")


class ScheduleTrigger(Strict):
    """Fires on a cron schedule (5 fields, UTC); the daemon turns ticks into signals."""

    cron: str = Field(description="Crontab expression, e.g. '0 3 * * *' (UTC).")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels given to the signal (for the target)."
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        parts = v.split()
        if len(parts) != 5 or not all(_CRON_FIELD.match(p) for p in parts):
            raise ValueError("cron needs 5 fields: minute hour day-of-month month day-of-week")
        return v


TRIGGER_KINDS = ("anomaly", "alert", "forecast", "schedule", "manual")


class Trigger(Strict):
    """Exactly one of ``anomaly``, ``alert``, ``forecast``, ``schedule``, ``manual``."""

    anomaly: AnomalyTrigger | None = None
    alert: AlertTrigger | None = None
    forecast: ForecastTrigger | None = None
    schedule: ScheduleTrigger | None = None
    manual: ManualTrigger | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Trigger:
        set_ = [n for n in TRIGGER_KINDS if getattr(self, n)]
        if len(set_) != 1:
            raise ValueError(
                "a trigger needs exactly one of " + ", ".join(TRIGGER_KINDS)
                + (f" (found {', '.join(set_)})" if set_ else "")
            )
        return self

    @property
    def kind(self) -> str:
        for n in TRIGGER_KINDS:
            if getattr(self, n) is not None:
                return n
        return "?"  # pragma: no cover - excluded by the validator


# --- target, guards -----------------------------------------------------------------


class TargetSpec(Strict):
    """What the runbook acts on; ``namespace`` and ``name`` are sandboxed templates."""

    kind: TargetKind = Field(description="Deployment | StatefulSet | SystemdUnit | SandboxWorkload")
    namespace: str = Field("", description="Template, e.g. '{{ labels.namespace }}'.")
    name: str = Field(min_length=1, description="Template, e.g. '{{ labels.workload }}'.")

    @field_validator("namespace", "name")
    @classmethod
    def _template(cls, v: str) -> str:
        try:
            check_template(v)
        except TemplateError as exc:
            raise locate(exc, v) from None  # the error points at the character
        return v


class RunWindow(Strict):
    """At most ``count`` runs per ``per`` seconds on one target."""

    count: int = Field(ge=1)
    per: Duration = Field(gt=0)


_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Window(Strict):
    """A daily time window in UTC, ``start`` to ``end`` (may cross midnight)."""

    start: str = Field(description="HH:MM (UTC)")
    end: str = Field(description="HH:MM (UTC)")
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=list, description="Days the window applies (empty: every day)."
    )

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError("expected HH:MM (24h, UTC)")
        return v

    def contains(self, now: float) -> bool:
        """Whether Unix time ``now`` falls inside the window.

        >>> Window(start="22:00", end="02:00").contains(23 * 3600.0)
        True
        """
        day = int(now // 86400)
        minute = int(now % 86400 // 60)
        start = int(self.start[:2]) * 60 + int(self.start[3:])
        end = int(self.end[:2]) * 60 + int(self.end[3:])
        if start <= end:
            inside, started_day = start <= minute < end, day
        else:  # crosses midnight: after start today, or before end (started yesterday)
            inside = minute >= start or minute < end
            started_day = day if minute >= start else day - 1
        weekday = WEEKDAYS[(started_day + 3) % 7]  # 1970-01-01 was a Thursday
        return inside and (not self.weekdays or weekday in self.weekdays)


class Guards(Strict):
    """Safety checks evaluated at plan time and again before every mutating step."""

    cooldown: Duration = Field(0.0, description="Quiet time per target after a run ends.")
    max_runs: list[RunWindow] = Field(default_factory=list, description="Run-rate windows.")
    concurrency: Literal["skip", "queue"] = Field(
        "skip",
        description="One run per target at a time: skip other signals, or queue one run.",
    )
    block_while_alerts: list[str] = Field(
        default_factory=list, description="Alertnames that block any run while firing."
    )
    not_during_rollout: bool = Field(False, description="Skip while the target is rolling out.")
    allow_namespaces: list[str] = Field(
        default_factory=list, description="If set, only these namespaces may be touched."
    )
    deny_namespaces: list[str] = Field(
        default_factory=list, description="Namespaces never touched (added to kube-system)."
    )
    max_replicas: int | None = Field(None, ge=1, description="Hard ceiling for any scale step.")
    max_pods_fraction: float | None = Field(
        None, gt=0, le=1,
        description="At most this fraction of the target's pods deleted per hour (delete_pod).",
    )
    maintenance_windows: list[Window] = Field(
        default_factory=list, description="Times (UTC) when no automated change may run."
    )


class OnExhausted(Strict):
    """What happens when the ladder runs out of steps without a verified fix."""

    notify: list[str] = Field(
        default_factory=list, description="Webhook URLs (or channel names, logged) to alert."
    )


class Approval(Strict):
    """Who may approve runs in ``approve`` mode and how long a request stays valid."""

    approvers: list[str] = Field(default_factory=list, description="Allowlist; empty = anyone.")
    timeout: Duration = Field(3600.0, gt=0)


class Spec(Strict):
    mode: Literal["dry-run", "approve", "auto"] = Field(
        "dry-run", description="dry-run records only; approve waits for a human; auto acts."
    )
    triggers: list[Trigger] = Field(min_length=1)
    when: str | None = Field(None, description="One sandboxed boolean expression.")
    target: TargetSpec
    guards: Guards = Field(default_factory=Guards)
    approval: Approval = Field(default_factory=Approval)
    steps: list[Step] = Field(min_length=1)
    on_exhausted: OnExhausted = Field(default_factory=OnExhausted)

    @field_validator("when")
    @classmethod
    def _when(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                check_expression(v)
            except TemplateError as exc:
                raise locate(exc, v, expression=True) from None
        return v


class Metadata(Strict):
    name: str = Field(description="Unique runbook name (lowercase, digits, - _ .).")
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.match(v):
            raise ValueError("name must be lowercase letters, digits, '-', '_' or '.'")
        return v


class Runbook(Strict):
    """One runbook document."""

    apiVersion: Literal["aiops/v1"]
    kind: Literal["Runbook"]
    metadata: Metadata
    spec: Spec

    @property
    def name(self) -> str:
        return self.metadata.name


# Fields whose before-validators accept more than their Python type says: the schema must
# accept what a person may write ("+2"), not only what the model stores (2).
_WRITTEN_FORMS: dict[tuple[str, str], dict[str, Any]] = {
    ("ScaleWith", "delta"): {"anyOf": [
        {"type": "integer"},
        {"type": "string", "pattern": r"^\s*[+-]?[0-9]+\s*$"},
        {"type": "null"},
    ]},
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use to validate and autocomplete runbooks.

    Every shipped runbook validates against it (durations such as ``2m`` are strings or
    numbers, see :data:`aiops.config.durations.DURATION_JSON_SCHEMA`).
    """
    schema = Runbook.model_json_schema(by_alias=True)
    for (model, field), forms in _WRITTEN_FORMS.items():
        prop = schema.get("$defs", {}).get(model, {}).get("properties", {}).get(field)
        if prop is not None:
            prop.update(forms)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "aiops Runbook (aiops/v1)"
    return schema
