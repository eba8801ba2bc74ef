"""A candidate against the live model on the shadow window: the figures of ``compare``. Pure.

From the journaled shadow records (:mod:`aiops.models.shadow_records`), the incidents and
the operators' feedback, for each candidate:

* **agreement**: episodes both raised (same series, spans meeting within ``slack``)
  over episodes either raised (1.0: the same alarms);
* **only candidate** / **only live**: the episodes one side raised and the other did not
  (a candidate's are never acted on: they have no incident);
* **lead time**: per shared episode, how much earlier the candidate started (negative:
  later); the median is printed;
* **precision** from feedback: live, over every incident with a verdict raised by its
  kind of signal; a candidate, over those incidents its own episodes cover;
* **forecast error**: per workload, MASE and upper-band coverage from the summaries;
* **cost per cycle**: seconds the model spent per cycle (the live bank's scoring time
  against the candidate's own).

>>> from aiops.models.episodes import Episode
>>> from aiops.models.versions import ModelKind
>>> def rec(model, start, end):
...     ep = Episode(model=model, series="cpu{}", start=start, end=end, peak=0.95, closed=True)
...     return EpisodeRecord(kind=ModelKind.DETECTOR, version=model, episode=ep)
>>> [c] = compare([rec("live", 0, 60), rec("lax", 0, 60), rec("lax", 500, 560)], [], [], {})
>>> (c.candidate.model, c.matched, len(c.only_candidate), round(c.agreement, 2))
('lax', 1, 1, 0.5)
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aiops.models.feedback import FeedbackRecord, Verdict
from aiops.models.forecast_quality import coverage_of, mase_of
from aiops.models.shadow_records import LIVE, EpisodeRecord, SummaryRecord
from aiops.models.versions import ModelKind

#: Episodes whose spans are this close (seconds) count as the same alarm.
SLACK = 60.0


@dataclass(frozen=True, kw_only=True, slots=True)
class IncidentRef:
    """An incident as compare needs it: which series raised it, when, and whether it acted."""

    id: str
    kind: ModelKind  # the kind of model whose signal opened it
    series: str
    t: float  # the signal's time (an anomaly's start: its run's first sample)
    acted: bool = False
    # When the incident was opened (None: at ``t``). The signal's time is the start of
    # its run, which can precede the sample that crossed the floor by minutes.
    opened: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Precision:
    """True and false positives among the alarms operators judged."""

    true: int = 0
    false: int = 0

    @property
    def judged(self) -> int:
        return self.true + self.false

    @property
    def value(self) -> float:
        """TP / (TP + FP); NaN when nothing was judged."""
        return self.true / self.judged if self.judged else float("nan")


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelFigures:
    """One model's figures over the shadow window."""

    model: str
    version: str
    episodes: int
    cycles: int
    seconds: float
    precision: Precision
    quality: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # MASE, coverage
    dropped: int = 0
    versions: frozenset[str] = frozenset()
    missed_true: int = 0  # true positives (judged) this model did not raise

    @property
    def cost_per_cycle(self) -> float:
        return self.seconds / self.cycles if self.cycles else float("nan")


@dataclass(frozen=True, kw_only=True, slots=True)
class Comparison:
    """A candidate against live on the same samples."""

    kind: ModelKind
    candidate: ModelFigures
    live: ModelFigures
    matched: int
    only_candidate: tuple[EpisodeRecord, ...]
    only_live: tuple[EpisodeRecord, ...]
    lead_times: tuple[float, ...]

    @property
    def agreement(self) -> float:
        """Shared episodes over all episodes either side raised (NaN: none at all)."""
        union = self.matched + len(self.only_candidate) + len(self.only_live)
        return self.matched / union if union else float("nan")

    @property
    def median_lead(self) -> float:
        return statistics.median(self.lead_times) if self.lead_times else float("nan")


