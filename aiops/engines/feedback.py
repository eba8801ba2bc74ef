"""Operators' feedback in the journal, and the per-series sensitivity it may adjust.

:func:`record_feedback` journals one operator's verdict on an incident (an event of kind
``feedback`` on the incident) and, when ``models.sensitivity`` is enabled, the change of
the series' signal floor it causes, in the same transaction (the rule and its bounds:
:mod:`aiops.models.feedback`). :func:`reset_sensitivity` journals the reversal.
:class:`Sensitivity` is the daemon's view of the current raises: rebuilt from the journal
at start, refreshed from new events, and applied to anomaly signals before they are
queued (a raised series' anomalies below its raised floor are not handed to the runbooks).

Feedback and sensitivity events are read with the journal's public ``events(limit)``
(newest first), widening the window until it reaches what was read before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiops.config.models import SensitivitySettings
from aiops.errors import NotFound
from aiops.journal import Journal
from aiops.journal.tx import Tx
from aiops.journal.views import EventView
from aiops.model import Anomaly, Reason, ReasonCode
from aiops.models.feedback import (
    EVENT_KIND,
    MAX_NOTE,
    FeedbackRecord,
    SensitivityChange,
    SensitivityEvent,
    SensitivityRule,
    Verdict,
    false_positives_since,
    parse_feedback,
    raises,
    series_of_signal,
)

#: Events read per look at the journal at first (widened x4 until enough).
FIRST_BATCH = 2000


def events_after(journal: Journal, after: int) -> list[EventView]:
    """Journal events with an id above ``after``, oldest first."""
    batch = FIRST_BATCH
    while True:
        rows = journal.events(limit=batch)
        if len(rows) < batch or not rows or rows[-1].id <= after + 1:
            return [e for e in reversed(rows) if e.id > after]
        batch *= 4


def read(events: Sequence[EventView]) -> tuple[list[FeedbackRecord], list[SensitivityEvent]]:
    """The feedback and sensitivity changes among ``events``."""
    feedback: list[FeedbackRecord] = []
    changes: list[SensitivityEvent] = []
    for e in events:
        if e.kind != EVENT_KIND:
            continue
        try:
            if e.code in (SensitivityChange.RAISED.value, SensitivityChange.RESET.value):
                changes.append(SensitivityEvent(series=str(e.detail["series"]),
                                                change=SensitivityChange(e.code),
                                                raise_=float(e.detail.get("raise", 0.0)),
                                                event_id=e.id))
            elif e.incident:
                feedback.append(parse_feedback(e.detail, incident=e.incident, t=e.t,
                                               event_id=e.id))
        except (KeyError, ValueError, TypeError):
            continue  # not one of ours
    return feedback, changes


def rule_of(settings: SensitivitySettings) -> SensitivityRule | None:
    """The sensitivity rule when enabled."""
    if not settings.enabled:
        return None
    return SensitivityRule(after=settings.after, step=settings.step,
                           max_raise=settings.max_raise, max_series=settings.max_series)


@dataclass(frozen=True, kw_only=True, slots=True)
class FeedbackResult:
    """What was recorded: the feedback, and the sensitivity change it caused (if any)."""

    feedback: FeedbackRecord
    raised: float | None = None  # the series' new raise

    def to_json(self) -> dict[str, object]:
        return {"incident": self.feedback.incident, **self.feedback.to_json(),
                "sensitivity_raise": self.raised}


def record_feedback(
    journal: Journal, incident_id: str, verdict: Verdict, *, by: str, note: str, now: float,
    rule: SensitivityRule | None = None,
) -> FeedbackResult:
    """Journal ``by``'s verdict on an incident (NotFound: no such incident)."""
    inc = journal.incident(incident_id)
    if inc is None:
        raise NotFound(f"no incident {incident_id!r}")
    series = series_of_signal(inc.signal_key, inc.labels)
    record = FeedbackRecord(incident=inc.id, verdict=verdict, series=series,
                            signal=inc.signal_key, by=by, note=note[:MAX_NOTE], t=now)
    change: tuple[SensitivityChange, float, str] | None = None
    # Only an anomaly series has a signal floor to move (a forecast's does not).
    if rule is not None and series and inc.signal_key.startswith("anomaly:"):
        feedback, changes = read(events_after(journal, 0))
        current = raises(changes)
        mine = [c for c in changes if c.series == series]
        if verdict is Verdict.TRUE_POSITIVE and series in current:
            change = (SensitivityChange.RESET, 0.0, f"true positive on {inc.id}")
        elif verdict is Verdict.FALSE_POSITIVE and (series in current
                                                   or len(current) < rule.max_series):
            fps = false_positives_since(series, [*feedback, record_with_id(record)], mine)
            new = rule.next_raise(current=current.get(series, 0.0), false_positives=fps)
            if new > current.get(series, 0.0):
                change = (SensitivityChange.RAISED, new,
                          f"{fps} false positives on {series}")
    code = (ReasonCode.FALSE_POSITIVE if verdict is Verdict.FALSE_POSITIVE
            else ReasonCode.TRUE_POSITIVE)
    with journal.transaction() as tx:
        tx.event(t=now, kind=EVENT_KIND, why=Reason(
            code=code, message=f"{by}: {verdict.value}" + (f": {note}" if note else "")),
            incident=inc.id, runbook=inc.runbook, target=str(inc.target),
            detail=record.to_json())
        if change is not None:
            _change(tx, series, change[0], change[1], f"{change[2]} (by {by})", now)
    return FeedbackResult(feedback=record, raised=change[1] if change else None)


