"""Shadow detector candidates: scored on the live cycle's samples, journaled, never acted on.

The scrape engine hands every cycle's samples and the live bank's scores to
:meth:`ShadowDetectors.scored`. Each candidate (``detect.candidates``) has its own
:class:`~aiops.detect.bank.DetectorBank` and scores the same samples; the live scores
and each candidate's go through the same episode rule
(:class:`~aiops.models.episodes.EpisodeTracker`, with each model's own signal floor).
While a candidate's episode is open, the runbooks are asked what they would decide on
its anomaly (:func:`aiops.engines.shadow.would_be`: the pure matcher and planner, so a
``for: 2m`` trigger is decided once the episode has lasted two minutes); when it ends,
one ``shadow-episode`` event records it with those decisions. Live episodes are
journaled the same way (their real decisions are the engine's incidents), so
``aiops models compare`` reads both sides from one place.

Candidates' state is checkpointed into the registry under their own version ids with
the live ones, and restored from there at start; a candidate without state learns the
start-up backfill like the live bank.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

from aiops.config.detect import DetectConfig
from aiops.config.models import ShadowSettings
from aiops.detect.bank import DetectorBank, DetectorStateChanged
from aiops.engines.shadow import (
    MAX_MATCHES,
    FactsFn,
    Figures,
    Log,
    ShadowWriter,
    SummaryClock,
    would_be,
)
from aiops.engines.shadow_states import CandidateStates
from aiops.model import Anomaly, Sample, Score, SeriesKey
from aiops.models.episodes import Episode, EpisodeTracker
from aiops.models.shadow_records import LIVE, SummaryRecord, WouldBe
from aiops.models.versions import ModelKind
from aiops.runbook.schema import Runbook


class ShadowDetectors:
    """The detector candidates of one daemon run, beside the live bank."""

    def __init__(
        self,
        *,
        live: DetectConfig,
        live_version: str,
        candidates: Mapping[str, tuple[str, DetectConfig]],
        runbooks: Sequence[Runbook],
        facts: FactsFn,
        writer: ShadowWriter,
        settings: ShadowSettings,
        log: Log,
        run: float,
        mode_override: str | None = None,
    ) -> None:
        self.versions = {LIVE: live_version, **{n: v for n, (v, _) in candidates.items()}}
        self.states = CandidateStates(
            {name: DetectorBank(cfg) for name, (_, cfg) in candidates.items()},
            mismatch=(DetectorStateChanged, ValueError, KeyError, OSError), log=log)
        self.banks = self.states.models
        floors = {LIVE: live.signal_floor,
                  **{n: cfg.signal_floor for n, (_, cfg) in candidates.items()}}
        self.trackers = {name: EpisodeTracker(model=name, floor=floor,
                                              max_open=settings.max_open_episodes)
                         for name, floor in floors.items()}
        self.figures = {name: Figures() for name in floors}
        self.runbooks = list(runbooks)
        self.facts = facts
        self.writer = writer
        self.log = log
        self.run = run
        self.mode_override = mode_override
        self._decided: dict[tuple[str, SeriesKey], list[WouldBe]] = {}
        self._clock = SummaryClock(every=settings.summary_every)

    # -- state --------------------------------------------------------------------------
    def restore(self, name: str, blob: bytes) -> bool:
        """Continue candidate ``name`` from a checkpoint (False: taken under another config)."""
        return self.states.restore(name, blob)

    def snapshots(self) -> dict[str, bytes]:
        """Each candidate's state, by name."""
        return self.states.snapshots()

    @property
    def needs_history(self) -> bool:
        """Whether a candidate has no state and should learn the backfill."""
        return self.states.needs_history

    def warm(self, history: Sequence[Sample]) -> None:
        """Feed recorded history to the candidates without state, oldest first."""
        todo = [bank for _, bank in self.states.fresh()]
        by_t: dict[float, list[Sample]] = {}
        for s in history:
            by_t.setdefault(s.t, []).append(s)
        for t in sorted(by_t):
            for bank in todo:
                bank.update(by_t[t])

    # -- each cycle ---------------------------------------------------------------------
    def scored(self, now: float, samples: Sequence[Sample], live: Sequence[Score],
               live_seconds: float) -> None:
        """One cycle: the live scores, then each candidate's on the same samples."""
        self.figures[LIVE].count(live_seconds, len(samples))
        self._ended(LIVE, self.trackers[LIVE].step(live))
        for name, bank in self.banks.items():
            t0 = time.perf_counter()
            scores = bank.update(samples)
            self.figures[name].count(time.perf_counter() - t0, len(samples))
            tracker = self.trackers[name]
            self._ended(name, tracker.step(scores))
            self._decide(name, tracker, scores, now)
        if self._clock.due(now):
            self.summarize(now)
        self.writer.flush()

    def source_down(self) -> None:
        """The source failed: every episode ends, as the engine's do."""
        for name, tracker in self.trackers.items():
            self._ended(name, tracker.close_all())
        self.writer.flush()

    def close(self, now: float) -> None:
        """The daemon stops: journal the open episodes (as open) and a last summary."""
        for name, tracker in self.trackers.items():
            self._ended(name, tracker.close_all(closed=False))
        self.summarize(now)
        self.writer.flush()

    def summarize(self, now: float) -> None:
        for name, f in self.figures.items():
            self.writer.summary(SummaryRecord(
                kind=ModelKind.DETECTOR, model=name, version=self.versions[name], run=self.run,
                t=now, cycles=f.cycles, seconds=f.seconds, samples=f.samples,
                episodes=f.episodes, dropped=self.trackers[name].dropped))

    # -- internals ----------------------------------------------------------------------
    def _decide(self, name: str, tracker: EpisodeTracker, scores: Sequence[Score],
                now: float) -> None:
        """Ask the runbooks about each open episode scored this cycle (bounded per cycle)."""
        budget = MAX_MATCHES
        for sc in scores:
            ep = tracker.open.get(sc.key)
            if ep is None or budget <= 0 or not math.isfinite(sc.score):
                continue
            done = self._decided.setdefault((name, sc.key), [])
            if len(done) == len(self.runbooks):
                continue
            budget -= len(self.runbooks) - len(done)
            done += would_be(self.runbooks, Anomaly(score=sc, since=ep.start), now,
                             facts=self.facts, mode_override=self.mode_override,
                             skip=frozenset(d.runbook for d in done))

    def _ended(self, name: str, episodes: Sequence[Episode]) -> None:
        for ep in episodes:
            self.figures[name].episodes += 1
            decisions = self._decided.pop((name, ep.key), []) if ep.key is not None else []
            self.writer.episode(kind=ModelKind.DETECTOR, version=self.versions[name],
                                episode=ep, decisions=decisions)
