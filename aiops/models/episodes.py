"""Anomaly episodes from a stream of scores, the way the scrape engine raises signals. Pure.

An episode of a series starts at the first warm score at or above the model's signal
floor and lasts while its scores stay there; the first score below (or a cold one) ends
it. A series with no sample in a cycle (a gap) keeps its episode open, as the engine
does. :class:`EpisodeTracker` keeps only the open episodes (at most ``max_open``;
episodes beyond that are counted in ``dropped``), so memory is bounded by the series
that are anomalous now, not by history.

>>> from aiops.model import Score, SeriesKey
>>> k = SeriesKey.of("cpu", workload="cart")
>>> def sc(t, s): return Score(key=k, t=t, value=1.0, score=s, expected=0.5, lower=0, upper=1)
>>> tr = EpisodeTracker(model="live", floor=0.9)
>>> [tr.step([sc(t, s)]) for t, s in ((0, 0.1), (15, 0.95), (30, 0.99))]
[[], [], []]
>>> [ep] = tr.step([sc(45, 0.2)])
>>> (ep.start, ep.end, ep.peak, ep.samples, ep.closed)
(15, 30, 0.99, 2, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aiops.model import Score, SeriesKey


@dataclass(frozen=True, kw_only=True, slots=True)
class Episode:
    """One run of anomalous scores of one series under one model."""

    model: str  # "live" or the candidate's name
    series: str  # str(SeriesKey)
    start: float
    end: float  # time of the last anomalous score
    peak: float
    samples: int = 1
    closed: bool = False
    key: SeriesKey | None = field(default=None, compare=False)

    def overlaps(self, other: Episode, *, slack: float = 0.0) -> bool:
        """Whether both are on the same series and their spans meet (within ``slack``)."""
        return (self.series == other.series and self.start <= other.end + slack
                and other.start <= self.end + slack)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "series": self.series, "start": self.start,
                "end": self.end, "peak": self.peak, "samples": self.samples,
                "closed": self.closed}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Episode:
        """Inverse of :meth:`to_json` (a missing or mistyped field raises)."""
        return cls(model=str(d["model"]), series=str(d["series"]), start=float(d["start"]),
                   end=float(d["end"]), peak=float(d["peak"]), samples=int(d["samples"]),
                   closed=bool(d.get("closed", True)))


class EpisodeTracker:
    """Open episodes per series of one model; :meth:`step` returns those that ended."""

    def __init__(self, *, model: str, floor: float, max_open: int = 10_000) -> None:
        self.model = model
        self.floor = floor
        self.max_open = max_open
        self.open: dict[SeriesKey, Episode] = {}
        self.opened = 0
        self.dropped = 0

    def step(self, scores: Iterable[Score]) -> list[Episode]:
        """Advance every scored series; the episodes that ended in this cycle."""
        ended: list[Episode] = []
        for sc in scores:
            ep = self.open.get(sc.key)
            if sc.warm and sc.score >= self.floor:
                if ep is not None:
                    self.open[sc.key] = replace(ep, end=sc.t, peak=max(ep.peak, sc.score),
                                                samples=ep.samples + 1)
                elif len(self.open) < self.max_open:
                    self.opened += 1
                    self.open[sc.key] = Episode(model=self.model, series=str(sc.key),
                                                start=sc.t, end=sc.t, peak=sc.score, key=sc.key)
                else:
                    self.dropped += 1
            elif ep is not None:
                del self.open[sc.key]
                ended.append(replace(ep, closed=True))
        return ended

    def close_all(self, *, closed: bool = True) -> list[Episode]:
        """Stop tracking every open episode: ended (the source went down), or still open
        when the daemon stops (``closed=False``: journaled as open at its last score)."""
        ended = [replace(ep, closed=closed) for ep in self.open.values()]
        self.open.clear()
        return ended
