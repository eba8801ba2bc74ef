"""kill -9 during alert-driven ``command`` steps: nothing doubled, nothing lost, unknown
outcomes of steps that are not idempotent go to a person and never re-run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aiops.bench.chaos import CommandScenario, Effect, run_chaos
from aiops.bench.chaos_launch import Launcher
from tests.faults.daemon import FIRING, Daemon, firing_body, replay_source, wait_until
from tests.realservers import daemons

BLOCKING = """#!/bin/sh
# $1: directory. Marks the start, waits for $1/release, then marks the effect.
echo "$AIOPS_ACTION_ID" >> "$1/begun"
while [ ! -e "$1/release" ]; do sleep 0.02; done
echo "$AIOPS_ACTION_ID" >> "$1/applied"
"""
RUNBOOK = """apiVersion: aiops/v1
kind: Runbook
metadata: {{name: hold}}
spec:
  mode: auto
  triggers:
    - alert: {{alertname: HoldStep, status: firing}}
  target: {{kind: Deployment, namespace: '{{{{ labels.namespace }}}}',
           name: '{{{{ labels.deployment }}}}'}}
  steps:
    - action: command
      with: {{argv: ['{script}', '{dir}'], timeout: 2m}}
      idempotent: {idempotent}
    - action: command
      with: {{argv: ['{script}', '{dir}']}}
"""


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_command_killed_mid_run(tmp_path: Path, idempotent: bool,
                                 launcher: Launcher) -> None:
    """Killed mid-command: a step that is not idempotent waits in needs-attention and never
    runs again until `aiops attend`; an idempotent one is re-run once with the same id."""
    world = tmp_path / "world"
    world.mkdir()
    script = tmp_path / "step.sh"
    script.write_text(BLOCKING)
    script.chmod(0o755)
    (tmp_path / "rb").mkdir()
    (tmp_path / "rb" / "hold.yaml").write_text(RUNBOOK.format(
        script=script, dir=world, idempotent=str(idempotent).lower()))
    daemon = Daemon(tmp_path, {
        "source": replay_source(tmp_path), "actuator": {"type": "record"},
        "loop": {"interval": "500ms", "backfill": "0s"},
        "runbooks": {"paths": [str(tmp_path / "rb")]},
    }, launcher=launcher).start()
    daemon.deliver(firing_body(alertname="HoldStep", deployment="web"))
    first = wait_until("the command to start", lambda: _lines(world / "begun"))[0]
    daemon.kill()  # the command dies with it: started, outcome never recorded
    assert _lines(world / "applied") == []
    (world / "release").touch()  # from now on a (re-)run would complete its effect

    daemon.start()
    incident = first.split(":")[0]
    if idempotent:
        wait_until("the incident to complete", lambda: daemon.query(
            "SELECT 1 FROM incidents WHERE id = ? AND status = 'completed'", incident))
        assert _lines(world / "begun") == [first, first, f"{incident}:1"]  # same id again
        assert _lines(world / "applied") == [first, f"{incident}:1"]
        codes = [r["code"] for r in daemon.query(
            "SELECT code FROM events WHERE incident = ? ORDER BY id", incident)]
        assert "outcome-unknown" in codes and "rerun-idempotent" in codes
        assert daemon.stop() == 0
        return

    wait_until("needs-attention", lambda: daemon.query(
        "SELECT 1 FROM incidents WHERE id = ? AND status = 'needs-attention'", incident))
    assert daemon.metric("aiops_incidents_needing_attention") == 1.0
    cycles = daemon.metric("aiops_cycles_total", result="ok") or 0.0
    wait_until("six more cycles", lambda: (daemon.metric(
        "aiops_cycles_total", result="ok") or 0.0) >= cycles + 6)
    assert _lines(world / "begun") == [first], "a step that is not idempotent ran again"
    why = daemon.query("SELECT reason FROM events WHERE incident = ? AND kind = ?",
                       incident, "needs-attention")
    assert len(why) == 1 and f"aiops attend {incident}" in why[0]["reason"]

    # A person says it did take effect: the ladder goes on with the next step only.
    attend = subprocess.run(
        [sys.executable, "-m", "aiops", "attend", incident, "--applied", "--note", "checked",
         "--config", str(daemon.path)], capture_output=True, text=True, timeout=60)
    assert attend.returncode == 0, attend.stderr
    wait_until("the incident to complete", lambda: daemon.query(
        "SELECT 1 FROM incidents WHERE id = ? AND status = 'completed'", incident))
    assert _lines(world / "begun") == [first, f"{incident}:1"]
    assert _lines(world / "applied") == [f"{incident}:1"]
    assert daemon.metric("aiops_incidents_needing_attention") == 0.0
    assert daemon.stop() == 0


def test_kill_nine_at_twenty_points_doubles_and_loses_nothing(
    tmp_path: Path, launcher: Launcher
) -> None:
    """20 lives of a real daemon end in kill -9 (most while a command runs): every alert
    acknowledged is decided, no effect happens twice, no non-idempotent step runs twice."""
    scenario = CommandScenario(tmp_path)
    report = run_chaos(scenario, kills=20, seed=7, workdir=tmp_path, template=FIRING,
                       on_spawn=daemons.track, launcher=launcher)
    assert report.kills == 20 and report.targeted >= 10
    assert report.acked == report.alerts == 60
    assert report.doubled == 0, report.details
    assert report.lost == 0, report.details
    assert report.incidents == 60
    assert report.unknown_at_kill, "no kill landed between a step's start and its outcome"
    effects = scenario.effects()
    for action in report.unknown_at_kill:  # each action the journal left `started`
        runbook, status = report.final[action.split(":")[0]]
        effect = effects.get(action, Effect(runs=0, applied=0))
        if runbook == "chaos-once":  # not idempotent: a person decides, nothing re-runs
            assert status == "needs-attention" and effect.runs <= 1, (action, effect)
        else:  # idempotent: re-run with the same id, its script saw the id: one effect
            assert status == "completed" and effect.applied == 1, (action, effect)
    statuses = {st for _, st in report.final.values()}
    assert statuses <= {"completed", "needs-attention"}, statuses
    assert report.needs_attention == sum(
        1 for _, st in report.final.values() if st == "needs-attention")
