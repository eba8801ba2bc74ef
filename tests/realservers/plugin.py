"""Session-scoped real servers: a scrapeable exporter and a Prometheus scraping it.

Registered from ``tests/conftest.py``. Tests share one Prometheus (start-up to the
first scrape costs ~5 s) and keep apart by using their own metric names or labels.
Servers are started on free loopback ports in temp dirs and stopped by PID. Daemons
that tests start with :func:`tests.realservers.daemons.spawn` (or register with
``track``) are ended when the session ends, however it ends (see that module).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aiops.bench import realservers
from aiops.bench.chaos_launch import Launcher
from aiops.engines.exporter import ExpositionServer, StaticSeries
from tests.realservers import daemons


@dataclass
class PromStack:
    """A real Prometheus scraping a mutable exporter every second."""

    prometheus: realservers.ServerProcess
    exporter: ExpositionServer
    series: StaticSeries

    @property
    def url(self) -> str:
        return self.prometheus.url

    def wait_value(self, promql: str, value: float, *, timeout: float = 15.0) -> None:
        """Wait until ``promql`` returns a series whose value is ``value``."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            seen = [r["value"][1] for r in realservers.query(self.url, promql)]
            if any(float(v) == value for v in seen):
                return
            time.sleep(0.1)
        raise AssertionError(f"{promql} never returned {value} (last {seen})")

    def wait_query(self, promql: str, accept: Callable[[float], bool], *,
                   timeout: float = 15.0) -> float:
        """Wait until ``promql`` returns a series whose value ``accept`` takes; that value."""
        deadline = time.monotonic() + timeout
        seen: list[float] = []
        while time.monotonic() < deadline:
            seen = [float(r["value"][1]) for r in realservers.query(self.url, promql)]
            for v in seen:
                if accept(v):
                    return v
            time.sleep(0.1)
        raise AssertionError(f"{promql} never returned an accepted value (last {seen})")


def start_prom_stack(workdir: Path, series: StaticSeries) -> tuple[PromStack, ExpositionServer]:
    exporter = ExpositionServer(series.render).start()
    prom = realservers.prometheus(workdir, targets=[exporter.target])
    try:
        prom.start()
        realservers.wait_for_up(prom.url, exporter.target)
    except BaseException:
        prom.stop()
        exporter.close()
        raise
    return PromStack(prometheus=prom, exporter=exporter, series=series), exporter


@pytest.fixture(scope="session")
def prom_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromStack]:
    """One real Prometheus for the session, scraping a mutable exporter (1 s interval)."""
    stack, exporter = start_prom_stack(tmp_path_factory.mktemp("prom"), StaticSeries(prefix=""))
    try:
        yield stack
    finally:
        stack.prometheus.stop()
        exporter.close()


def pytest_configure(config: pytest.Config) -> None:
    """End tracked daemons at exit and on SIGTERM/SIGHUP/SIGINT."""
    daemons.install()


@pytest.fixture(scope="session", autouse=True)
def _end_tracked_daemons() -> Iterator[None]:
    """Whatever a test left running in a session of its own is ended with the session."""
    yield
    daemons.end_all()


@pytest.fixture(scope="session")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """A warm fork server for daemons (:mod:`aiops.bench.chaos_launch`): it imports aiops
    once, and each daemon is a fresh fork running the real CLI in a session of its own."""
    server = Launcher([], tmp_path_factory.mktemp("launcher") / "launcher.log")
    daemons.track(server.pid)
    try:
        yield server
    finally:
        server.close()
        daemons.untrack(server.pid)
