"""Values that cross module boundaries: frozen, keyword-only, hashable where useful.

Time is always a float of Unix seconds (``t``), injected by the caller, never read from
a clock here. Anything that decides returns one of these values with its reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeAlias

from aiops.reasons import Reason, ReasonCode

__all__ = ["Reason", "ReasonCode"]  # re-exported: decisions carry reasons

Labels: TypeAlias = tuple[tuple[str, str], ...]


def freeze_labels(labels: Mapping[str, str]) -> Labels:
    """Sort a label mapping into the hashable tuple form used by :class:`SeriesKey`.

    >>> freeze_labels({"b": "2", "a": "1"})
    (('a', '1'), ('b', '2'))
    """
    return tuple(sorted((str(k), str(v)) for k, v in labels.items()))


@dataclass(frozen=True, kw_only=True, slots=True)
class SeriesKey:
    """Identity of one series: a metric name plus its labels.

    >>> k = SeriesKey.of("latency_p99", workload="checkout", namespace="shop")
    >>> str(k)
    'latency_p99{namespace="shop",workload="checkout"}'
    >>> k.label("workload")
    'checkout'
    """

    metric: str
    labels: Labels = ()

    @classmethod
    def of(cls, metric: str, /, **labels: str) -> SeriesKey:
        return cls(metric=metric, labels=freeze_labels(labels))

    def label(self, name: str, default: str = "") -> str:
        for k, v in self.labels:
            if k == name:
                return v
        return default

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def __str__(self) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels)
        return f"{self.metric}{{{inner}}}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    """One observation of a series at time ``t``; ``value`` may be NaN for a gap."""

    key: SeriesKey
    t: float
    value: float

    @property
    def valid(self) -> bool:
        return math.isfinite(self.value)


@dataclass(frozen=True, kw_only=True, slots=True)
class Score:
    """A detector's judgement of one sample, with the evidence behind it.

    ``score`` is in [0, 1]; ``expected`` and ``lower``/``upper`` are the band the
    detector predicted; ``detectors`` lists which detectors fired; ``contributions``
    ranks metrics by share of a multivariate score; ``why`` is one human sentence.
    """

    key: SeriesKey
    t: float
    value: float
    score: float
    expected: float
    lower: float
    upper: float
    warm: bool = True
    kind: str = "none"
    detectors: tuple[str, ...] = ()
    contributions: tuple[tuple[str, float], ...] = ()
    why: str = ""


class SignalKind(StrEnum):
    ANOMALY = "anomaly"
    ALERT = "alert"
    FORECAST = "forecast"
    SCHEDULE = "schedule"
    MANUAL = "manual"


class Episode(StrEnum):
    """Where an anomaly signal stands in its series' episode (one start, one end)."""

    START = "start"
    ONGOING = "ongoing"
    END = "end"


@dataclass(frozen=True, kw_only=True, slots=True)
class Anomaly:
    """A series scored anomalous, as part of an anomaly episode.

    ``since`` is when the current run of anomalous samples began (consecutive samples
    at the episode's open level, which may lie below the signal floor), so a runbook's
    ``for:`` reads the episode rather than one line crossed without a dip.
    ``episode`` says whether this signal starts the series' episode, continues it or
    ends it; ``episode_start`` is when the episode began (its one report, possibly
    below the floor) and ``peak`` its highest score so far.
    """

    score: Score
    since: float
    episode: Episode = Episode.ONGOING
    episode_start: float | None = None
    peak: float = 0.0

    kind: Literal[SignalKind.ANOMALY] = SignalKind.ANOMALY

    @property
    def t(self) -> float:
        return self.score.t

    @property
    def labels(self) -> dict[str, str]:
        return {**self.score.key.label_map, "metric": self.score.key.metric}

    @property
    def dedup_key(self) -> str:
        end = ":end" if self.episode is Episode.END else ""
        return f"anomaly:{self.score.key}:{self.since}{end}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Alert:
    """One Alertmanager alert (v4 webhook), deduplicated by fingerprint + startsAt."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: str
    ends_at: str
    t: float
    generator_url: str = ""

    kind: Literal[SignalKind.ALERT] = SignalKind.ALERT

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def dedup_key(self) -> str:
        return f"alert:{self.fingerprint}:{self.starts_at}:{self.status}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ForecastSignal:
    """Forecast demand for a workload at ``t + horizon`` against its capacity."""

    key: SeriesKey
    t: float
    horizon: float
    predicted: float
    lower: float
    upper: float
    capacity: float
    desired_replicas: int
    current_replicas: int
    why: str = ""

    kind: Literal[SignalKind.FORECAST] = SignalKind.FORECAST

    @property
    def labels(self) -> dict[str, str]:
        return {**self.key.label_map, "metric": self.key.metric}

    @property
    def dedup_key(self) -> str:
        return f"forecast:{self.key}:{self.t}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ManualSignal:
    """An operator asked for a runbook by name (CLI or API), optionally on a schedule."""

    runbook: str
    t: float
    labels: Mapping[str, str] = field(default_factory=dict)
    requested_by: str = "operator"
    source: Literal[SignalKind.MANUAL, SignalKind.SCHEDULE] = SignalKind.MANUAL

    @property
    def kind(self) -> SignalKind:
        return self.source

    @property
    def dedup_key(self) -> str:
        return f"{self.source}:{self.runbook}:{self.t}"


Signal: TypeAlias = Anomaly | Alert | ForecastSignal | ManualSignal


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """What an action changes: a workload, a unit, a sandbox workload."""

    kind: str
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{ns}{self.name}"


@dataclass(frozen=True, kw_only=True, slots=True)
class TargetState:
    """What an actuator observed about a target, for guards and verification.

    ``last_action_at`` is when aiops last acted on the target *as recorded on the target
    itself* (e.g. a Kubernetes annotation): every replica reads the same value, so the
    cooldown holds across a leader failover even though journals are per replica.
    """

    target: Target
    exists: bool = True
    replicas: int = 0
    ready_replicas: int = 0
    revision: int = 0
    rollout_in_progress: bool = False
    changed_at: float | None = None
    hpa_min_replicas: int | None = None
    last_action_at: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Action:
    """One mutation to apply. ``id`` is the idempotency key: applying twice is a no-op.

    ``incident`` and ``id`` reach the actuator so the world can record them (an
    annotation on a Kubernetes object, ``AIOPS_ACTION_ID`` for a command).
    """

    id: str
    kind: str
    target: Target
    params: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    incident: str = ""
    runbook: str = ""
    step: int = 0
    attempt: int = 0


class OutcomeStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"
    TEMPORARY = "temporary"
    DRY_RUN = "dry-run"
    ALREADY_DONE = "already-done"
    #: The actuator cannot tell whether the action took effect (e.g. a command timed out).
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """What applying an :class:`Action` did, and what the world looked like around it."""

    action_id: str
    status: OutcomeStatus
    message: str = ""
    retry_after: float | None = None
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (
            OutcomeStatus.DONE, OutcomeStatus.DRY_RUN, OutcomeStatus.ALREADY_DONE
        )


class Reconciled(StrEnum):
    """What an actuator read back about an action whose outcome was lost."""

    DONE = "done"
    NOT_DONE = "not-done"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True, slots=True)
class Reconciliation:
    """The world's answer to "did action ``action_id`` take effect?", with the evidence."""

    action_id: str
    status: Reconciled
    message: str = ""


