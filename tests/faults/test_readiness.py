"""Readiness over real sockets: a Prometheus stand-in (a real HTTP server on loopback) that
answers a wrong shape, or stalls the poll loop; /readyz turns 503 within three cycles and
comes back when the fault goes, while /healthz keeps answering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops.bench.chaos_launch import Launcher
from tests.faults.daemon import Daemon, wait_until
from tests.realservers.stub import StubServer

GOOD = {"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"__name__": "t_ready", "namespace": "shop", "workload": "web"},
     "value": [4_000_000_000, "0.5"]}]}}
# Labels as a list: a shape no Prometheus sends (a broken proxy, a wrong endpoint).
MALFORMED = {"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": ["namespace", "shop"], "value": [4_000_000_000, "0.5"]}]}}
INTERVAL = 1.0


def attempts(daemon: Daemon) -> float:
    """Poll cycles that ended: finished (ok or source error) or crashed."""
    return sum(daemon.metric("aiops_cycles_total", result=r) or 0.0
               for r in ("ok", "source_error")) + (
        daemon.metric("aiops_cycles_crashed_total", loop="poll") or 0.0)


def not_ready_within(daemon: Daemon, cycles: int) -> dict[str, str]:
    start = attempts(daemon)
    _, checks = wait_until("/readyz 503", lambda: (r := daemon.ready())[0] == 503 and r)
    assert attempts(daemon) - start <= cycles, (start, attempts(daemon), checks)
    return dict(checks)


@pytest.fixture
def prometheus() -> Iterator[StubServer]:
    with StubServer(body=GOOD) as stub:
        yield stub


def test_readiness_follows_a_malformed_source_and_a_stalled_loop(
    tmp_path: Path, prometheus: StubServer, launcher: Launcher
) -> None:
    """Wrong payload shape: 503 (the source down, or the loop crashing, counted in
    /metrics); a poll stuck on a slow source: 503 naming the loop; both recover."""
    daemon = Daemon(tmp_path, {
        "source": {"type": "prometheus", "prometheus": {
            "url": prometheus.url, "timeout": "10s", "retries": 0,
            "queries": [{"name": "ready", "query": "t_ready",
                         "keep_labels": ["namespace", "workload"]}]}},
        "actuator": {"type": "record"}, "runbooks": {"paths": []},
        "loop": {"interval": f"{INTERVAL}s", "backfill": "0s"},
    }, launcher=launcher).start()
    wait_until("ready", lambda: daemon.ready()[0] == 200)
    assert daemon.metric("aiops_cycles_crashed_total", loop="poll") == 0.0  # primed at 0

    prometheus.body = MALFORMED
    checks = not_ready_within(daemon, 3)
    crashed = daemon.metric("aiops_cycles_crashed_total", loop="poll") or 0.0
    errors = daemon.metric("aiops_source_errors_total", source="prometheus",
                           error="SourceUnavailable") or 0.0
    if checks["source"].startswith("down"):
        assert errors >= 1, checks  # reported as a source error
    else:
        assert checks["loop"].startswith("stale"), checks
        assert crashed >= 1  # every cycle crashes, and /metrics counts it
    prometheus.body = GOOD
    wait_until("ready again", lambda: daemon.ready()[0] == 200)

    prometheus.delay = 6 * INTERVAL  # each pull now blocks the poll loop for six intervals
    checks = not_ready_within(daemon, 3)
    assert checks["loop"].startswith("stale"), checks
    assert daemon.answers(), "/healthz must keep answering while the loop is stuck"
    prometheus.delay = 0.0
    wait_until("ready again", lambda: daemon.ready()[0] == 200)
    assert daemon.stop() == 0
