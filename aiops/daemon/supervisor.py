"""Supervised loops: run the daemon's jobs on their intervals until told to stop.

A job that raises is counted (``aiops_cycles_crashed_total{loop}``) and logged, a crash
repeating every cycle at most once a minute, and its loop goes on at the next interval;
one job never runs twice at once and a late run is coalesced, never queued. SIGTERM and
SIGINT ask for a stop: the running job finishes, the scheduler shuts down, and the
caller closes what it owns. systemd hears READY, WATCHDOG and STOPPING.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import Counter

from aiops.errors import AiopsError
from aiops.telemetry.sdnotify import notify, watchdog_interval

Log = structlog.typing.FilteringBoundLogger
#: A loop that keeps crashing logs its traceback at most this often (real seconds).
CRASH_LOG_EVERY = 60.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Job:
    """One supervised loop: ``run`` every ``every`` real seconds (crashes counted as
    ``loop``); ``at_start`` runs it once as soon as the scheduler starts."""

    id: str
    loop: str
    run: Callable[[], object]
    every: float
    at_start: bool = False


class Supervisor:
    """Runs :class:`Job` s on a background scheduler; the stop event ends :meth:`run`."""

    def __init__(self, *, crashed: Counter, log: Log, stop: threading.Event) -> None:
        self._crashed = crashed
        self.log = log
        self.stop = stop
        self._logged: dict[str, tuple[str, float]] = {}

    def guarded(self, loop: str, fn: Callable[[], object]) -> Callable[[], None]:
        """``fn`` made safe for a loop: an exception is counted and logged, not raised."""

        def run() -> None:
            try:
                fn()
            except Exception as exc:
                self._crashed.labels(loop).inc()
                self.log_crash(loop, exc)

        return run

    def log_crash(self, loop: str, exc: Exception) -> None:
        """Log a crashed loop, but a crash repeating every cycle only once a minute."""
        key, mono = f"{type(exc).__name__}: {exc}", time.monotonic()
        last = self._logged.get(loop)
        if last is not None and last[0] == key and mono - last[1] < CRASH_LOG_EVERY:
            return
        self._logged[loop] = (key, mono)
        if isinstance(exc, AiopsError):
            self.log.error("cycle_failed", job=loop, error=str(exc))
        else:
            self.log.exception("cycle_crashed", job=loop)

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT set the stop event (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.log.info("signal", signal=signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, jobs: Sequence[Job], *, until: Callable[[], bool],
            on_started: Callable[[], None]) -> None:
        """Run ``jobs`` until the stop event is set or ``until()`` is true; then wait for
        the running jobs to finish."""
        scheduler = BackgroundScheduler(timezone="UTC")
        defaults = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        for job in jobs:
            extra = {"next_run_time": datetime.now(UTC)} if job.at_start else {}
            scheduler.add_job(self.guarded(job.loop, job.run), "interval", id=job.id,
                              seconds=job.every, **defaults, **extra)
        wd = watchdog_interval()
        if wd:
            scheduler.add_job(lambda: notify("WATCHDOG=1"), "interval", seconds=wd, id="watchdog")
        scheduler.start()
        notify("READY=1")
        on_started()
        try:
            while not self.stop.wait(0.2):
                if until():
                    break
        finally:
            notify("STOPPING=1")
            self.log.info("stopping")
            scheduler.shutdown(wait=True)