class Verdict(StrEnum):
    """Result of a verify step."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    PENDING = "pending"


class Decision(StrEnum):
    """What a plan decided to do with a matched signal."""

    RUN = "run"
    DRY_RUN = "dry-run"
    AWAIT_APPROVAL = "await-approval"
    SKIP = "skip"


class OnChoice(StrEnum):
    """Where a ladder goes after a failed or inconclusive step."""

    NEXT = "next"
    STOP = "stop"
    ESCALATE = "escalate"


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifySpec:
    """A verification: ``metric`` ``below`` (or ``above``) a bound ``within`` seconds."""

    metric: str
    below: float | None = None
    above: float | None = None
    within: float = 300.0
    on_no_data: Verdict = Verdict.INCONCLUSIVE

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "below": self.below, "above": self.above,
                "within": self.within, "on_no_data": self.on_no_data.value}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VerifySpec:
        return cls(metric=str(d["metric"]),
                   below=None if d.get("below") is None else float(d["below"]),
                   above=None if d.get("above") is None else float(d["above"]),
                   within=float(d.get("within", 300.0)),
                   on_no_data=Verdict(str(d.get("on_no_data", "inconclusive"))))


@dataclass(frozen=True, kw_only=True, slots=True)
class StepControl:
    """How the ladder treats a step (kept apart from the actuator's parameters).

    ``retry``: temporary failures retried this many times (the engine schedules them,
    never sleeping); ``timeout``: give up after this long; ``idempotent``: the step may
    be re-run when a crash left its outcome unknown.
    """

    retry: int = 3
    timeout: float | None = None
    on_failure: OnChoice = OnChoice.NEXT
    on_inconclusive: OnChoice = OnChoice.ESCALATE
    idempotent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"retry": self.retry, "timeout": self.timeout,
                "on_failure": self.on_failure.value,
                "on_inconclusive": self.on_inconclusive.value, "idempotent": self.idempotent}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StepControl:
        return cls(retry=int(d.get("retry") or 0),
                   timeout=None if d.get("timeout") is None else float(d["timeout"]),
                   on_failure=OnChoice(str(d.get("on_failure") or "next")),
                   on_inconclusive=OnChoice(str(d.get("on_inconclusive") or "escalate")),
                   idempotent=bool(d.get("idempotent", False)))


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedStep:
    """One step of a runbook ladder as it would run against a concrete target.

    ``params`` are the actuator's arguments only; ``control`` steers the ladder.
    """

    index: int
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    control: StepControl = field(default_factory=StepControl)
    verify: VerifySpec | None = None
    description: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """The pure answer to "what would this runbook do about this signal, and why".

    ``reasons`` explain the decision in order (matched trigger, when-expression,
    each guard); a skip's last reason is the guard that stopped it, e.g. code
    ``cooldown``, message ``"cooldown 4m left on Deployment/shop/checkout"``.
    """

    runbook: str
    target: Target
    decision: Decision
    reasons: tuple[Reason, ...]
    steps: tuple[PlannedStep, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    signal_key: str = ""

    @property
    def reason(self) -> Reason:
        """The deciding (last) reason."""
        return self.reasons[-1] if self.reasons else Reason(
            code=ReasonCode.MATCHED, message="no reason given")
