"""The forecast loop body: demand per workload in, ForecastSignals out.

Every ``forecast.interval`` it takes the latest demand sample of each selected
workload, observes the workload's replicas through the actuator, and asks the pure
:class:`~aiops.forecast.workloads.WorkloadForecasts` for the forecast and desired
replicas. The signals go on the daemon's queue, where runbooks with a ``forecast``
trigger act on them (scale, or raise the HPA's minReplicas); the journal records each
one with its forecast, band and reasons, and ``/metrics`` exports them.

Which policy a signal's ``desired_replicas`` comes from is the capacity gate's call
(:mod:`aiops.forecast.gate`): the reactive HPA rule until the predictive one has beaten
it on the replayed recent demand (the start-up backfill counts). Every hand-over is
logged (``forecast_gate``, with its reason code) and the gate's state is exported as
the ``predictive_in_control``, ``gate_quantile`` and ``band_coverage`` quantities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import structlog

from aiops.actuators.base import Actuator
from aiops.config.forecast import ForecastConfig
from aiops.errors import AiopsError
from aiops.forecast.gate import GateEvent
from aiops.forecast.workloads import DemandSample, WorkloadForecasts
from aiops.model import ForecastSignal, Sample, SeriesKey, Target
from aiops.telemetry.metrics import Metrics


class ForecastEngine:
    """Forecasts demand for every selected workload and proposes replicas."""

    def __init__(
        self,
        *,
        config: ForecastConfig,
        actuator: Actuator,
        metrics: Metrics,
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self.config = config
        self.actuator = actuator
        self.metrics = metrics
        self.log = log
        self.workloads = WorkloadForecasts(config)
        self.last: float | None = None

    def snapshot(self) -> bytes:
        """The forecasters' state, for the state directory."""
        return self.workloads.snapshot()

    def restore(self, blob: bytes) -> None:
        """Continue from :meth:`snapshot` (raises if taken under another configuration)."""
        self.workloads.restore(blob)

    def selected(self, key: SeriesKey) -> bool:
        """Whether ``key`` is a demand series this engine forecasts."""
        if key.metric != self.config.metric or not key.label(self.config.name_label):
            return False
        return all(key.label(k) == v for k, v in self.config.labels.items())

    def target(self, key: SeriesKey) -> Target:
        return Target(
            kind=self.config.target_kind,
            namespace=key.label("namespace"),
            name=key.label(self.config.name_label),
        )

    def warm(self, history: Sequence[Sample]) -> int:
        """Learn past demand, one mean per forecast interval per workload; returns points."""
        step = self.config.interval
        buckets: dict[tuple[SeriesKey, int], list[float]] = {}
        for s in history:
            if self.selected(s.key) and math.isfinite(s.value):
                buckets.setdefault((s.key, int(s.t // step)), []).append(s.value)
        ordered = sorted(buckets.items(), key=lambda item: item[0][1])
        for (key, slot), values in ordered:
            self.workloads.learn(key, sum(values) / len(values), t=slot * step)
        for key in {key for (key, _), _ in ordered}:
            self.log.info("forecast_gate_warmed", workload=str(self.target(key)),
                          evidence_steps=self.workloads.evidence(key))
        return len(ordered)

    def cycle(self, now: float, latest: Mapping[SeriesKey, Sample]) -> list[ForecastSignal]:
        """One forecast cycle if ``interval`` has passed since the last; else nothing."""
        if self.last is not None and now - self.last < self.config.interval:
            return []
        self.last = now
        demand: list[DemandSample] = []
        for key, sample in latest.items():
            if not self.selected(key):
                continue
            try:
                state = self.actuator.observe(self.target(key), now=now)
            except AiopsError as exc:
                self.log.warning("forecast_observe_failed", target=str(self.target(key)),
                                 error=str(exc))
                continue
            if not state.exists:
                continue
            demand.append(
                DemandSample(key=key, demand=sample.value, current_replicas=state.replicas,
                             ready_replicas=state.ready_replicas)
            )
        signals = self.workloads.update(demand, now=now)
        for sig in signals:
            labels = (sig.key.label("namespace"), sig.key.label(self.config.name_label))
            gate = self.workloads.decisions.get(sig.key)
            quantities = [
                ("predicted", sig.predicted), ("lower", sig.lower), ("upper", sig.upper),
                ("capacity", sig.capacity), ("desired_replicas", float(sig.desired_replicas)),
                ("current_replicas", float(sig.current_replicas)),
            ]
            if gate is not None:
                quantities += [
                    ("predictive_in_control", float(gate.rung is not None)),
                    ("gate_quantile", gate.quantile or 0.0),
                    ("band_coverage", gate.predictive.coverage
                     if gate.predictive.coverage is not None else float("nan")),
                ]
                if gate.event is not GateEvent.STAY:
                    self.log.info(
                        "forecast_gate", workload=str(self.target(sig.key)),
                        transition=gate.event.value, mode=gate.mode.value,
                        previous=gate.previous.value, reason=gate.reason.value,
                        quantile=gate.quantile, detail=gate.detail,
                    )
            for quantity, value in quantities:
                self.metrics.forecast.labels(*labels, quantity).set(value)
        if signals:
            self.metrics.signals.labels("forecast").inc(len(signals))
        return signals
