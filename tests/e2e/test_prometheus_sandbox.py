"""Sandbox exporter (CLI subprocess) -> real Prometheus -> detect -> runbook -> journal."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aiops.bench import realservers
from aiops.config.detect import DetectConfig
from aiops.config.sources import PrometheusConfig
from tests.realservers import daemons
from tests.realservers.pipeline import build

SPEED = 120
LEAK_AT = 25 * 60  # simulated seconds after start (aiops.sim.faults default schedule)
RUNBOOK = """\
apiVersion: aiops/v1
kind: Runbook
metadata: {name: cart-memory-leak}
spec:
  mode: auto
  triggers:
    - anomaly: {metric: memory_usage, labels: {workload: cart}, score_above: 0.9, direction: above}
  target:
    kind: SandboxWorkload
    namespace: '{{ labels.namespace }}'
    name: '{{ labels.workload }}'
  guards: {cooldown: 15m, concurrency: skip}
  steps:
    - action: restart
"""


@pytest.fixture(scope="module")
def sandbox_prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[realservers.ServerProcess]:
    """`aiops sandbox-exporter` at 120x (the cart leak starts ~12 s in), scraped each second."""
    tmp = tmp_path_factory.mktemp("sandbox-prom")
    port = realservers.free_port()
    log = (tmp / "exporter.log").open("wb")
    started = time.time()
    exporter = daemons.spawn(
        [sys.executable, "-m", "aiops", "sandbox-exporter",
         "--port", str(port), "--speed", str(SPEED)],
        stdout=log, stderr=subprocess.STDOUT, own_session=False,
    )
    prom = realservers.prometheus(tmp, targets=[f"127.0.0.1:{port}"])
    prom.extra["leak_starts"] = started + LEAK_AT / SPEED
    try:
        prom.start()
        realservers.wait_for(prom.url, "aiops_sandbox_memory_usage", min_series=5)
        yield prom
    finally:
        prom.stop()
        exporter.terminate()
        exporter.wait(timeout=10)
        log.close()


def test_sandbox_leak_is_detected_through_prometheus_and_runbook_acts(
    sandbox_prom: realservers.ServerProcess, tmp_path: Path
) -> None:
    """The cart memory leak, seen only via PromQL, opens the runbook's incident (restart cart)."""
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "cart.yaml").write_text(RUNBOOK)
    pipe = build(
        tmp_path,
        PrometheusConfig(url=sandbox_prom.url, preset="sandbox", timeout=2.0),
        tmp_path / "rb",
        detect=DetectConfig(warmup=4),
    )
    deadline = time.monotonic() + 60
    series = 0
    try:
        while time.monotonic() < deadline and not pipe.actuator.applied:
            report = pipe.cycle()
            assert report.ok, report.error
            series = report.series
            time.sleep(1.0)
        assert series == 30  # 5 workloads x 6 metrics, all from PromQL
        assert [(a.kind, a.target.name) for a in pipe.actuator.applied] == [("restart", "cart")]
        incidents = pipe.journal.incidents()
        assert [(i.runbook, i.target.name) for i in incidents] == [("cart-memory-leak", "cart")]
        assert incidents[0].opened_at >= sandbox_prom.extra["leak_starts"] - 1.0  # not noise
        kinds = [e.kind for e in pipe.journal.timeline(incidents[0].id)]
        assert "matched" in kinds and "planned" in kinds
        assert pipe.metrics.source_up.labels("prometheus")._value.get() == 1
    finally:
        pipe.close()
