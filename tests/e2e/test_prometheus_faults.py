"""Faults against the real Prometheus: stopped mid-run, and slower than our timeout."""

from __future__ import annotations

import time
from pathlib import Path

from aiops.bench import realservers
from aiops.config.detect import DetectConfig
from aiops.config.sources import PrometheusConfig, PrometheusQuery
from aiops.model import SeriesKey
from tests.realservers.pipeline import build
from tests.realservers.plugin import PromStack
from tests.realservers.stub import StubServer

# Fires on any anomaly of the fault series, up or down: if missing data were read as
# zeros (or anything but "no data"), this runbook would act during the outage.
RUNBOOK = """\
apiVersion: aiops/v1
kind: Runbook
metadata: {name: any-move}
spec:
  mode: auto
  triggers:
    - anomaly: {metric: fault_level, score_above: 0.5, direction: any}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}', name: '{{ labels.workload }}'}
  steps:
    - action: restart
"""


def test_prometheus_stopped_mid_run_marks_source_down_acts_on_nothing_and_recovers(
    prom_stack: PromStack, tmp_path: Path
) -> None:
    """Killing Prometheus: cycles fail fast, source down, no action; restart heals by itself."""
    prom_stack.series.set_many(
        (SeriesKey.of("t_fault_level", namespace="f", workload=f"w{i}"), 100.0 + i)
        for i in range(3)
    )
    prom = realservers.prometheus(tmp_path / "prom", targets=[prom_stack.exporter.target])
    prom.start()
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "any.yaml").write_text(RUNBOOK)
    query = PrometheusQuery(name="fault_level", query="t_fault_level",
                            keep_labels=["namespace", "workload"])
    pipe = build(tmp_path, PrometheusConfig(url=prom.url, queries=[query], timeout=1.0,
                                            retries=1, retry_backoff=0.1),
                 tmp_path / "rb", detect=DetectConfig(warmup=3))
    try:
        realservers.wait_for(prom.url, "t_fault_level", min_series=3)
        for _ in range(5):
            report = pipe.cycle()
            assert report.ok and report.series == 3
            time.sleep(0.3)
        assert pipe.scrape.source_up

        prom.kill()  # as a crash would
        for _ in range(3):
            report = pipe.cycle()  # connection refused: reported, no library back-off
            assert not report.ok and "cannot connect" in report.error
            assert report.anomalies == ()
        assert not pipe.scrape.source_up and pipe.scrape.latest == {}
        assert pipe.metrics.source_up.labels("prometheus")._value.get() == 0
        errors = pipe.metrics.source_errors.labels("prometheus", "SourceUnavailable")
        assert errors._value.get() == 3

        prom.start()  # same port, same data: the daemon is not restarted
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not pipe.cycle().ok:
            time.sleep(0.3)
        assert pipe.scrape.source_up and len(pipe.scrape.latest) == 3
        assert pipe.metrics.source_up.labels("prometheus")._value.get() == 1
        assert pipe.journal.incidents() == [] and pipe.actuator.applied == []
    finally:
        prom.stop()
        pipe.close()


def test_slow_prometheus_cycle_is_bounded_by_our_timeout(tmp_path: Path) -> None:
    """A Prometheus slower than our timeout: the cycle abandons the query at the timeout,
    retries once, reports the source down and acts on nothing."""
    with StubServer(delay=10.0) as slow:
        pipe = build(tmp_path, PrometheusConfig(url=slow.url, timeout=0.5, retries=1,
                                                retry_backoff=0.1), tmp_path)
        report = pipe.cycle()
        assert len(slow.requests) == 2  # one try and one retry
        assert slow.answered == 0  # the cycle ended before the server ever answered
        pipe.close()
    assert not report.ok and "timed out" in report.error
    assert not pipe.scrape.source_up and report.anomalies == ()