def compare(
    records: Sequence[EpisodeRecord],
    summaries: Sequence[SummaryRecord],
    incidents: Sequence[IncidentRef],
    feedback: Mapping[str, FeedbackRecord],
    *,
    slack: float = SLACK,
) -> list[Comparison]:
    """Every candidate of every kind against live (candidates in name order)."""
    by_model: dict[tuple[ModelKind, str], list[EpisodeRecord]] = defaultdict(list)
    for r in records:
        by_model[(r.kind, r.model)].append(r)
    for s in summaries:
        by_model.setdefault((s.kind, s.model), [])
    out = []
    for (kind, name) in sorted(by_model, key=lambda km: (km[0].value, km[1])):
        if name == LIVE:
            continue
        live = by_model.get((kind, LIVE), [])
        cand = by_model[(kind, name)]
        matched, only_c, only_l, leads = _match(cand, live, slack)
        judged = [(i, feedback[i.id]) for i in incidents if i.kind is kind and i.id in feedback]
        precision = _precision(judged, cand, slack)
        missed = _precision(judged, None, slack).true - precision.true
        out.append(Comparison(
            kind=kind,
            candidate=_figures(kind, name, cand, summaries, precision, missed),
            live=_figures(kind, LIVE, live, summaries, _precision(judged, None, slack)),
            matched=matched, only_candidate=tuple(only_c), only_live=tuple(only_l),
            lead_times=tuple(leads),
        ))
    return out


def _match(
    cand: Sequence[EpisodeRecord], live: Sequence[EpisodeRecord], slack: float
) -> tuple[int, list[EpisodeRecord], list[EpisodeRecord], list[float]]:
    live_by: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for r in live:
        live_by[r.episode.series].append(r)
    used: set[int] = set()
    only_c: list[EpisodeRecord] = []
    leads: list[float] = []
    for c in sorted(cand, key=lambda r: r.episode.start):
        hit = next((lv for lv in live_by.get(c.episode.series, ())
                    if id(lv) not in used and c.episode.overlaps(lv.episode, slack=slack)), None)
        if hit is None:
            only_c.append(c)
            continue
        used.add(id(hit))
        leads.append(hit.episode.start - c.episode.start)
    only_l = [r for r in live if id(r) not in used]
    return len(leads), only_c, sorted(only_l, key=lambda r: r.episode.start), leads


def _precision(
    judged: Sequence[tuple[IncidentRef, FeedbackRecord]],
    episodes: Sequence[EpisodeRecord] | None,
    slack: float,
) -> Precision:
    """Live (``episodes`` None): every judged incident; a candidate: those it covered."""
    tp = fp = 0
    for inc, fb in judged:
        # Covered: an episode of the series overlaps the alarm, from its run's start to
        # the incident's opening (give or take the slack).
        last = inc.t if inc.opened is None else max(inc.t, inc.opened)
        if episodes is not None and not any(
            r.episode.series == inc.series
            and r.episode.start - slack <= last and inc.t <= r.episode.end + slack
            for r in episodes
        ):
            continue
        if fb.verdict is Verdict.TRUE_POSITIVE:
            tp += 1
        else:
            fp += 1
    return Precision(true=tp, false=fp)


def _figures(
    kind: ModelKind, name: str, episodes: Sequence[EpisodeRecord],
    summaries: Sequence[SummaryRecord], precision: Precision, missed: int = 0,
) -> ModelFigures:
    """Totals over every daemon run: the last summary of each run counts."""
    last: dict[float, SummaryRecord] = {}
    for s in summaries:
        if s.kind is kind and s.model == name and (s.run not in last or s.t >= last[s.run].t):
            last[s.run] = s
    sums: dict[str, list[float]] = {}
    for s in last.values():
        for workload, row in s.quality.items():
            acc = sums.setdefault(workload, [0.0] * len(row))
            for i, x in enumerate(row):
                acc[i] += x
    quality = {w: (mase_of(v), coverage_of(v)) for w, v in sorted(sums.items())}
    versions = {r.version for r in episodes} | {s.version for s in last.values()}
    return ModelFigures(
        model=name, version=", ".join(sorted(versions)) or "-", versions=frozenset(versions),
        episodes=len(episodes), missed_true=missed,
        cycles=sum(s.cycles for s in last.values()),
        seconds=sum(s.seconds for s in last.values()), precision=precision, quality=quality,
        dropped=sum(s.dropped for s in last.values()),
    )


def fmt(x: float, spec: str = ".3f") -> str:
    """A figure for a table: ``-`` when NaN."""
    return "-" if math.isnan(x) else format(x, spec)
