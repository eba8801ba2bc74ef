"""Operators' feedback on incidents, and the sensitivity it may teach. Pure.

An SRE says an incident was a false alarm or a real problem (``aiops feedback``,
``POST /v1/incidents/{id}/feedback``); each word is a journal event of kind
:data:`EVENT_KIND` on the incident. The latest word per incident counts
(:func:`verdicts`); ``aiops models compare`` turns them into precision per model.

**Sensitivity** (opt-in: ``models.sensitivity.enabled``). Every ``after`` false positives
on incidents raised by one series (since its floor last changed) raise that series'
signal floor by ``step``, never more than ``max_raise`` above the live floor and for at
most ``max_series`` series. It is reversed by a true positive on the series (back to the
live floor: the alarms were real), by ``aiops sensitivity --reset`` (one series; or
``--reset-all``), or at once for every series by turning the option off (the journal
keeps the history). Each
change is a journal event (``sensitivity-raised`` / ``sensitivity-reset``) in the same
transaction as the feedback that caused it; :func:`raises` replays them.

>>> s = SensitivityRule(after=2, step=0.02, max_raise=0.05, max_series=10)
>>> s.next_raise(current=0.0, false_positives=2)
0.02
>>> s.next_raise(current=0.04, false_positives=2)
0.05
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

EVENT_KIND = "feedback"
#: Longest note kept with a feedback (the rest is cut).
MAX_NOTE = 500


class Verdict(StrEnum):
    """What an operator said about an incident."""

    FALSE_POSITIVE = "false-positive"
    TRUE_POSITIVE = "true-positive"


class SensitivityChange(StrEnum):
    """How a series' floor moved."""

    RAISED = "sensitivity-raised"
    RESET = "sensitivity-reset"


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedbackRecord:
    """One operator's word on one incident."""

    incident: str
    verdict: Verdict
    series: str = ""  # the anomaly series that raised the incident ('' for other signals)
    signal: str = ""  # the incident's signal key
    by: str = ""
    note: str = ""
    t: float = 0.0
    event_id: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "series": self.series, "signal": self.signal,
                "by": self.by, "note": self.note}


def parse_feedback(
    d: Mapping[str, Any], *, incident: str, t: float, event_id: int = 0
) -> FeedbackRecord:
    """A feedback event's detail as a record (ValueError/KeyError if it is not one)."""
    return FeedbackRecord(incident=incident, verdict=Verdict(d["verdict"]),
                          series=str(d.get("series", "")), signal=str(d.get("signal", "")),
                          by=str(d.get("by", "")), note=str(d.get("note", "")), t=t,
                          event_id=event_id)


def verdicts(records: Iterable[FeedbackRecord]) -> dict[str, FeedbackRecord]:
    """The latest word on each incident (by event order)."""
    out: dict[str, FeedbackRecord] = {}
    for r in sorted(records, key=lambda r: (r.event_id, r.t)):
        out[r.incident] = r
    return out


#: Signal kinds whose incidents a model raised, by the prefix of the signal key.
MODEL_SIGNALS = ("anomaly:", "forecast:")


def series_of_signal(signal_key: str, labels: Mapping[str, str]) -> str:
    """The series an anomaly (or forecast) incident came from, as ``str(SeriesKey)``;
    '' for other signals. Such a signal's labels are its series' labels plus ``metric``.

    >>> series_of_signal("anomaly:x:1.0", {"metric": "cpu", "workload": "cart"})
    'cpu{workload="cart"}'
    """
    if not signal_key.startswith(MODEL_SIGNALS):
        return ""
    rest = {k: v for k, v in labels.items() if k != "metric"}
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(rest.items()))
    return f"{labels.get('metric', '')}{{{inner}}}"


def signal_time(signal_key: str) -> float | None:
    """The time a model's signal key ends with (an anomaly's start, a forecast's time).

    >>> signal_time('anomaly:cpu{workload="cart"}:1200.0')
    1200.0
    """
    try:
        return float(signal_key.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class SensitivityRule:
    """How far repeated false positives may raise one series' floor."""

    after: int
    step: float
    max_raise: float
    max_series: int

    def next_raise(self, *, current: float, false_positives: int) -> float:
        """The raise after ``false_positives`` since the last change (``current`` if none due)."""
        if false_positives < self.after:
            return current
        return round(min(self.max_raise, current + self.step), 6)


@dataclass(frozen=True, kw_only=True, slots=True)
class SensitivityEvent:
    """A journaled change of one series' raise."""

    series: str
    change: SensitivityChange
    raise_: float
    event_id: int = 0


def raises(events: Iterable[SensitivityEvent]) -> dict[str, float]:
    """Each series' current raise, replaying the journaled changes in order."""
    out: dict[str, float] = {}
    for e in sorted(events, key=lambda e: e.event_id):
        if e.change is SensitivityChange.RESET or e.raise_ <= 0:
            out.pop(e.series, None)
        else:
            out[e.series] = e.raise_
    return out


def false_positives_since(
    series: str, feedback: Iterable[FeedbackRecord], changes: Iterable[SensitivityEvent]
) -> int:
    """False positives (latest word per incident) on ``series`` after its last change."""
    last = max((e.event_id for e in changes if e.series == series), default=0)
    latest = verdicts(r for r in feedback if r.series == series)
    return sum(1 for r in latest.values()
               if r.verdict is Verdict.FALSE_POSITIVE and r.event_id > last)
