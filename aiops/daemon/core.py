"""Composition root and lifecycle: build every part from config, run the loops, stop cleanly.

The daemon owns the clock, the scheduler (APScheduler: a poll+detect job and a
remediate job, serialized by one lock), the HTTP server, and the graceful stop on
SIGTERM/SIGINT: the running job finishes, detector state is snapshotted, the journal is
closed. ``--once`` runs one cycle; a stepped clock (``--speed max``) runs cycles back to
back for a given span of simulated time.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiops.config import Config
from aiops.daemon.backends import build_backends
from aiops.daemon.health import Heartbeats, Limits, readiness
from aiops.daemon.routes import daemon_endpoints
from aiops.daemon.snapshots import live_models, restore
from aiops.daemon.status import page_status
from aiops.daemon.supervisor import Job, Supervisor
from aiops.daemon.world_clock import follow_world
from aiops.detect.bank import DetectorBank
from aiops.detect.joint import JointBank
from aiops.engines.clock import Clock
from aiops.engines.forecast import ForecastEngine
from aiops.engines.model_ops import ModelOps
from aiops.engines.remediate import Remediator
from aiops.engines.schedule import CronSchedules
from aiops.engines.scrape import CycleReport, Pulled, ScrapeEngine
from aiops.errors import AiopsError, ConfigError
from aiops.http import (
    Endpoint,
    Health,
    HttpServer,
    build_app,
    load_principals,
)
from aiops.http.stats import HttpStats
from aiops.journal import JournalWriteError
from aiops.journal.connect import open_journal
from aiops.model import Alert, Anomaly, ManualSignal, Signal
from aiops.models import runtime as model_runtime
from aiops.models.versions import ModelKind
from aiops.runbook import load_runbooks
from aiops.runbook.match import schedules
from aiops.sources.remote_write import RemoteWriteSource
from aiops.statedir import StateDir
from aiops.telemetry.history import SeriesHistory
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics, RunbookLabels

if TYPE_CHECKING:
    from aiops.actuators.kubernetes_lease import LeaderElector

SNAPSHOT_EVERY = 20  # cycles between detector state snapshots
#: Real seconds between journal write probes (readiness).
PROBE_EVERY = 5.0


@dataclass(frozen=True, kw_only=True, slots=True)
class RunOptions:
    """Command-line overrides of the configuration."""

    dry_run: bool = False
    speed: float | None = None  # None: config.loop.speed
    stepped: bool = False
    port: int | None = None
    http: bool = True
    new_journal: bool = False  # move a refused journal aside and start a new one


class Daemon:
    """One aiops process: loops, HTTP, journal, lifecycle."""

    def __init__(
        self,
        config: Config,
        options: RunOptions | None = None,
        *,
        extra_routes: Callable[[Daemon], Sequence[Endpoint]] | None = None,
    ) -> None:
        self.config = config
        self.options = options or RunOptions()
        self.log = get_logger("daemon")
        self.state = StateDir(config.resolve(config.state_dir))
        self.state_dir = self.state.root
        config = self.config = self._live_models(config)
        speed = None if self.options.stepped else (self.options.speed or config.loop.speed)
        self.clock = Clock.resume(self.state.path(StateDir.CLOCK), speed=speed, wall=time.time())
        self.metrics = Metrics()
        self.runbooks = load_runbooks([config.resolve(p) for p in config.runbooks.paths])
        try:
            self.shard = config.shard.resolved()
        except ValueError as exc:
            raise ConfigError(str(exc), field="shard.ordinal") from None
        self.journal = open_journal(config.shard_journal(), self.state,
                                    base_dir=Path(config.base_dir),
                                    new_journal=self.options.new_journal, now=time.time(),
                                    log=self.log)
        self.backends = build_backends(config, self.state, self.clock.now(), shard=self.shard,
                                       registry=self.metrics.registry)
        self.source, self.actuator = self.backends.source, self.backends.actuator
        self._follow_world()
        #: Prometheus pushes (remote write): the poll job scores what arrived every
        #: flush_interval; forecasts and snapshots keep the loop.interval grid.
        self.push: RemoteWriteSource | None = (
            self.source if isinstance(self.source, RemoteWriteSource) else None)
        self._last_tick: float | None = None
        self._last_idle_check: float | None = None
        self.bank = DetectorBank(config.detect)
        self._restored = self._restore_detectors()
        self.scrape = ScrapeEngine(
            source=self.source,
            bank=self.bank,
            metrics=self.metrics,
            signal_floor=config.detect.signal_floor,
            log=get_logger("scrape"),
            joint=JointBank(config.detect),
            series_gauges=config.loop.series_gauges if config.loop.series_gauges is not None
            else self.push is None,
        )
        self.remediator = Remediator(
            runbooks=self.runbooks,
            journal=self.journal,
            executors=self.backends.executors,
            metrics=self.metrics,
            log=get_logger("remediate"),
            mode_override=config.mode,
            dry_run=self.options.dry_run,
            changes_per_hour=config.guards.changes_per_hour,
            deny_namespaces=config.guards.deny_namespaces,
            allow_namespaces=config.guards.allow_namespaces,
            shard=(self.shard.ordinal or 0, self.shard.count),
        )
        self.forecaster: ForecastEngine | None = None
        self._forecast_restored = False
        if config.forecast.enabled:
            self.forecaster = ForecastEngine(
                config=config.forecast, actuator=self.actuator, metrics=self.metrics,
                log=get_logger("forecast"),
            )
            self._forecast_restored = self._restore_forecasts()
        self.models = ModelOps(
            config=config, state_dir=self.state_dir, journal=self.journal,
            runbooks=self.runbooks, facts=self.remediator.facts.facts, metrics=self.metrics,
            log=get_logger("models"), mode_override=self.remediator.mode_override,
            run=self.clock.now(),
        )
        self.scrape.on_scored = self.models.scored  # shadow candidates and live quality
        if self.forecaster is not None:
            self.forecaster.on_learn = self.models.forecast_learned
            self.forecaster.on_update = self.models.forecasted
        self.signals: queue.Queue[Signal] = queue.Queue()
        self.schedules = CronSchedules(schedules(self.runbooks), now=self.clock.now())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.supervisor = Supervisor(crashed=self.metrics.crashed, log=self.log, stop=self._stop)
        self._cycles = 0
        self.beats = Heartbeats()
        self._started = time.monotonic()
        self._probed_at: float | None = None
        self.metrics.prime(
            runbooks=[RunbookLabels(name=rb.name, mode=config.mode or rb.spec.mode,
                                    actions=tuple(sorted({s.action for s in rb.spec.steps})))
                      for rb in self.runbooks],
            source=self.source.name)
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self.last_report: CycleReport | None = None
        #: Bounded recent scores and forecasts, for the web page.
        self.history = SeriesHistory(admit_score=config.detect.signal_floor)
        self.http: HttpServer | None = None
        self._principals = (
            load_principals(config.http, Path(config.base_dir)) if config.http.enabled else None
        )
        self._extra_routes = extra_routes
        self.elector: LeaderElector | None = None
        election = config.actuator.kubernetes.leader_election
        if election.enabled:
            from aiops.actuators.kubernetes_lease import LeaderElector

            if self.shard.enabled:  # one Lease per shard: a standby pair per shard
                election = election.model_copy(
                    update={"name": f"{election.name}-{self.shard.ordinal}"})
            self.elector = LeaderElector(election, config.actuator.kubernetes)
        self._leading = self.elector is None

    def _follow_world(self) -> None:
        """On a world server, take its clock (see :func:`follow_world`)."""
        try:
            self.clock, self.source = follow_world(
                actuator=self.actuator, clock=self.clock, source=self.source,
                source_type=self.config.source.type, stepped=self.options.stepped,
                speed=self.options.speed, log=self.log)
        except AiopsError:
            self.backends.close()
            self.journal.close()
            raise

    # -- one cycle ---------------------------------------------------------------------

    def warm(self) -> int:
        """Backfill detectors from the source's history unless their state was restored."""
        now = self.clock.now()
        self._warm_forecasts(now)
        span = self.config.loop.backfill
        # The joint bank is never snapshotted: it rebuilds from history even after a restore.
        joint_only = self._restored and self.scrape.rebuilds_from_history
        skip_live = self._restored and not joint_only
        if (skip_live and not self.models.needs_history) or span <= 0:
            return 0
        try:
            history = self.source.backfill(now - span, now)
        except AiopsError as exc:
            self.log.warning("backfill_failed", error=str(exc))
            return 0
        with self._lock:
            self.models.warm(history)  # shadow candidates without state; drift reference
        if skip_live:
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
        idle = self._idle()
        if idle is not None:
            return idle
        now = self.clock.now()
        interval = self.config.loop.interval
        if not self.clock.stepped and self.push is None:
            # Poll on the interval grid: replicas (and restarts) see the same instants.
            now -= now % interval
        # The fetch runs outside the lock: a slow source never stalls healing.
        pulled = self.scrape.pull(now)
        with self._lock:
            report = self._score(pulled)
            if report.ok:
                if self.scrape.last_batch is not None:
                    self.history.record_batch(self.scrape.last_batch)
                self.history.record(self.scrape.last_joint)
            tick = now - now % interval
            if self.push is not None and tick == self._last_tick:
                self.last_report = report
                self.beats.beat("poll_ok", time.monotonic())
                return report  # between grid instants: scored, nothing else is due
            self._last_tick = tick
            if self.forecaster is not None and report.ok:
                at = tick if self.push is not None else now
                forecasts = self.forecaster.cycle(at, self.scrape.latest_samples())
                self.history.record_forecasts(forecasts)
                for forecast in forecasts:
                    self.signals.put(forecast)
            self.last_report = report
            self._cycles += 1
            if self._cycles % SNAPSHOT_EVERY == 0:
                self._snapshot_detectors()
            self.clock.save(self.state.path(StateDir.CLOCK))
            self.metrics.last_cycle.set(time.time())
            self.beats.beat("poll_ok", time.monotonic())
            return report

    def _idle(self) -> CycleReport | None:
        """With remote write: the last report, when nothing is due.

        Samples wait but no batch is due yet (:meth:`RemoteWriteSource.due`), or nothing
        waits and no second passed since the last cycle (which also looks for silent
        series and a silent Prometheus): skip without taking the lock.
        """
        if self.push is None or self.last_report is None:
            return None
        now = self.clock.now()
        if self.push.pending():
            return None if self.push.due(now) else self._idle_report()
        interval = min(self.config.loop.interval, self.push.config.stale_after, 1.0)
        if now - now % interval != self._last_idle_check:
            self._last_idle_check = now - now % interval
            return None
        return self._idle_report()

    def _idle_report(self) -> CycleReport | None:
        self.beats.beat("poll_ok", time.monotonic())
        return self.last_report

    def _score(self, pulled: Pulled) -> CycleReport:
        """Score one pull and queue its signals; with remote write, answer its requests
        and drop late anomalies."""
        anomalies: Sequence[Anomaly]
        if self.push is None:
            report = self.scrape.score(pulled)
            anomalies = report.anomalies
        else:
            try:
                report = self.scrape.score(pulled)
            except BaseException:
                self.push.settle(False)
                raise
            self.push.settle(report.ok, time.time())
            fresh = pulled.now - self.push.config.stale_after
            # Prometheus catching up: learned, never acted on.
            anomalies = [a for a in report.anomalies if a.t >= fresh]
        # Anomalies under a series' raised floor (feedback) stay out; drift signals join.
        for sig in self.models.signals(report.ok, anomalies):
            self.signals.put(sig)
        return report

    def remediate(self) -> None:
        """Plan queued signals, then advance every running incident (leader only)."""
        self.beats.beat("remediate_running_since", time.monotonic())
        try:
            with self._lock:
                self._remediate()
        except JournalWriteError as exc:
            # A real transaction failed: readiness says so now, not at the next probe.
            self.beats.beat("journal_error", str(exc))
            raise
        finally:
            self.beats.beat("remediate_running_since", None)
        self.beats.beat("remediate_ok", time.monotonic())
        self.probe_journal()

    def _remediate(self) -> None:
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
            try:
                self.remediator.handle(sig, now)
            except AiopsError:
                # Not handled (e.g. the journal is full). Alerts wait unhandled in the
                # journal and anomalies and forecasts are raised again by the next cycle,
                # so only one-off signals (schedules, manual runs) are kept for later.
                self._requeue_one_offs(sig)
                raise
        self.remediator.tick(now, self.scrape.latest_samples())

    @property
    def _probe_every(self) -> float:
        """Real seconds between journal probes: every few seconds, or every interval when
        that is shorter (readiness must fail within three intervals)."""
        interval = self.clock.real_seconds(self.config.loop.interval)
        return min(PROBE_EVERY, interval) if interval > 0 else PROBE_EVERY

    def _requeue_one_offs(self, failed: Signal) -> None:
        pending = [failed]
        while True:
            try:
                pending.append(self.signals.get_nowait())
            except queue.Empty:
                break
        for sig in pending:
            if isinstance(sig, ManualSignal):
                self.signals.put(sig)

    def probe_journal(self, *, force: bool = False) -> None:
        """Check every few seconds that the journal takes writes (for ``/readyz``)."""
        mono = time.monotonic()
        if not force and self._probed_at is not None and mono - self._probed_at < self._probe_every:
            return
        self._probed_at = mono
        try:
            self.journal.probe(self.clock.now())
        except AiopsError as exc:
            self.beats.beat("journal_error", str(exc))
            self.metrics.journal_errors.inc()
            return
        self.beats.beat("journal_error", "")
        self.beats.beat("journal_ok", mono)

    def submit(self, signal_: Signal) -> None:
        """Queue a signal from another thread (webhook, API)."""
        self.signals.put(signal_)

    def on_alerts(self, alerts: Sequence[Alert], _now: float) -> None:
        """The webhook stored new alerts: the next remediate tick takes them from the
        journal (the journal, not this process's memory, is the queue)."""

    def cycle(self) -> CycleReport:
        report = self.poll()
        self.remediate()
        return report

    # -- health ------------------------------------------------------------------------

    def health(self) -> Health:
        interval = max(self.clock.real_seconds(self.config.loop.interval), 0.01)
        checks = readiness(
            beats=self.beats, started=self._started, now=time.monotonic(),
            limits=Limits(poll_every=interval, remediate_every=min(interval, 1.0),
                          journal_every=self._probe_every),
            has_report=self.last_report is not None, source_up=self.scrape.source_up,
            source_error=self.scrape.last_error, stopping=self._stop.is_set(),
            leading=None if self.elector is None else self._leading)
        return Health(alive=True, ready=all(v == "ok" for v in checks.values()),
                      checks=checks)

    def page_status(self) -> dict[str, Any]:
        """What ``/v1/status`` (the page's status panel) shows."""
        return page_status(
            config=self.config, health=self.health(), now=self.clock.now(),
            speed=self.clock.speed, source=self.source.name, actuator=self.actuator.name,
            history=self.history, restored=self._restored, forecaster=self.forecaster,
            forecast_restored=self._forecast_restored,
        )

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
        endpoints = daemon_endpoints(self, extra=self._extra_routes)
        app = build_app(
            endpoints=endpoints, principals=self._principals, limits=cfg.limits,
            registry=self.metrics.registry, standby=lambda: not self._leading,
        )
        port = cfg.port if self.options.port is None else self.options.port
        self.http = HttpServer(app, host=cfg.listen, port=port, limits=cfg.limits,
                               stats=HttpStats.of(self.metrics.registry))
        self.http.start()
        self.log.info("http_listening", address=f"http://{cfg.listen}:{self.http.port}",
                      principals=self._principals.names if self._principals else [])

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
        self.supervisor.install_signal_handlers()
        self.start_http()
        interval = max(self.clock.real_seconds(self.config.loop.interval), 0.01)
        remediate_every = min(interval, 1.0)
        if self.push is not None:  # often, to score as soon as a batch is due (cheap if not)
            interval = min(interval, self.push.config.flush_interval / 4)
        self.elect()
        self.warm()
        jobs = [Job(id="poll", loop="poll", run=self.poll, every=interval, at_start=True),
                Job(id="remediate", loop="remediate", run=self.remediate,
                    every=remediate_every)]
        if self.elector is not None:
            jobs.append(Job(id="lease", loop="elect", run=self.elect, every=(
                self.config.actuator.kubernetes.leader_election.renew_period)))
        end = None if duration is None else self.clock.now() + duration
        try:
            self.supervisor.run(
                jobs, until=lambda: end is not None and self.clock.now() >= end,
                on_started=lambda: self.log.info(
                    "started", source=self.source.name, actuator=self.actuator.name,
                    runbooks=len(self.runbooks), interval=self.config.loop.interval,
                    speed=self.clock.speed, dry_run=self.options.dry_run))
        finally:
            self.close()
            self.log.info("stopped")

    def request_stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Snapshot state and release resources; safe to call twice."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        if self.push is not None:
            self.push.drain(stopping=True)  # answered 503: Prometheus resends after restart
        if self.http is not None:
            self.http.stop()
        if self.elector is not None:
            with contextlib.suppress(AiopsError):
                self.elector.release()
            self.elector.close()
        with self._lock:
            self.models.close(self.clock.now())
            self._snapshot_detectors()
            self.clock.save(self.state.path(StateDir.CLOCK))
            self.backends.close()
            self.journal.close()

    # -- internals ---------------------------------------------------------------------

    def _live_models(self, config: Config) -> Config:
        """Run the model registry's live versions (docs/models.md); the file's if it fails."""
        return live_models(config, self.state, now=time.time(), log=self.log)

    def _snapshot_detectors(self) -> None:
        states = {ModelKind.DETECTOR: self.bank.snapshot()}
        self.state.write(StateDir.DETECTORS, states[ModelKind.DETECTOR])
        if self.forecaster is not None:
            states[ModelKind.FORECASTER] = self.forecaster.snapshot()
            self.state.write(StateDir.FORECASTS, states[ModelKind.FORECASTER])
        for problem in model_runtime.checkpoint(self.config, self.state_dir, states,
                                                now=time.time(), trained_to=self.clock.now()):
            self.log.warning("model_checkpoint_failed", problem=problem)
        self.models.checkpoint(now=time.time(), trained_to=self.clock.now())

    def _restore_forecasts(self) -> bool:
        if self.forecaster is None:
            return False
        return restore(self.state.path(StateDir.FORECASTS), self.forecaster.restore,
                       what="forecasts", log=self.log)

    def _restore_detectors(self) -> bool:
        return restore(self.state.path(StateDir.DETECTORS), self.bank.restore,
                       what="detectors", log=self.log)
