"""Schedule triggers fire on the daemon's clock, once per cron tick."""

from __future__ import annotations

import math
from pathlib import Path

from aiops.config import load_config
from aiops.daemon import Daemon, RunOptions
from aiops.engines.schedule import CronSchedules
from aiops.model import SignalKind
from tests.e2e.sandbox_config import query

RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {name: half-hourly-restart}
spec:
  mode: auto
  triggers:
    - schedule: {cron: "*/30 * * * *", labels: {namespace: shop, workload: catalog}}
  target:
    kind: SandboxWorkload
    namespace: '{{ labels.namespace }}'
    name: '{{ labels.workload }}'
  steps:
    - action: restart
"""


def test_each_tick_is_due_once_in_order() -> None:
    """Ticks come out once each, oldest first, across several schedules."""
    s = CronSchedules([("a", "*/10 * * * *", {}), ("b", "5 * * * *", {"x": "1"})], now=0.0)
    due = s.due(1800.0)
    assert [(d.runbook, d.t) for d in due] == [
        ("b", 300.0), ("a", 600.0), ("a", 1200.0), ("a", 1800.0)
    ]
    assert all(d.kind == SignalKind.SCHEDULE for d in due)
    assert due[0].labels == {"x": "1"}
    assert s.due(1800.0) == []


def test_daemon_runs_a_scheduled_runbook_on_every_tick(tmp_path: Path) -> None:
    """A stepped sandbox daemon opens one incident per half-hour boundary it crosses."""
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "cron.yaml").write_text(RUNBOOK)
    cfg = tmp_path / "aiops.yaml"
    cfg.write_text(
        f"state_dir: {tmp_path / 'state'}\nrunbooks: {{paths: [runbooks]}}\n"
        "source: {type: sandbox, sandbox: {fault_schedule: none}}\nhttp: {enabled: false}\n"
    )
    daemon = Daemon(load_config(cfg), RunOptions(stepped=True, http=False))
    start = daemon.clock.now()
    daemon.run_stepped(65 * 60)
    end = start + 65 * 60
    ticks = math.floor((end - 15) / 1800) - math.floor(start / 1800)
    incidents = query(tmp_path, "SELECT runbook, target, status FROM incidents")
    assert ticks >= 2
    assert len(incidents) == ticks
    assert {(r["runbook"], r["target"]) for r in incidents} == {
        ("half-hourly-restart", "SandboxWorkload/shop/catalog")
    }
    assert len(query(tmp_path, "SELECT id FROM actions WHERE status = 'done'")) == ticks
