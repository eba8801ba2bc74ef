"""The poll + detect loop body: pull samples, score them, turn anomaly episodes into signals.

One :meth:`ScrapeEngine.cycle` per interval. It never acts: it returns the signals
for the remediation side and keeps the latest sample of every series for verification.
A failed pull marks the source down and emits nothing, so no action is ever taken on
missing data; samples without a finite value are skipped and counted.

The cycle is columnar: the source's samples arrive as a column batch
(:class:`~aiops.sources.base.BatchReader`), the bank scores them as arrays, and Python
objects are built only for samples that signal. Signals follow the bank's episodes
(:mod:`aiops.detect.episodes`): one ``start`` Anomaly when a series' episode begins,
an ``ongoing`` one for every sample at or above the signal floor while it lasts (what
runbooks act on; ``since`` is when the run of anomalous samples began, which a
runbook's ``for:`` reads), one ``end``.

``series_gauges`` exports every series' score, expected value, band and value as gauges
(``loop.series_gauges``; off by default with remote write, where it would re-export
five series per series scored).

With ``detect.joint.enabled``, a :class:`~aiops.detect.joint.JointBank` also scores
each workload's cpu/memory/latency vector; its ``joint{<workload labels>}`` Scores
become Anomaly signals and gauges exactly like per-series ones. It holds river trees
(not snapshotted), so :meth:`ScrapeEngine.warm` rebuilds it from history.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import structlog

from aiops.detect.bank import DetectorBank
from aiops.detect.columns import ScoreBatch
from aiops.detect.episodes import Phase
from aiops.detect.joint import JointBank
from aiops.engines.collector import collector_held
from aiops.engines.latest import LatestSamples
from aiops.errors import AiopsError
from aiops.model import Anomaly, Episode, Sample, Score, SeriesKey
from aiops.sources.base import BatchReader, SampleBatch, Source
from aiops.telemetry.metrics import Metrics

#: Called after scoring with ``(now, batch, scores, live, scoring seconds)`` of every
#: cycle, ``live()`` building the per-sample Scores on demand (the models' side: shadow
#: candidates, live quality; see aiops.engines.model_ops).
OnScored = Callable[[float, SampleBatch, ScoreBatch, Callable[[], list[Score]], float], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class CycleReport:
    """What one cycle saw and how long each stage took (seconds)."""

    t: float
    ok: bool
    series: int = 0
    scored: int = 0
    anomalies: tuple[Anomaly, ...] = ()
    error: str = ""
    stages: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Pulled:
    """One fetch from the source: its column batch, or the error that stopped it."""

    now: float
    batch: SampleBatch | None
    error: AiopsError | None
    t0: float
    t1: float


class ScrapeEngine:
    """Pulls from one source and scores every series with one detector bank."""

    def __init__(
        self,
        *,
        source: Source,
        bank: DetectorBank,
        metrics: Metrics,
        signal_floor: float,
        log: structlog.typing.FilteringBoundLogger,
        joint: JointBank | None = None,
        series_gauges: bool = True,
        on_scored: OnScored | None = None,
    ) -> None:
        self.source = source
        self.series_gauges = series_gauges
        self.on_scored = on_scored
        self.reader = BatchReader(source)
        self.bank = bank
        self.joint = joint if joint is not None and joint.enabled else None
        self._overflow_logged = False
        self.metrics = metrics
        self.signal_floor = signal_floor
        self.log = log
        self.latest = LatestSamples()
        #: Scores with reasons of the samples that signalled (and joint vectors), by key.
        self.scores: dict[SeriesKey, Score] = {}
        self.source_up = False
        self.last_error = ""
        self.last_ok: float | None = None
        self._since: dict[SeriesKey, float] = {}
        self._gauges: dict[int, list[list[Any]]] = {}
        #: The last good cycle's scores as columns, and its joint Scores (for history).
        self.last_batch: ScoreBatch | None = None
        self.last_joint: list[Score] = []

    def latest_samples(self) -> Mapping[SeriesKey, Sample]:
        """The latest sample of every series, or nothing while the source is down.

        A live read-only view (not a copy: a remediate tick at 100,000 series would
        otherwise build them all each second); read it under the daemon's lock.
        """
        return self.latest if self.source_up else {}

    @property
    def rebuilds_from_history(self) -> bool:
        """Whether part of the detection state (the joint view) is never snapshotted."""
        return self.joint is not None

    def cycle(self, now: float) -> CycleReport:
        """Run one poll + detect cycle at time ``now``."""
        return self.score(self.pull(now))

    def pull(self, now: float) -> Pulled:
        """Fetch the samples at ``now`` (the slow, lock-free half of a cycle)."""
        t0 = time.perf_counter()
        try:
            batch = self.reader.read(now)
        except AiopsError as exc:
            return Pulled(now=now, batch=None, error=exc, t0=t0, t1=time.perf_counter())
        return Pulled(now=now, batch=batch, error=None, t0=t0, t1=time.perf_counter())

    def score(self, pulled: Pulled) -> CycleReport:
        """Score what :meth:`pull` fetched and raise its signals."""
        now, batch, t0, t1 = pulled.now, pulled.batch, pulled.t0, pulled.t1
        if pulled.error is not None:
            return self._failed(now, pulled.error, t0)
        assert batch is not None  # a pull without an error carries its batch
        joint: list[Score] = []
        ts = time.perf_counter()  # not t1: the daemon may have waited for its lock since
        with collector_held():
            sb = self.bank.update_batch(batch)
            t_bank = time.perf_counter()
            if self.joint is not None:
                joint = self._joint(batch.samples(), now)
        t2 = time.perf_counter()
        if self.on_scored is not None:  # the per-series bank's scores (not the joint view)
            self.on_scored(now, batch, sb, lambda: self.bank.explain(sb, np.flatnonzero(
                sb.valid)), t_bank - ts)
        self.latest.update(batch)
        self.last_batch, self.last_joint = sb, joint
        skipped = len(sb) - int(np.count_nonzero(sb.valid))
        if skipped:
            # A gap is scored by nobody, so it neither raises nor ends an episode.
            self.metrics.samples_skipped.inc(skipped)
        anomalies = self._anomalies(sb, now)
        anomalies += self._joint_anomalies(joint)
        if self.series_gauges:
            self._export_columns(sb, batch)
            self._export(joint)
        t3 = time.perf_counter()
        self.source_up = True
        self.last_error = ""
        self.last_ok = now
        stages = {"pull": t1 - t0, "score": t2 - ts, "signals": t3 - t2}
        for stage, seconds in stages.items():
            self.metrics.cycle_seconds.labels(stage).observe(seconds)
        self.metrics.source_up.labels(self.source.name).set(1)
        self.metrics.series.set(len(batch))
        self.metrics.cycles.labels("ok").inc()
        if anomalies:
            self.metrics.signals.labels("anomaly").inc(len(anomalies))
        return CycleReport(
            t=now, ok=True, series=len(batch), scored=int(np.count_nonzero(sb.valid)) +
            len(joint), anomalies=tuple(anomalies), stages=stages,
        )

    def warm(self, history: Sequence[Sample], *, joint_only: bool = False) -> int:
        """Feed recorded history to the detectors, oldest first, emitting nothing.

        ``joint_only`` feeds only the joint bank (the per-series bank was restored
        from its snapshot, the joint bank never is).
        """
        by_t: dict[float, list[Sample]] = {}
        for s in history:
            by_t.setdefault(s.t, []).append(s)
        with collector_held():
            for t in sorted(by_t):
                if not joint_only:
                    self.bank.update_batch(SampleBatch.of(by_t[t], self.reader.table))
                if self.joint is not None:
                    self._joint(by_t[t], t)
        return len(by_t)

    def _joint(self, samples: Sequence[Sample], now: float) -> list[Score]:
        assert self.joint is not None
        out = self.joint.update(samples, now)
        if self.joint.overflow and not self._overflow_logged:
            self._overflow_logged = True
            self.log.warning(
                "joint_workloads_capped", max_workloads=self.joint.joint.max_workloads,
                note="further workloads are not scored jointly (count: joint.overflow)",
            )
        return out

    def _failed(self, now: float, exc: AiopsError, t0: float) -> CycleReport:
        if self.source_up or not self.last_error:
            self.log.warning("source_down", source=self.source.name, error=str(exc))
        self.source_up = False
        self.last_error = str(exc)
        # Data we can no longer see must not drive decisions.
        self.latest.clear()
        self._since.clear()
        self.metrics.source_up.labels(self.source.name).set(0)
        self.metrics.source_errors.labels(self.source.name, type(exc).__name__).inc()
        self.metrics.cycles.labels("source_error").inc()
        return CycleReport(
            t=now, ok=False, error=str(exc), stages={"pull": time.perf_counter() - t0}
        )

    def _anomalies(self, sb: ScoreBatch, now: float) -> list[Anomaly]:
        """Episode starts, strong samples and episode ends become Anomaly signals."""
        strong = sb.warm & (sb.score >= self.signal_floor)
        start = sb.phase == Phase.START
        end = sb.phase == Phase.END
        pos = np.flatnonzero(strong | start | end)
        if pos.shape[0] == 0:
            return []
        out: list[Anomaly] = []
        scores = self.bank.explain(sb, pos)
        for i, sc in zip(pos.tolist(), scores, strict=True):
            self.scores[sc.key] = sc
            phase = int(sb.phase[i])
            since = float(sb.since[i])
            if phase == Phase.END:
                last = self._since.pop(sc.key, float(sb.start[i]))
                out.append(Anomaly(score=sc, since=last, episode=Episode.END,
                                   episode_start=float(sb.start[i]), peak=float(sb.peak[i])))
                continue
            if since != since:  # NaN: an episode start below the floor
                since = sc.t
            else:
                self._since[sc.key] = since
            out.append(Anomaly(
                score=sc, since=since,
                episode=Episode.START if phase == Phase.START else Episode.ONGOING,
                episode_start=float(sb.start[i]), peak=float(sb.peak[i]),
            ))
        return out

    def _joint_anomalies(self, scores: list[Score]) -> list[Anomaly]:
        """Joint Scores at or above the floor are signals; ``since`` spans the run."""
        out: list[Anomaly] = []
        for sc in scores:
            self.scores[sc.key] = sc
            if sc.warm and sc.score >= self.signal_floor:
                since = self._since.setdefault(sc.key, sc.t)
                out.append(Anomaly(score=sc, since=since, peak=sc.score))
            else:
                self._since.pop(sc.key, None)
        return out

    def _export_columns(self, sb: ScoreBatch, batch: SampleBatch) -> None:
        """Per-series gauges (score, expected, band, value) from the batch's columns."""
        children = self._children(batch)
        valid = np.flatnonzero(sb.valid)
        if valid.shape[0] == 0:
            return
        cols = (sb.score, sb.expected, sb.lower, sb.upper, sb.value)
        values = [c[valid].tolist() for c in cols]
        for k, row in enumerate(batch.index[valid].tolist()):
            for child, col in zip(children[row], values, strict=True):
                child.set(col[k])

    def _children(self, batch: SampleBatch) -> list[list[Any]]:
        """Gauge children per table row (score, expected, lower, upper, value), cached."""
        table = batch.table
        cached = self._gauges.get(table.token)
        if cached is None:
            cached = self._gauges[table.token] = []
        m = self.metrics
        for key in table.keys[len(cached):]:
            labels = (key.metric, key.label("namespace"), key.label("workload"))
            cached.append([
                m.score.labels(*labels), m.expected.labels(*labels),
                m.band.labels(*labels, "lower"), m.band.labels(*labels, "upper"),
                m.value.labels(*labels),
            ])
        return cached

    def _export(self, scores: list[Score]) -> None:
        m = self.metrics
        for sc in scores:
            labels = (sc.key.metric, sc.key.label("namespace"), sc.key.label("workload"))
            m.score.labels(*labels).set(sc.score)
            m.expected.labels(*labels).set(sc.expected)
            m.band.labels(*labels, "lower").set(sc.lower)
            m.band.labels(*labels, "upper").set(sc.upper)
            m.value.labels(*labels).set(sc.value)

