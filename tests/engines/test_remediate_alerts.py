"""Captured Alertmanager bodies: firing acts once; duplicates and resolved alerts never act."""

from __future__ import annotations

from pathlib import Path

from aiops.actuators.record import RecordingActuator
from aiops.engines.remediate import Remediator
from aiops.journal import Journal
from aiops.sources.alertmanager import parse_webhook
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics
from tests.paths import SHARED
from tests.runbook.factories import runbook

FIXTURES = SHARED / "fixtures"
RUNBOOK = """
apiVersion: aiops/v1
kind: Runbook
metadata: {name: cpu-high}
spec:
  mode: auto
  triggers:
    - alert: {alertname: PodCpuHigh, matchers: {severity: warning}}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}', name: '{{ labels.deployment }}'}
  steps:
    - action: restart
      verify: {metric: cpu_usage, below: 0.9, within: 5m}
"""


def _setup(tmp_path: Path) -> tuple[Remediator, RecordingActuator]:
    rec = RecordingActuator()
    r = Remediator([runbook(RUNBOOK)], Journal(tmp_path / "j.sqlite"), rec, Metrics(),
                   get_logger("test"))
    return r, rec


def _body(name: str) -> bytes:
    return (FIXTURES / f"alertmanager-v0.25-{name}.json").read_bytes()


def test_firing_once_duplicate_never_resolved_closes(tmp_path: Path) -> None:
    """As the webhook does: journal first, hand off new alerts; only the first firing acts."""
    r, rec = _setup(tmp_path)
    firing = parse_webhook(_body("firing"), now=100.0).alerts
    fresh = r.journal.record_new_alerts(firing, 100.0)
    assert len(fresh) == 1
    for a in fresh:
        r.handle(a, 100.0)
    r.tick(101.0, {})
    assert [(a.kind, str(a.target)) for a in rec.applied] == [
        ("restart", "Deployment/alerting/probe")]
    # Alertmanager re-sends the same group: stored as duplicate, handled as duplicate
    again = parse_webhook(_body("firing"), now=160.0).alerts
    assert r.journal.record_new_alerts(again, 160.0) == []
    assert all(r.handle(a, 160.0) == [] for a in again)
    resolved = parse_webhook(_body("resolved"), now=200.0).alerts
    for a in r.journal.record_new_alerts(resolved, 200.0):
        assert r.handle(a, 200.0) == []
    r.tick(201.0, {})
    assert len(rec.calls) == 1
    inc = r.journal.incidents()[0]
    assert inc.status == "resolved"
    assert "alert PodCpuHigh resolved" in r.journal.timeline(inc.id)[-1].reason


def test_resolved_alone_never_acts(tmp_path: Path) -> None:
    """A resolved alert with no incident behind it does nothing at all."""
    r, rec = _setup(tmp_path)
    for a in parse_webhook(_body("resolved"), now=5.0).alerts:
        assert r.handle(a, 5.0) == []
    r.tick(6.0, {})
    assert rec.calls == [] and r.journal.incidents() == []


def test_alert_stored_but_not_handed_over_is_recovered(tmp_path: Path) -> None:
    """An alert the webhook made durable before a crash is handled by the next tick."""
    r, rec = _setup(tmp_path)
    r.journal.record_new_alerts(parse_webhook(_body("firing"), now=10.0).alerts, 10.0)
    r2 = Remediator([runbook(RUNBOOK)], Journal(tmp_path / "j.sqlite"), rec, Metrics(),
                    get_logger("test"))
    r2.tick(20.0, {})
    assert [a.kind for a in rec.applied] == ["restart"]
    r2.tick(30.0, {})
    assert len(r2.journal.incidents()) == 1
