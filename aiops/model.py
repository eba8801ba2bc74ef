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
    """One mutation to apply. ``id`` is the idempotency key: applying twice is a no-op."""

    id: str
    kind: str
    target: Target
    params: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    incident: str = ""


class OutcomeStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"
    TEMPORARY = "temporary"
    DRY_RUN = "dry-run"
    ALREADY_DONE = "already-done"


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


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedStep:
    """One step of a runbook ladder as it would run against a concrete target."""

    index: int
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    verify: Mapping[str, Any] | None = None
    description: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    """The pure answer to "what would this runbook do about this signal, and why".

    ``reasons`` explain the decision in order (matched trigger, when-expression,
    each guard); a skip's last reason is the guard that stopped it, e.g.
    ``"skipped: cooldown 4m left on Deployment/shop/checkout"``.
    """

    runbook: str
    target: Target
    decision: Decision
    reasons: tuple[str, ...]
    steps: tuple[PlannedStep, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    signal_key: str = ""
