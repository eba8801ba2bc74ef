"""The shadow window read back from the journal: what ``aiops models compare`` and the
promotion gate judge a candidate on.

Everything comes through the journal's public reads: the ``shadow`` and ``feedback``
timeline events (:func:`aiops.engines.feedback.events_after`, newest first, widened until
complete) and the incidents (which series raised each, and whether it acted).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiops.engines.feedback import events_after, read
from aiops.journal import Journal
from aiops.models.compare import Comparison, IncidentRef, compare
from aiops.models.feedback import FeedbackRecord, series_of_signal, signal_time, verdicts
from aiops.models.shadow_records import (
    EVENT_KIND,
    EpisodeRecord,
    SummaryRecord,
    parse_episode,
    parse_summary,
)
from aiops.models.versions import ModelKind
from aiops.reasons import ReasonCode

#: Incidents read at most (most recent first).
MAX_INCIDENTS = 100_000
_KINDS = {"anomaly:": ModelKind.DETECTOR, "forecast:": ModelKind.FORECASTER}


@dataclass(frozen=True, kw_only=True, slots=True)
class ShadowWindow:
    """Everything journaled about the shadow runs, feedback and incidents."""

    episodes: tuple[EpisodeRecord, ...]
    summaries: tuple[SummaryRecord, ...]
    incidents: tuple[IncidentRef, ...]
    feedback: dict[str, FeedbackRecord]

    def comparisons(self) -> list[Comparison]:
        return compare(self.episodes, self.summaries, self.incidents, self.feedback)


def read_window(journal: Journal) -> ShadowWindow:
    """Read the shadow window of ``journal``."""
    events = events_after(journal, 0)
    episodes: list[EpisodeRecord] = []
    summaries: list[SummaryRecord] = []
    for e in events:
        if e.kind != EVENT_KIND:
            continue
        try:
            if e.code == ReasonCode.SHADOW_EPISODE.value:
                episodes.append(parse_episode(e.detail, e.id))
            elif e.code == ReasonCode.SHADOW_SUMMARY.value:
                summaries.append(parse_summary(e.detail))
        except (KeyError, ValueError, TypeError):
            continue  # not one of ours
    incidents = []
    for inc in journal.incidents(limit=MAX_INCIDENTS):
        kind = next((k for p, k in _KINDS.items() if inc.signal_key.startswith(p)), None)
        t = signal_time(inc.signal_key)
        if kind is None or t is None:
            continue
        incidents.append(IncidentRef(id=inc.id, kind=kind, t=t, acted=inc.acted,
                                     opened=inc.opened_at,
                                     series=series_of_signal(inc.signal_key, inc.labels)))
    return ShadowWindow(episodes=tuple(episodes), summaries=tuple(summaries),
                        incidents=tuple(incidents), feedback=verdicts(read(events)[0]))
