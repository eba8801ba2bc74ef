"""The real Daemon on a real Prometheus (and Alertmanager): /readyz, outages, alerts."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from aiops.bench import realservers
from aiops.config import Config
from aiops.daemon import Daemon, RunOptions
from aiops.model import SeriesKey
from tests.realservers.plugin import PromStack

TOKEN = "daemon-e2e-token"
ALERT_RUNBOOK = """\
apiVersion: aiops/v1
kind: Runbook
metadata: {name: queue-backlog}
spec:
  mode: auto
  triggers:
    - alert: {alertname: QueueBacklog, status: firing}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}', name: '{{ labels.deployment }}'}
  guards: {cooldown: 10m, concurrency: skip}
  steps:
    - action: restart
"""
RULES = [{"name": "d", "rules": [
    {"alert": "QueueBacklog", "expr": "t_daemon_backlog > 100", "for": "0s"}]}]


def _daemon(tmp: Path, prom_url: str) -> Daemon:
    (tmp / "runbooks").mkdir(exist_ok=True)
    (tmp / "runbooks" / "q.yaml").write_text(ALERT_RUNBOOK)
    (tmp / "token").write_text(TOKEN)
    config = Config.model_validate({
        "state_dir": str(tmp / "state"),
        "source": {"type": "prometheus", "prometheus": {
            "url": prom_url, "timeout": 1.0, "retries": 1, "retry_backoff": 0.1,
            "queries": [{"name": "backlog", "query": "t_daemon_backlog",
                         "keep_labels": ["namespace", "deployment"]}]}},
        "actuator": {"type": "record"},
        "runbooks": {"paths": [str(tmp / "runbooks")]},
        "http": {"port": 0, "token_file": str(tmp / "token")},
        "base_dir": str(tmp),
    })
    daemon = Daemon(config, RunOptions(port=0))
    daemon.start_http()
    return daemon


def _get(daemon: Daemon, path: str) -> httpx.Response:
    assert daemon.http is not None
    return httpx.get(f"http://127.0.0.1:{daemon.http.port}{path}", timeout=5)


def _until(step: Callable[[], Any], cond: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step()
        if cond():
            return
        time.sleep(0.3)
    raise AssertionError("condition not reached in time")


def test_daemon_reports_prometheus_outage_on_readyz_and_recovers(
    prom_stack: PromStack, tmp_path: Path
) -> None:
    """Prometheus killed: /readyz 503 naming the source, /healthz 200; back: /readyz 200."""
    prom_stack.series.set(SeriesKey.of("t_daemon_backlog", namespace="q", deployment="w"), 5.0)
    prom = realservers.prometheus(tmp_path / "prom", targets=[prom_stack.exporter.target])
    prom.start()
    daemon = _daemon(tmp_path, prom.url)
    try:
        realservers.wait_for(prom.url, "t_daemon_backlog")
        assert daemon.cycle().ok
        ready = _get(daemon, "/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["source"] == "ok"

        prom.kill()
        report = daemon.cycle()
        assert not report.ok
        ready = _get(daemon, "/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["source"].startswith("down: prometheus")
        assert _get(daemon, "/healthz").status_code == 200
        assert "aiops_source_up{source=\"prometheus\"} 0.0" in _get(daemon, "/metrics").text

        prom.start()
        _until(daemon.cycle, lambda: _get(daemon, "/readyz").status_code == 200, 20)
        assert daemon.journal.incidents() == []
    finally:
        daemon.close()
        prom.stop()


def test_alertmanager_to_daemon_webhook_opens_incident_and_restarts(
    prom_stack: PromStack, tmp_path: Path
) -> None:
    """Rule fires in Prometheus -> Alertmanager -> daemon /v1/alerts -> runbook acts once."""
    daemon = _daemon(tmp_path, prom_stack.url)
    assert daemon.http is not None
    am = realservers.alertmanager(
        tmp_path / "am", webhook_url=f"http://127.0.0.1:{daemon.http.port}/v1/alerts",
        credentials_file=str(tmp_path / "token"))
    prom = realservers.prometheus(
        tmp_path / "prom", targets=[prom_stack.exporter.target], rules=RULES,
        alertmanager=f"127.0.0.1:{am.port}")
    key = SeriesKey.of("t_daemon_backlog", namespace="jobs", deployment="worker")
    try:
        am.start()
        prom.start()
        prom_stack.series.set(key, 500.0)
        _until(daemon.remediate, lambda: bool(daemon.actuator.applied), 45)  # type: ignore[attr-defined]
        applied = daemon.actuator.applied  # type: ignore[attr-defined]
        assert [(a.kind, str(a.target)) for a in applied] == [("restart", "Deployment/jobs/worker")]
        with sqlite3.connect(daemon.journal.path) as db:
            rows = list(db.execute("SELECT name, status FROM signals WHERE kind='alert'"))
        assert rows == [("QueueBacklog", "firing")]
        assert [i.runbook for i in daemon.journal.incidents()] == ["queue-backlog"]
    finally:
        prom_stack.series.remove(key)
        prom.stop()
        am.stop()
        daemon.close()
