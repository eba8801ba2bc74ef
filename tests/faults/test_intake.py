"""Intake under faults, through a real daemon: a runbook whose template blows up, and an
alert that resolves while its run is still queued behind another."""

from __future__ import annotations

from pathlib import Path

from aiops.bench.chaos_launch import Launcher
from tests.faults.daemon import Daemon, firing_body, replay_source, resolved_body, wait_until

STEP = """#!/bin/sh
# $1: directory; $2: a tag. Marks the start, waits for $1/release, marks the effect.
echo "$2 $AIOPS_ACTION_ID" >> "$1/begun"
while [ ! -e "$1/release" ]; do sleep 0.02; done
echo "$2 $AIOPS_ACTION_ID" >> "$1/applied"
"""
GOOD = """apiVersion: aiops/v1
kind: Runbook
metadata: {{name: {name}}}
spec:
  mode: auto
  triggers:
    - alert: {{alertname: {alert}, status: firing}}
  target: {{kind: Deployment, namespace: '{{{{ labels.namespace }}}}',
           name: '{{{{ labels.deployment }}}}'}}
  guards: {{concurrency: {concurrency}}}
  steps:
    - action: command
      with: {{argv: ['{script}', '{dir}', {name}], timeout: 2m}}
"""
# Renders by recursing without end (once a RecursionError that escaped the template layer;
# the sealed sandbox now bounds its depth and reports a template error).
EXPLODING = """apiVersion: aiops/v1
kind: Runbook
metadata: {name: exploding}
spec:
  mode: auto
  triggers:
    - alert: {alertname: Probe, status: firing}
  target: {kind: Deployment, namespace: '{{ labels.namespace }}',
           name: '{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}'}
  steps:
    - action: restart
"""


def _setup(tmp_path: Path, launcher: Launcher, books: dict[str, str]) -> tuple[Daemon, Path]:
    world, script = tmp_path / "world", tmp_path / "step.sh"
    world.mkdir()
    script.write_text(STEP)
    script.chmod(0o755)
    (tmp_path / "rb").mkdir()
    for name, text in books.items():
        (tmp_path / "rb" / f"{name}.yaml").write_text(
            text.replace("@SCRIPT@", str(script)).replace("@DIR@", str(world)))
    daemon = Daemon(tmp_path, {
        "source": replay_source(tmp_path), "actuator": {"type": "record"},
        "loop": {"interval": "500ms", "backfill": "0s"},
        "runbooks": {"paths": [str(tmp_path / "rb")]},
    }, launcher=launcher).start()
    return daemon, world


def _good(name: str, alert: str, concurrency: str = "skip") -> str:
    return GOOD.format(name=name, alert=alert, concurrency=concurrency, script="@SCRIPT@",
                       dir="@DIR@")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_runbook_that_explodes_loses_no_alert_and_crashes_no_cycle(
    tmp_path: Path, launcher: Launcher
) -> None:
    """One runbook's target template recurses without end: that runbook journals a skip (a
    template error, bounded), the other runbook on the same alert acts, no cycle crashes."""
    daemon, world = _setup(tmp_path, launcher, {"exploding": EXPLODING,
                                                "good": _good("good", "Probe")})
    (world / "release").touch()
    daemon.deliver(firing_body(alertname="Probe", deployment="web"))
    wait_until("the good runbook to act", lambda: _lines(world / "applied"))
    skips = daemon.query("SELECT code, reason FROM events WHERE runbook = 'exploding'")
    assert [r["code"] for r in skips] == ["template-error"], skips
    assert "nested more than 16 deep" in skips[0]["reason"]
    assert daemon.query("SELECT 1 FROM signals WHERE handled_at IS NULL") == []
    assert [r["runbook"] for r in daemon.query("SELECT runbook FROM incidents")] == ["good"]
    assert daemon.metric("aiops_decisions_total", runbook="exploding", decision="skip",
                         reason="template-error") == 1.0
    for loop in ("poll", "remediate"):
        assert daemon.metric("aiops_cycles_crashed_total", loop=loop) == 0.0
    assert daemon.ready()[0] == 200
    assert daemon.stop() == 0


def test_a_queued_run_whose_alert_resolves_closes_and_never_acts(
    tmp_path: Path, launcher: Launcher
) -> None:
    """A run queued behind another on the same target: its alert resolves (the real resolved
    delivery), it closes with alert-resolved, and it never acts once the target is free."""
    holder = _good("holder", "Holder") + "    - action: wait\n      with: {duration: 1h}\n"
    daemon, world = _setup(tmp_path, launcher, {
        "holder": holder, "waiter": _good("waiter", "Waiter", "queue")})
    (world / "release").touch()
    daemon.deliver(firing_body(alertname="Holder", deployment="web"))
    wait_until("the holder to hold the target", lambda: _lines(world / "applied"))
    daemon.deliver(firing_body(alertname="Waiter", deployment="web"))
    wait_until("the waiter to queue", lambda: daemon.query(
        "SELECT 1 FROM incidents WHERE runbook = 'waiter' AND status = 'queued'"))
    daemon.deliver(resolved_body(alertname="Waiter", deployment="web"))
    closed = wait_until("the waiter to close", lambda: daemon.query(
        "SELECT status, close_code FROM incidents WHERE runbook = 'waiter' AND"
        " closed_at IS NOT NULL"))
    assert (closed[0]["status"], closed[0]["close_code"]) == ("resolved", "alert-resolved")
    daemon.deliver(resolved_body(alertname="Holder", deployment="web"))  # the target frees
    wait_until("the holder to close", lambda: daemon.query(
        "SELECT 1 FROM incidents WHERE runbook = 'holder' AND closed_at IS NOT NULL"))
    cycles = daemon.metric("aiops_cycles_total", result="ok") or 0.0
    wait_until("four more cycles", lambda: (daemon.metric(
        "aiops_cycles_total", result="ok") or 0.0) >= cycles + 4)
    assert [line.split()[0] for line in _lines(world / "begun")] == ["holder"]
    assert daemon.query("SELECT 1 FROM actions a JOIN incidents i ON i.id = a.incident"
                        " WHERE i.runbook = 'waiter'") == []
    assert daemon.stop() == 0
