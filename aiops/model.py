"""Values that cross module boundaries: frozen, keyword-only, hashable where useful.

Time is always a float of Unix seconds (``t``), injected by the caller, never read from
a clock here. Anything that decides returns one of these values with its reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeAlias

from aiops.actions import (
    Action,
    Decision,
    OnChoice,
    Outcome,
    OutcomeStatus,
    Plan,
    PlannedStep,
    Reconciled,
    Reconciliation,
    StepControl,
    Target,
    TargetState,
    Verdict,
    VerifySpec,
)
from aiops.reasons import Reason, ReasonCode

# Re-exported: decisions carry reasons, and plans and actions travel with signals.
__all__ = [
    "Action",
    "Decision",
    "OnChoice",
    "Outcome",
    "OutcomeStatus",
    "Plan",
    "PlannedStep",
    "Reason",
    "ReasonCode",
    "Reconciled",
    "Reconciliation",
    "StepControl",
    "Target",
    "TargetState",
    "Verdict",
    "VerifySpec",
]

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
    MODEL_DRIFT = "model-drift"


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


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelDrift:
    """A series' distribution drifted from the window its model was trained on.

    ``psi`` is the population stability index of the recent window against the
    reference (training) window ``reference``; ``model`` the running version's id.
    """

    key: SeriesKey
    t: float
    since: float
    psi: float
    threshold: float
    model: str
    reference: tuple[float, float]
    why: str = ""

    kind: Literal[SignalKind.MODEL_DRIFT] = SignalKind.MODEL_DRIFT

    @property
    def labels(self) -> dict[str, str]:
        return {**self.key.label_map, "metric": self.key.metric}

    @property
    def dedup_key(self) -> str:
        return f"model-drift:{self.key}:{self.since}"

    @property
    def runbook(self) -> str:
        """No runbook asked for (a journal row's generic name column)."""
        return ""

    @property
    def requested_by(self) -> str:
        return f"model {self.model}"


Signal: TypeAlias = Anomaly | Alert | ForecastSignal | ManualSignal | ModelDrift
