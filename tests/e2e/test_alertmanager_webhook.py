"""Real Prometheus rule -> real Alertmanager -> our webhook -> journal -> runbook."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aiops.bench import realservers
from aiops.config.sources import PrometheusConfig
from aiops.http import HttpServer, Principal, Principals, alert_endpoints, build_app
from aiops.journal import Journal
from aiops.model import Alert, SeriesKey
from tests.realservers.pipeline import Pipeline, build
from tests.realservers.plugin import PromStack

TOKEN = "am-e2e-token"
RUNBOOK = """\
apiVersion: aiops/v1
kind: Runbook
metadata: {name: probe-cpu-high}
spec:
  mode: auto
  triggers:
    - alert: {alertname: ProbeCpuHigh, status: firing}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}', name: '{{ labels.deployment }}'}
  guards: {cooldown: 10m, concurrency: skip}
  steps:
    - action: scale
      with: {delta: "+1", max: 5}
"""
RULES = [{
    "name": "e2e",
    "rules": [{
        "alert": "ProbeCpuHigh",
        "expr": "t_probe_cpu > 0.9",
        "for": "0s",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "{{ $labels.deployment }} uses {{ $value }} cores"},
    }],
}]


@dataclass
class FlakyJournal:
    """The real journal behind a fault injector: the first ``failures`` writes fail."""

    journal: Journal
    failures: int
    calls: int = 0

    def record_new_alerts(self, alerts: Iterable[Alert], now: float) -> list[Alert]:
        self.calls += 1
        if self.calls <= self.failures:
            raise sqlite3.OperationalError("database is locked")
        return self.journal.record_new_alerts(alerts, now)


@dataclass
class Stack:
    pipe: Pipeline
    flaky: FlakyJournal
    prometheus: realservers.ServerProcess
    alertmanager: realservers.ServerProcess


@pytest.fixture
def stack(prom_stack: PromStack, tmp_path: Path) -> Iterator[Stack]:
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "probe.yaml").write_text(RUNBOOK)
    (tmp_path / "token").write_text(TOKEN)
    pipe = build(tmp_path, PrometheusConfig(url=prom_stack.url, queries=[]), tmp_path / "rb")
    flaky = FlakyJournal(pipe.journal, failures=1)
    principals = Principals([Principal(name="alertmanager", roles=frozenset({"alerts"}))], [TOKEN])
    app = build_app(endpoints=alert_endpoints(journal=flaky, on_alerts=pipe.on_alerts),
                    principals=principals)
    http = HttpServer(app, host="127.0.0.1", port=0)
    http.start()
    am = realservers.alertmanager(
        tmp_path / "am", webhook_url=f"http://127.0.0.1:{http.port}/v1/alerts",
        credentials_file=str(tmp_path / "token"),
    )
    prom = realservers.prometheus(
        tmp_path / "prom", targets=[prom_stack.exporter.target], rules=RULES,
        alertmanager=f"127.0.0.1:{am.port}",
    )
    try:
        am.start()
        prom.start()
        yield Stack(pipe=pipe, flaky=flaky, prometheus=prom, alertmanager=am)
    finally:
        prom.stop()
        am.stop()
        http.stop()
        pipe.close()


def _signals(pipe: Pipeline) -> list[tuple[str, str]]:
    with sqlite3.connect(pipe.journal.path) as db:
        return list(db.execute("SELECT name, status FROM signals WHERE kind='alert' ORDER BY id"))


def _wait(pipe: Pipeline, cond: Callable[[], object], timeout: float, what: str) -> None:
    """Run the remediation job every 0.2 s until ``cond()`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pipe.remediate()
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_alert_rule_reaches_runbook_once_despite_a_5xx(stack: Stack, prom_stack: PromStack) -> None:
    """A firing rule is delivered via Alertmanager (retried after 503) and acts exactly once."""
    key = SeriesKey.of("t_probe_cpu", namespace="alerting", deployment="probe", pod="probe-0")
    prom_stack.series.set(key, 2.0)
    pipe = stack.pipe
    _wait(pipe, lambda: pipe.actuator.applied, 45, "the runbook's scale action")
    assert stack.flaky.calls >= 2  # the first delivery got 503, Alertmanager retried
    applied = [(a.kind, str(a.target), a.params.get("replicas")) for a in pipe.actuator.applied]
    assert applied == [("scale", "Deployment/alerting/probe", 3)]
    incidents = pipe.journal.incidents()
    assert [(i.runbook, i.labels.get("alertname")) for i in incidents] == [
        ("probe-cpu-high", "ProbeCpuHigh")]
    assert _signals(pipe) == [("ProbeCpuHigh", "firing")]

    prom_stack.series.remove(key)  # the rule stops firing: Alertmanager sends "resolved"
    _wait(pipe, lambda: ("ProbeCpuHigh", "resolved") in _signals(pipe), 45, "the resolved alert")
    assert _signals(pipe) == [("ProbeCpuHigh", "firing"), ("ProbeCpuHigh", "resolved")]
    assert len(pipe.actuator.applied) == 1 and len(pipe.journal.incidents()) == 1
