"""The daemon's models in production: shadow candidates, live quality, drift, feedback.

One object the daemon wires with thin hooks (docs/models.md):

* the scrape engine calls :meth:`ModelOps.scored` with every cycle's samples and live
  scores; the forecast engine calls :meth:`ModelOps.forecast_learned` (backfill) and
  :meth:`ModelOps.forecasted` (each cycle's demand and live signals);
* after each poll cycle the daemon passes its anomalies through :meth:`ModelOps.signals`,
  which drops those under a series' raised floor (feedback sensitivity, opt-in) and adds
  the ``model-drift`` signals raised in the cycle;
* at every snapshot :meth:`ModelOps.checkpoint` stores the candidates' state in the
  registry, exports the live quality to ``/metrics`` and the registry, and takes in
  sensitivity changes journaled by ``aiops feedback``;
* :meth:`ModelOps.feedback` records an operator's verdict (``POST
  /v1/incidents/{id}/feedback``).

Nothing here acts: candidates' signals never reach the queue, and a failure in this
layer is logged, never raised into the live loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiops.config import Config
from aiops.detect.columns import ScoreBatch
from aiops.engines.feedback import Sensitivity, record_feedback, rule_of
from aiops.engines.model_monitor import ModelMonitor
from aiops.engines.shadow import FactsFn, Log, ShadowWriter
from aiops.engines.shadow_detect import ShadowDetectors
from aiops.engines.shadow_forecast import ShadowForecasts
from aiops.errors import AiopsError
from aiops.forecast.workloads import DemandSample
from aiops.journal import Journal
from aiops.model import Anomaly, ForecastSignal, Sample, Score, SeriesKey, Signal
from aiops.models import runtime
from aiops.models.feedback import Verdict
from aiops.models.versions import ModelKind
from aiops.runbook.schema import Runbook
from aiops.sources.base import SampleBatch
from aiops.telemetry.metrics import Metrics

#: A failure in the shadow or quality layer is logged at most this often (real seconds).
LOG_EVERY = 60.0


class ModelOps:
    """Shadow candidates, live quality and feedback sensitivity of one daemon."""

    def __init__(
        self,
        *,
        config: Config,
        state_dir: Path,
        journal: Journal,
        runbooks: Sequence[Runbook],
        facts: FactsFn,
        metrics: Metrics,
        log: Log,
        mode_override: str | None = None,
        run: float,
    ) -> None:
        self.config, self.state_dir, self.journal, self.log = config, state_dir, journal, log
        kinds = [ModelKind.DETECTOR] + ([ModelKind.FORECASTER] if config.forecast.enabled
                                        else [])
        self.running = {k: runtime.running_id(config, k) for k in kinds}
        self.monitor = ModelMonitor(
            detect=config.detect, forecast=config.forecast if config.forecast.enabled else None,
            versions=self.running, drift=config.models.drift, metrics=metrics)
        writer = ShadowWriter(journal=journal, log=log)
        common: dict[str, Any] = {"runbooks": runbooks, "facts": facts, "writer": writer,
                                  "settings": config.models.shadow, "log": log, "run": run,
                                  "mode_override": mode_override}
        self.detect: ShadowDetectors | None = None
        self.forecast: ShadowForecasts | None = None
        if config.detect.candidates:
            self.detect = ShadowDetectors(
                live=config.detect, live_version=self.running[ModelKind.DETECTOR],
                candidates={n: (runtime.candidate_id(config, ModelKind.DETECTOR, n), c)
                            for n, c in config.detect.candidate_configs().items()}, **common)
        if config.forecast.enabled and config.forecast.candidates:
            self.forecast = ShadowForecasts(
                live=config.forecast, live_version=self.running[ModelKind.FORECASTER],
                candidates={n: (runtime.candidate_id(config, ModelKind.FORECASTER, n), c)
                            for n, c in config.forecast.candidate_configs().items()}, **common)
        self._restore()
        self.sensitivity = Sensitivity(config.models.sensitivity, floor=config.detect.signal_floor)
        self.rule = rule_of(config.models.sensitivity)
        self._guarded("sensitivity", lambda: self.sensitivity.refresh(journal))
        self._logged: dict[str, float] = {}

    # -- hooks --------------------------------------------------------------------------
    def scored(self, now: float, batch: SampleBatch, sb: ScoreBatch,
               live: Callable[[], list[Score]], seconds: float) -> None:
        """The scrape engine's hook: one cycle's samples and live scores, as columns.

        Per-sample objects (``batch.samples()``, ``live()``) are built only for shadow
        candidates, which score the same samples with banks of their own.
        """
        self._guarded("monitor", lambda: self.monitor.scored_columns(batch, sb))
        if self.detect is not None:
            shadow = self.detect
            self._guarded("shadow", lambda: shadow.scored(now, batch.samples(), live(),
                                                          seconds))

    def forecast_learned(self, key: SeriesKey, demand: float, t: float) -> None:
        """The forecast engine's backfill hook."""
        self._guarded("monitor", lambda: self.monitor.forecast_learned(key, demand))
        if self.forecast is not None:
            shadow = self.forecast
            self._guarded("shadow", lambda: shadow.learn(key, demand, t))

    def forecasted(self, now: float, demand: Sequence[DemandSample],
                   signals: Sequence[ForecastSignal], seconds: float) -> None:
        """The forecast engine's hook: one cycle's demand and live signals."""
        self._guarded("monitor", lambda: self.monitor.forecasted(demand, signals))
        if self.forecast is not None:
            shadow = self.forecast
            self._guarded("shadow", lambda: shadow.observed(now, demand, signals, seconds))

    def warm(self, history: Sequence[Sample]) -> None:
        """The start-up backfill: candidates without state learn it; drift's reference."""
        self._guarded("monitor", lambda: self.monitor.warm(history))
        if self.detect is not None and self.detect.needs_history:
            shadow = self.detect
            self._guarded("shadow", lambda: shadow.warm(history))

    @property
    def needs_history(self) -> bool:
        """Whether the backfill is worth pulling though the live state was restored: a
        candidate has no state yet (the drift reference then builds from live samples)."""
        return self.detect is not None and self.detect.needs_history

    def signals(self, ok: bool, anomalies: Sequence[Anomaly]) -> list[Signal]:
        """What the daemon queues after a poll cycle: anomalies that clear their series'
        floor, then the cycle's drift signals."""
        if not ok and self.detect is not None:
            shadow = self.detect
            self._guarded("shadow", shadow.source_down)
        out: list[Signal] = [a for a in anomalies if self.sensitivity.passes(a)]
        out += self.monitor.take_signals()
        return out

    # -- periodic -----------------------------------------------------------------------
    def checkpoint(self, *, now: float, trained_to: float) -> None:
        """Candidates' state and live quality into the registry; metrics; sensitivity."""
        states: dict[tuple[ModelKind, str], bytes] = {}
        if self.detect is not None:
            states |= {(ModelKind.DETECTOR, n): b for n, b in self.detect.snapshots().items()}
        if self.forecast is not None:
            states |= {(ModelKind.FORECASTER, n): b
                       for n, b in self.forecast.snapshots().items()}
        for problem in runtime.checkpoint_candidates(self.config, self.state_dir, states,
                                                     now=now, trained_to=trained_to):
            self.log.warning("model_checkpoint_failed", problem=problem)
        self._guarded("monitor", self.monitor.export)
        self._guarded("quality", lambda: self._documents(trained_to))
        self._guarded("sensitivity", lambda: self.sensitivity.refresh(self.journal))

    def close(self, now: float) -> None:
        """Journal the shadow models' open episodes and last summaries."""
        if self.detect is not None:
            detect = self.detect
            self._guarded("shadow", lambda: detect.close(now))
        if self.forecast is not None:
            forecast = self.forecast
            self._guarded("shadow", lambda: forecast.close(now))

    def feedback(self, incident: str, verdict: str, by: str, note: str,
                 now: float) -> Mapping[str, object]:
        """Record an operator's verdict (NotFound: no such incident); the HTTP route's call."""
        result = record_feedback(self.journal, incident, Verdict(verdict), by=by, note=note,
                                 now=now, rule=self.rule)
        self._guarded("sensitivity", lambda: self.sensitivity.refresh(self.journal))
        return result.to_json()

    # -- internals ----------------------------------------------------------------------
    def _restore(self) -> None:
        pairs: list[tuple[ModelKind, ShadowDetectors | ShadowForecasts]] = []
        if self.detect is not None:
            pairs.append((ModelKind.DETECTOR, self.detect))
        if self.forecast is not None:
            pairs.append((ModelKind.FORECASTER, self.forecast))
        for kind, shadow in pairs:
            for name in shadow.versions:
                if name == "live":
                    continue
                blob = runtime.candidate_state(self.config, self.state_dir, kind, name)
                if blob is not None and shadow.restore(name, blob):
                    self.log.info("shadow_restored", candidate=name, kind=kind.value)

    def _documents(self, now: float) -> None:
        reg = runtime.registry_at(self.state_dir)
        for kind, doc in self.monitor.documents(now).items():
            if kind in self.running:
                reg.record_quality(self.running[kind], doc)

    def _guarded(self, what: str, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception as exc:  # the models' side must never break the live loop
            mono = time.monotonic()
            logged = getattr(self, "_logged", {})
            if mono - logged.get(what, -LOG_EVERY) >= LOG_EVERY:
                logged[what] = mono
                self._logged = logged
                if isinstance(exc, AiopsError):
                    self.log.warning("model_ops_failed", part=what, error=str(exc))
                else:
                    self.log.exception("model_ops_crashed", part=what)
