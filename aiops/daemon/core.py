"""Composition root and lifecycle: build every part from config, run the loops, stop cleanly.

The daemon owns the clock, the scheduler (APScheduler: a poll+detect job and a
remediate job, serialized by one lock), the HTTP server, and the graceful stop on
SIGTERM/SIGINT: the running job finishes, detector state is snapshotted, the journal is
closed. ``--once`` runs one cycle; a stepped clock (``--speed max``) runs cycles back to
back for a given span of simulated time.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from starlette.routing import BaseRoute

from aiops.config import Config
from aiops.daemon.backends import build_backends
from aiops.daemon.snapshots import restore, write_atomic
from aiops.detect.bank import DetectorBank
from aiops.detect.joint import JointBank
from aiops.engines.approvals import approval_routes
from aiops.engines.clock import Clock
from aiops.engines.forecast import ForecastEngine
from aiops.engines.http import Health, HttpServer, build_app
from aiops.engines.remediate import Remediator
from aiops.engines.schedule import CronSchedules
from aiops.engines.scrape import CycleReport, ScrapeEngine
from aiops.engines.webhook import load_token, webhook_routes
from aiops.errors import AiopsError
from aiops.journal import Journal
from aiops.model import Alert, Signal
from aiops.models import runtime as model_runtime
from aiops.models.versions import ModelKind
from aiops.runbook import load_runbooks
from aiops.runbook.match import schedules
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from aiops.telemetry.sdnotify import notify, watchdog_interval

if TYPE_CHECKING:
    from aiops.actuators.kubernetes_lease import LeaderElector

SNAPSHOT_EVERY = 20  # cycles between detector state snapshots
DETECTORS, FORECASTS = "detectors.bin", "forecasts.bin"


@dataclass(frozen=True, kw_only=True, slots=True)
class RunOptions:
    """Command-line overrides of the configuration."""

    dry_run: bool = False
    speed: float | None = None  # None: config.loop.speed
    stepped: bool = False
    port: int | None = None
    http: bool = True


class Daemon:
    """One aiops process: loops, HTTP, journal, lifecycle."""

    def __init__(
        self,
        config: Config,
        options: RunOptions | None = None,
        *,
        extra_routes: Callable[[Daemon], Sequence[BaseRoute]] | None = None,
    ) -> None:
        self.config = config
        self.options = options or RunOptions()
        self.log = get_logger("daemon")
        self.state_dir = config.resolve(config.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config = self.config = self._live_models(config)
        speed = None if self.options.stepped else (self.options.speed or config.loop.speed)
        self.clock = Clock.resume(self.state_dir / "clock.json", speed=speed, wall=time.time())
        self.metrics = Metrics()
        self.runbooks = load_runbooks([config.resolve(p) for p in config.runbooks.paths])
        self.journal = Journal(self.state_dir / "journal.sqlite")
        self.source, self.actuator = build_backends(config, self.state_dir, self.clock.now())
        self.bank = DetectorBank(config.detect)
        self._restored = self._restore_detectors()
        self.scrape = ScrapeEngine(
            source=self.source,
            bank=self.bank,
            metrics=self.metrics,
            signal_floor=config.detect.signal_floor,
            log=get_logger("scrape"),
            joint=JointBank(config.detect),
        )
        self.remediator = Remediator(
            runbooks=self.runbooks,
            journal=self.journal,
            actuator=self.actuator,
            metrics=self.metrics,
            log=get_logger("remediate"),
            mode_override=config.mode,
            dry_run=self.options.dry_run,
            changes_per_hour=config.guards.changes_per_hour,
            deny_namespaces=config.guards.deny_namespaces,
        )
        self.forecaster: ForecastEngine | None = None
        self._forecast_restored = False
        if config.forecast.enabled:
            self.forecaster = ForecastEngine(
                config=config.forecast, actuator=self.actuator, metrics=self.metrics,
                log=get_logger("forecast"),
            )
            self._forecast_restored = self._restore_forecasts()
        self.signals: queue.Queue[Signal] = queue.Queue()
        self.schedules = CronSchedules(schedules(self.runbooks), now=self.clock.now())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._cycles = 0
        self.last_report: CycleReport | None = None
        self.http: HttpServer | None = None
        self._token = (
            load_token(config.http, Path(config.base_dir)) if config.http.enabled else None
        )
        self._extra_routes = extra_routes
        self.elector: LeaderElector | None = None
        election = config.actuator.kubernetes.leader_election
        if election.enabled:
            from aiops.actuators.kubernetes_lease import LeaderElector

            self.elector = LeaderElector(election, config.actuator.kubernetes)
        self._leading = self.elector is None

    # -- one cycle ---------------------------------------------------------------------

    def warm(self) -> int:
        """Backfill detectors from the source's history unless their state was restored."""
        now = self.clock.now()
        self._warm_forecasts(now)
        span = self.config.loop.backfill
        # The joint bank is never snapshotted: it rebuilds from history even after a restore.
        joint_only = self._restored and self.scrape.joint is not None
        if (self._restored and not joint_only) or span <= 0:
            return 0
        try:
            history = self.source.backfill(now - span, now)
        except AiopsError as exc:
            self.log.warning("backfill_failed", error=str(exc))
            return 0
        with self._lock:
            points = self.scrape.warm(history, joint_only=joint_only)
        if points:
            self.log.info("detectors_warmed", samples=len(history), timestamps=points)
        return points

    def _warm_forecasts(self, now: float) -> None:
        span = self.config.forecast.backfill
        if self.forecaster is None or self._forecast_restored or span <= 0:
            return
        try:
            history = self.source.backfill(now - span, now)
        except AiopsError as exc:
            self.log.warning("forecast_backfill_failed", error=str(exc))
            return
        with self._lock:
            points = self.forecaster.warm(history)
        self.log.info("forecasts_warmed", points=points)

    def poll(self) -> CycleReport:
        """Pull, score, and queue anomaly signals."""
        with self._lock:
            now = self.clock.now()
            if not self.clock.stepped:
                # Poll on the interval grid: replicas (and restarts) see the same instants.
                now -= now % self.config.loop.interval
            report = self.scrape.cycle(now)
            for anomaly in report.anomalies:
                self.signals.put(anomaly)
            if self.forecaster is not None and report.ok:
                for forecast in self.forecaster.cycle(now, self.scrape.latest):
                    self.signals.put(forecast)
            self.last_report = report
            self._cycles += 1
            if self._cycles % SNAPSHOT_EVERY == 0:
                self._snapshot_detectors()
            self.clock.save(self.state_dir / "clock.json")
            self.metrics.last_cycle.set(time.time())
            return report

    def remediate(self) -> None:
        """Plan queued signals, then advance every running incident (leader only)."""
        with self._lock:
            now = self.clock.now()
            due = self.schedules.due(now)
            if not self._leading:
                # A standby scores but never acts; the leader sees the same signals.
                while not self.signals.empty():
                    self.signals.get_nowait()
                return
            for tick in due:
                self.signals.put(tick)
            while True:
                try:
                    sig = self.signals.get_nowait()
                except queue.Empty:
                    break
                self.remediator.handle(sig, now)
            latest = self.scrape.latest if self.scrape.source_up else {}
            self.remediator.tick(now, latest)

    def submit(self, signal_: Signal) -> None:
        """Queue a signal from another thread (webhook, API)."""
        self.signals.put(signal_)

    def _on_alerts(self, alerts: Sequence[Alert], _now: float) -> None:
        for alert in alerts:
            self.signals.put(alert)

    def cycle(self) -> CycleReport:
        report = self.poll()
        self.remediate()
        return report

    # -- health ------------------------------------------------------------------------

    def health(self) -> Health:
        checks: dict[str, str] = {}
        report = self.last_report
        if report is None:
            checks["source"] = "no cycle yet"
        elif self.scrape.source_up:
            checks["source"] = "ok"
        else:
            checks["source"] = f"down: {self.scrape.last_error}"
        checks["scheduler"] = "stopping" if self._stop.is_set() else "ok"
        if self.elector is not None:
            checks["leader"] = "ok" if self._leading else "standby"
        ready = all(v == "ok" for v in checks.values())
        return Health(alive=True, ready=ready, checks=checks)

    @property
    def leading(self) -> bool:
        return self._leading

    def elect(self) -> bool:
        """Acquire or renew the Lease (wall-clock time); log and export transitions."""
        if self.elector is None:
            return True
        leading = self.elector.try_acquire_or_renew(time.time())
        if leading != self._leading:
            self.log.info("leadership", leading=leading, identity=self.elector.identity)
        self._leading = leading
        self.metrics.leader.set(1 if leading else 0)
        return leading

    # -- lifecycle ---------------------------------------------------------------------

    def start_http(self) -> None:
        cfg = self.config.http
        if not (cfg.enabled and self.options.http):
            return
        token = self._token
        routes: list[BaseRoute] = [
            *webhook_routes(
                journal=self.journal, on_alerts=self._on_alerts, token=token,
                max_body_bytes=cfg.max_body_bytes, clock=self.clock.now, metrics=self.metrics,
            ),
            *approval_routes(
                approve=self.remediator.approve,
                exists=lambda i: self.journal.incident(i) is not None,
                token=token, clock=self.clock.now,
            ),
            *(self._extra_routes(self) if self._extra_routes else ()),
        ]
        app = build_app(
            status=self, incidents=self.journal, registry=self.metrics.registry,
            extra_routes=routes, standby=lambda: not self._leading,
        )
        port = cfg.port if self.options.port is None else self.options.port
        self.http = HttpServer(app, host=cfg.listen, port=port)
        self.http.start()
        self.log.info("http_listening", address=f"http://{cfg.listen}:{self.http.port}")

    def run_once(self) -> CycleReport:
        """``--once``: one poll + remediate cycle, then stop."""
        try:
            self.elect()
            self.warm()
            return self.cycle()
        finally:
            self.close()

    def run_stepped(self, duration: float) -> None:
        """Run cycles back to back on a stepped clock for ``duration`` simulated seconds."""
        end = self.clock.now() + duration
        try:
            self.elect()
            self.warm()
            while self.clock.now() < end and not self._stop.is_set():
                self.cycle()
                self.clock.advance(self.config.loop.interval)
        finally:
            self.close()

    def run_forever(self, duration: float | None = None) -> None:
        """Run the scheduled loops until SIGTERM/SIGINT (or ``duration`` simulated seconds)."""
        self._install_signal_handlers()
        self.start_http()
        interval = max(self.clock.real_seconds(self.config.loop.interval), 0.01)
        self.elect()
        self.warm()
        scheduler = BackgroundScheduler(timezone="UTC")
        job_defaults = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        if self.elector is not None:
            scheduler.add_job(self._guarded(self.elect), "interval", id="lease",
                              seconds=self.config.actuator.kubernetes.leader_election.renew_period,
                              **job_defaults)
        scheduler.add_job(self._guarded(self.poll), "interval", seconds=interval,
                          id="poll", next_run_time=_now_dt(), **job_defaults)
        scheduler.add_job(self._guarded(self.remediate), "interval",
                          seconds=min(interval, 1.0), id="remediate", **job_defaults)
        wd = watchdog_interval()
        if wd:
            scheduler.add_job(lambda: notify("WATCHDOG=1"), "interval", seconds=wd, id="watchdog")
        scheduler.start()
        notify("READY=1")
        self.log.info(
            "started", source=self.source.name, actuator=self.actuator.name,
            runbooks=len(self.runbooks), interval=self.config.loop.interval,
            speed=self.clock.speed, dry_run=self.options.dry_run,
        )
        end = None if duration is None else self.clock.now() + duration
        try:
            while not self._stop.wait(0.2):
                if end is not None and self.clock.now() >= end:
                    break
        finally:
            notify("STOPPING=1")
            self.log.info("stopping")
            scheduler.shutdown(wait=True)
            self.close()
            self.log.info("stopped")

    def request_stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Snapshot state and release resources; safe to call twice."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        if self.http is not None:
            self.http.stop()
        if self.elector is not None:
            with contextlib.suppress(AiopsError):
                self.elector.release()
            self.elector.close()
        with self._lock:
            self._snapshot_detectors()
            self.clock.save(self.state_dir / "clock.json")
            self.source.close()
            self.actuator.close()
            self.journal.close()

    # -- internals ---------------------------------------------------------------------

    def _guarded(self, fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except AiopsError as exc:
                self.log.error("cycle_failed", job=fn.__name__, error=str(exc))
            except Exception:
                self.log.exception("cycle_crashed", job=fn.__name__)

        return run

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.log.info("signal", signal=signal.Signals(signum).name)
            self._stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _live_models(self, config: Config) -> Config:
        """Run the model registry's live versions (docs/models.md); the file's if it fails."""
        files = {ModelKind.DETECTOR: self.state_dir / DETECTORS,
                 ModelKind.FORECASTER: self.state_dir / FORECASTS}
        try:
            res = model_runtime.prepare(config, self.state_dir, now=time.time(), snapshots=files)
        except (AiopsError, OSError) as exc:
            self.log.error("model_registry_failed", error=str(exc))
            return config
        for note in res.notes:
            self.log.warning("model_version", note=note)
        return res.config

    def _snapshot_detectors(self) -> None:
        states = {ModelKind.DETECTOR: self.bank.snapshot()}
        write_atomic(self.state_dir / DETECTORS, states[ModelKind.DETECTOR])
        if self.forecaster is not None:
            states[ModelKind.FORECASTER] = self.forecaster.workloads.snapshot()
            write_atomic(self.state_dir / FORECASTS, states[ModelKind.FORECASTER])
        for problem in model_runtime.checkpoint(self.config, self.state_dir, states,
                                                now=time.time(), trained_to=self.clock.now()):
            self.log.warning("model_checkpoint_failed", problem=problem)

    def _restore_forecasts(self) -> bool:
        if self.forecaster is None:
            return False
        return restore(self.state_dir / FORECASTS, self.forecaster.workloads.restore,
                       what="forecasts", log=self.log)

    def _restore_detectors(self) -> bool:
        return restore(self.state_dir / DETECTORS, self.bank.restore, what="detectors",
                       log=self.log)


def _now_dt() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)

