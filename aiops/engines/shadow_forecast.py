"""Shadow forecaster candidates: the same demand as the live forecaster, journaled, never acted on.

The forecast engine hands every cycle's demand samples (what it observed: demand, pods)
and the live signals to :meth:`ShadowForecasts.observed`. Each candidate
(``forecast.candidates``) has its own :class:`~aiops.forecast.workloads.WorkloadForecasts`
(forecaster, policies, capacity gate) and decides on the same samples. For every model,
live included:

* **forecast quality** per workload (:class:`~aiops.models.forecast_quality.ForecastQuality`:
  MASE at the lead time and upper-band coverage), journaled in the summaries;
* **scale-up episodes**: runs of cycles in which the model asks for more replicas than
  are running (what a ``forecast`` trigger fires on); peak = the most replicas asked for
  above those running. A candidate's are asked of the runbooks
  (:func:`aiops.engines.shadow.would_be`) and journaled with those would-be decisions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

from aiops.config.forecast import ForecastConfig
from aiops.config.models import ShadowSettings
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
from aiops.forecast.base import SnapshotMismatch
from aiops.forecast.workloads import DemandSample, WorkloadForecasts
from aiops.model import ForecastSignal, SeriesKey
from aiops.models.episodes import Episode
from aiops.models.forecast_quality import ForecastQuality
from aiops.models.shadow_records import LIVE, SummaryRecord, WouldBe
from aiops.models.versions import ModelKind
from aiops.runbook.schema import Runbook


def quality_for(config: ForecastConfig, lead: int) -> ForecastQuality:
    """A quality tracker for a forecaster of ``config`` (its lead, a daily season)."""
    return ForecastQuality(lead=lead, season=config.steps(config.season),
                           recent_steps=config.steps(86400.0))


class ShadowForecasts:
    """The forecaster candidates of one daemon run, beside the live forecaster."""

    def __init__(
        self,
        *,
        live: ForecastConfig,
        live_version: str,
        candidates: Mapping[str, tuple[str, ForecastConfig]],
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
            {name: WorkloadForecasts(cfg) for name, (_, cfg) in candidates.items()},
            mismatch=(SnapshotMismatch, ValueError, KeyError, OSError), log=log)
        self.models = self.states.models
        lead = WorkloadForecasts(live).lead
        self.quality = {LIVE: quality_for(live, lead),
                        **{n: quality_for(cfg, self.models[n].lead)
                           for n, (_, cfg) in candidates.items()}}
        self.figures = {name: Figures() for name in self.quality}
        self.open: dict[str, dict[SeriesKey, Episode]] = {name: {} for name in self.quality}
        self._decided: dict[tuple[str, SeriesKey], list[WouldBe]] = {}
        self.runbooks = list(runbooks)
        self.facts, self.writer, self.log = facts, writer, log
        self.run, self.mode_override = run, mode_override
        self.max_open = settings.max_open_episodes
        self._clock = SummaryClock(every=settings.summary_every)

    # -- state --------------------------------------------------------------------------
    def restore(self, name: str, blob: bytes) -> bool:
        """Continue candidate ``name`` from a checkpoint (False: another configuration's)."""
        return self.states.restore(name, blob)

    def snapshots(self) -> dict[str, bytes]:
        """Each candidate's state, by name."""
        return self.states.snapshots()

    def learn(self, key: SeriesKey, demand: float, t: float) -> None:
        """Backfilled demand, for the candidates without state (and as every model's
        history for the naive scale of its MASE)."""
        for _, wf in self.states.fresh():
            wf.learn(key, demand, t=t)
        for q in self.quality.values():
            q.remember(key, demand)

    # -- each cycle ---------------------------------------------------------------------
    def observed(self, now: float, demand: Sequence[DemandSample],
                 live: Sequence[ForecastSignal], live_seconds: float) -> None:
        """One forecast cycle: score live, then run each candidate on the same samples."""
        actual = {s.key: s.demand for s in demand}
        self.figures[LIVE].count(live_seconds, len(demand))
        self._follow(LIVE, live, actual, now)
        for name, wf in self.models.items():
            t0 = time.perf_counter()
            signals = wf.update(demand, now=now)
            self.figures[name].count(time.perf_counter() - t0, len(demand))
            self._follow(name, signals, actual, now)
        if self._clock.due(now):
            self.summarize(now)
        self.writer.flush()

    def close(self, now: float) -> None:
        for name, eps in self.open.items():
            for key in list(eps):
                self._end(name, key, closed=False)
        self.summarize(now)
        self.writer.flush()

    def summarize(self, now: float) -> None:
        for name, f in self.figures.items():
            q = self.quality[name]
            self.writer.summary(SummaryRecord(
                kind=ModelKind.FORECASTER, model=name, version=self.versions[name],
                run=self.run, t=now, cycles=f.cycles, seconds=f.seconds, samples=f.samples,
                episodes=f.episodes,
                quality={str(k): q.score(k).sums for k in q.workloads()}))

    # -- internals ----------------------------------------------------------------------
    def _follow(self, name: str, signals: Sequence[ForecastSignal],
                actual: Mapping[SeriesKey, float], now: float) -> None:
        quality, eps = self.quality[name], self.open[name]
        budget = MAX_MATCHES
        for sig in signals:
            quality.update(sig.key, actual=actual.get(sig.key, math.nan),
                           predicted=sig.predicted, upper=sig.upper)
            extra = sig.desired_replicas - sig.current_replicas
            ep = eps.get(sig.key)
            if extra <= 0:
                if ep is not None:
                    self._end(name, sig.key, closed=True)
                continue
            if ep is None:
                if len(eps) >= self.max_open:
                    continue
                eps[sig.key] = Episode(model=name, series=str(sig.key), start=now, end=now,
                                       peak=float(extra), key=sig.key)
            else:
                eps[sig.key] = replace(ep, end=now, peak=max(ep.peak, float(extra)),
                                       samples=ep.samples + 1)
            if name != LIVE and budget > 0:
                done = self._decided.setdefault((name, sig.key), [])
                budget -= len(self.runbooks)
                done += would_be(self.runbooks, sig, now, facts=self.facts,
                                 mode_override=self.mode_override,
                                 skip=frozenset(d.runbook for d in done))

    def _end(self, name: str, key: SeriesKey, *, closed: bool) -> None:
        ep = self.open[name].pop(key)
        self.figures[name].episodes += 1
        self.writer.episode(kind=ModelKind.FORECASTER, version=self.versions[name],
                            episode=replace(ep, closed=closed),
                            decisions=self._decided.pop((name, key), []))
