"""Live quality of the running models: detector health, forecast error, drift signals.

Fed by the same hooks as the shadow candidates (every cycle's samples and live scores;
every forecast cycle's demand and live signals), it keeps:

* per series, the detector's health (:mod:`aiops.models.health`: warm, episodes and
  their rate, adoptions) and whether its distribution drifted from the reference
  (training) window (:mod:`aiops.models.drift`); a drift that starts becomes a
  :class:`~aiops.model.ModelDrift` signal for the runbooks (``model_drift`` triggers);
* per workload, the live forecaster's MASE and upper-band coverage, since the start and
  over the last day (:mod:`aiops.models.forecast_quality`).

:meth:`ModelMonitor.export` puts them in ``/metrics`` (labels bounded like the score
gauges: metric, namespace, workload, and a fixed set of quantities; at most
``models.drift.max_series`` series) and :meth:`ModelMonitor.documents` in the registry,
where ``aiops models show`` prints them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from prometheus_client import Gauge

from aiops.config.detect import DetectConfig
from aiops.config.forecast import ForecastConfig
from aiops.config.models import DriftSettings
from aiops.detect.columns import ScoreBatch
from aiops.engines.shadow_forecast import quality_for
from aiops.forecast.workloads import DemandSample, WorkloadForecasts
from aiops.model import ForecastSignal, ModelDrift, Sample, Score, SeriesKey
from aiops.models.drift import DriftChange, DriftWatch
from aiops.models.forecast_quality import ForecastQuality
from aiops.models.health import SeriesHealthBank
from aiops.models.versions import ModelKind
from aiops.sources.base import SampleBatch
from aiops.telemetry.metrics import Metrics

#: Series listed by name in the registry's health document (most episodes per day first).
TOP_SERIES = 20


class ModelMonitor:
    """Health, drift and forecast quality of the live versions."""

    def __init__(
        self,
        *,
        detect: DetectConfig,
        forecast: ForecastConfig | None,
        versions: Mapping[ModelKind, str],
        drift: DriftSettings,
        metrics: Metrics,
    ) -> None:
        self.versions = dict(versions)
        self.health = SeriesHealthBank(floor=detect.signal_floor, threshold=detect.threshold,
                                       adopt_after=detect.adopt_after,
                                       max_series=drift.max_series)
        self.drift = DriftWatch(reference=drift.reference, window=drift.window,
                                bins=drift.bins, threshold=drift.threshold,
                                max_series=drift.max_series) if drift.enabled else None
        self.threshold = drift.threshold
        self.forecast: ForecastQuality | None = None
        self.name_label = "workload"
        if forecast is not None:
            self.forecast = quality_for(forecast, WorkloadForecasts(forecast).lead)
            self.name_label = forecast.name_label
        self.pending: list[ModelDrift] = []
        r = metrics.registry
        self.g_health = Gauge(
            "aiops_detector_health", "Live detector health per series: warm (0/1), episodes, "
            "episodes_per_day, adoptions, drift_psi (population stability index against the "
            "training window).", ["metric", "namespace", "workload", "quantity"], registry=r)
        self.g_forecast = Gauge(
            "aiops_forecast_quality", "Live forecaster quality per workload: mase, coverage "
            "(since start), mase_recent, coverage_recent (last day).",
            ["namespace", "workload", "quantity"], registry=r)
        self.g_drifting = Gauge("aiops_series_drifting",
                                "Series whose distribution drifted from the training window.",
                                registry=r)

    # -- feeding ------------------------------------------------------------------------
    def warm(self, history: Sequence[Sample]) -> None:
        """The start-up backfill belongs to the training window: the drift reference."""
        if self.drift is None:
            return
        by_t: dict[float, list[tuple[Any, float, float]]] = {}
        for s in history:
            by_t.setdefault(s.t, []).append((s.key, s.t, s.value))
        for t in sorted(by_t):
            self.drift.update(by_t[t])

    def scored(self, now: float, samples: Sequence[Sample], scores: Sequence[Score]) -> None:
        """One scrape cycle: health from the scores, drift from the values."""
        self.health.update(scores)
        if self.drift is not None:
            self._drift([(s.key, s.t, s.value) for s in samples])

    def scored_columns(self, batch: SampleBatch, sb: ScoreBatch) -> None:
        """:meth:`scored` from the cycle's columns (no Sample or Score per sample)."""
        at = np.flatnonzero(sb.valid)
        self.health.update_table(batch.table, sb.index[at], sb.warm[at], sb.score[at],
                                 sb.t[at])
        if self.drift is not None:
            self._signal(self.drift.update_table(batch.table, batch.index, batch.t,
                                                 batch.value))

    def _drift(self, observed: list[tuple[SeriesKey, float, float]]) -> None:
        assert self.drift is not None
        self._signal(self.drift.update(observed))

    def _signal(self, changes: Sequence[DriftChange]) -> None:
        for c in changes:
            if not c.started:
                continue
            version = self.versions.get(ModelKind.DETECTOR, "")
            self.pending.append(ModelDrift(
                key=c.key, t=c.t, since=c.since, psi=c.psi, threshold=self.threshold,
                model=version, reference=c.reference,
                why=f"{c.key} drifted from the window {version} was trained on "
                f"(PSI {c.psi:.2f} > {self.threshold:.2f})"))

    def forecast_learned(self, key: SeriesKey, demand: float) -> None:
        """Backfilled demand: history for the naive scale of the live MASE."""
        if self.forecast is not None:
            self.forecast.remember(key, demand)

    def forecasted(self, demand: Sequence[DemandSample],
                   signals: Sequence[ForecastSignal]) -> None:
        """One forecast cycle of the live forecaster."""
        if self.forecast is None:
            return
        actual = {s.key: s.demand for s in demand}
        for sig in signals:
            self.forecast.update(sig.key, actual=actual.get(sig.key, math.nan),
                                 predicted=sig.predicted, upper=sig.upper)

    def take_signals(self) -> list[ModelDrift]:
        """Drift signals raised since the last call."""
        out, self.pending = self.pending, []
        return out

    # -- reporting ----------------------------------------------------------------------
    def export(self) -> None:
        """Set the gauges (the daemon calls this every snapshot, not every cycle)."""
        psi = self.drift.psi_of if self.drift is not None else None
        for h in self.health.rows():
            labels = (h.key.metric, h.key.label("namespace"), h.key.label("workload"))
            for quantity, value in (("warm", float(h.warm)), ("episodes", float(h.episodes)),
                                    ("episodes_per_day", h.per_day),
                                    ("adoptions", float(h.adoptions))):
                self.g_health.labels(*labels, quantity).set(value)
            if psi is not None:
                self.g_health.labels(*labels, "drift_psi").set(psi(h.key))
        if self.drift is not None:
            self.g_drifting.set(len(self.drift.drifted()))
        if self.forecast is not None:
            for key in self.forecast.workloads():
                q = self.forecast.score(key)
                ns, name = key.label("namespace"), key.label(self.name_label)
                for quantity, value in (("mase", q.mase_total), ("coverage", q.coverage_total),
                                        ("mase_recent", q.mase_recent),
                                        ("coverage_recent", q.coverage_recent)):
                    self.g_forecast.labels(ns, name, quantity).set(value)

    def documents(self, now: float) -> dict[ModelKind, dict[str, Any]]:
        """What ``aiops models show`` prints about each live version, by kind."""
        rows = self.health.rows()
        top = sorted(rows, key=lambda h: (-h.per_day, str(h.key)))[:TOP_SERIES]
        drifting = self.drift.drifted() if self.drift is not None else []
        psi = self.drift.psi_of if self.drift is not None else None
        detector: dict[str, Any] = {
            "t": now, "series": len(rows), "warm": sum(h.warm for h in rows),
            "episodes": sum(h.episodes for h in rows),
            "adoptions": sum(h.adoptions for h in rows),
            "overflow": self.health.overflow,
            "top": [{**h.to_json(), "drift_psi": _num(psi(h.key)) if psi else None}
                    for h in top],
            "drifting": [{"series": str(k), "psi": _num(psi(k)) if psi else None,
                          "reference": self.drift.reference_of(k) if self.drift else None}
                         for k in drifting],
        }
        out = {ModelKind.DETECTOR: detector}
        if self.forecast is not None:
            out[ModelKind.FORECASTER] = {
                "t": now,
                "workloads": [self.forecast.score(k).to_json() for k in self.forecast.workloads()],
            }
        return out


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None