def record_with_id(r: FeedbackRecord) -> FeedbackRecord:
    """``r`` ordered after everything journaled so far (it is not written yet)."""
    return FeedbackRecord(incident=r.incident, verdict=r.verdict, series=r.series,
                          signal=r.signal, by=r.by, note=r.note, t=r.t, event_id=2**62)


def reset_sensitivity(journal: Journal, series: str | None, *, by: str, now: float) -> list[str]:
    """Back to the live floor: one series, or every raised one (``None``); the series reset."""
    _, changes = read(events_after(journal, 0))
    current = raises(changes)
    todo = sorted(current) if series is None else [s for s in current if s == series]
    if todo:
        with journal.transaction() as tx:
            for s in todo:
                _change(tx, s, SensitivityChange.RESET, 0.0, f"reset by {by}", now)
    return todo


def _change(tx: Tx, series: str, change: SensitivityChange, raise_: float, why: str,
            now: float) -> None:
    code = ReasonCode(change.value)
    what = f"signal floor of {series} raised by {raise_:g}" if raise_ > 0 else \
        f"signal floor of {series} back to the live one"
    tx.event(t=now, kind=EVENT_KIND, why=Reason(code=code, message=f"{what}: {why}"),
             detail={"series": series, "raise": raise_})


class Sensitivity:
    """The current per-series raises, applied to anomaly signals (when enabled)."""

    def __init__(self, settings: SensitivitySettings, *, floor: float) -> None:
        self.enabled = settings.enabled
        self.floor = floor
        self.raises: dict[str, float] = {}
        self._changes: list[SensitivityEvent] = []
        self._seen = 0

    def refresh(self, journal: Journal) -> None:
        """Take in the sensitivity changes journaled since the last look."""
        if not self.enabled:
            return
        new = events_after(journal, self._seen)
        if new:
            self._seen = new[-1].id
            self._changes += read(new)[1]
            self.raises = raises(self._changes)

    def passes(self, anomaly: Anomaly) -> bool:
        """Whether ``anomaly`` clears its series' floor (always, when not enabled)."""
        if not self.enabled or not self.raises:
            return True
        extra = self.raises.get(str(anomaly.score.key), 0.0)
        return extra <= 0 or anomaly.score.score >= min(0.999, self.floor + extra)
