"""The daemon's cycle wired from the real engines (scrape + detect + remediate + journal).

End-to-end tests drive it cycle by cycle at wall-clock ``now`` against real servers,
exactly as the daemon's scheduled jobs do, without the scheduler's timing in the way.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiops.actuators.record import RecordingActuator
from aiops.config.detect import DetectConfig
from aiops.config.sources import PrometheusConfig
from aiops.detect.bank import DetectorBank
from aiops.engines.remediate import Remediator
from aiops.engines.scrape import CycleReport, ScrapeEngine
from aiops.journal import Journal
from aiops.model import Alert, Signal
from aiops.runbook import load_runbooks
from aiops.sources.prometheus import PrometheusSource
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics


@dataclass
class Pipeline:
    source: PrometheusSource
    scrape: ScrapeEngine
    remediator: Remediator
    journal: Journal
    actuator: RecordingActuator
    metrics: Metrics

    queued: queue.Queue[Signal] = field(default_factory=queue.Queue)

    def cycle(self, now: float | None = None) -> CycleReport:
        """Poll + detect, then remediate, like the daemon's two jobs back to back."""
        now = time.time() if now is None else now
        report = self.scrape.cycle(now)
        for anomaly in report.anomalies:
            self.queued.put(anomaly)
        self.remediate(now)
        return report

    def remediate(self, now: float | None = None) -> None:
        """Plan queued signals (webhook alerts included), then advance open incidents."""
        now = time.time() if now is None else now
        while not self.queued.empty():
            self.remediator.handle(self.queued.get_nowait(), now)
        self.remediator.tick(now, self.scrape.latest if self.scrape.source_up else {})

    def on_alerts(self, alerts: Sequence[Alert], now: float) -> None:
        """The webhook's hand-off: queue for the remediation job (another thread)."""
        for alert in alerts:
            self.queued.put(alert)

    def close(self) -> None:
        self.source.close()
        self.journal.close()


def build(
    tmp: Path, prom: PrometheusConfig, runbooks: Path, *, detect: DetectConfig | None = None
) -> Pipeline:
    metrics = Metrics()
    source = PrometheusSource(prom)
    journal = Journal(tmp / "journal.sqlite")
    actuator = RecordingActuator()
    bank = DetectorBank(detect or DetectConfig())
    scrape = ScrapeEngine(
        source=source, bank=bank, metrics=metrics,
        signal_floor=(detect or DetectConfig()).signal_floor, log=get_logger("scrape"),
    )
    remediator = Remediator(
        runbooks=load_runbooks([runbooks]), journal=journal, executors=actuator,
        metrics=metrics, log=get_logger("remediate"),
    )
    return Pipeline(source=source, scrape=scrape, remediator=remediator, journal=journal,
                    actuator=actuator, metrics=metrics)
