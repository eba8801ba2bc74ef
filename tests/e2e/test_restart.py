"""SIGKILL in the middle of a runbook: the restarted daemon repeats nothing and keeps cooldowns."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from aiops.config import load_config
from aiops.daemon import Daemon, RunOptions
from aiops.model import Anomaly, Decision, ReasonCode, Score, SeriesKey
from tests.e2e.sandbox_config import query, sandbox_config, world_state
from tests.realservers import daemons

SPEED = 240.0


def start(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    return daemons.spawn(
        [sys.executable, "-m", "aiops", "run", "--config", str(cfg), "--speed", str(SPEED),
         "--log-format", "json"], log=log)


def wait_for(tmp_path: Path, sql: str, timeout: float, proc: subprocess.Popen[bytes]) -> list[
    sqlite3.Row
]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"daemon exited early with {proc.returncode}"
        try:
            rows = query(tmp_path, sql)
        except sqlite3.OperationalError:  # journal not created yet
            rows = []
        if rows:
            return rows
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for: {sql}")


def test_sigkill_mid_runbook_repeats_nothing_and_honours_cooldown(tmp_path: Path) -> None:
    """Kill -9 after a step's action, before its verification; the restart resumes cleanly."""
    cfg, log = sandbox_config(tmp_path, speed=SPEED), tmp_path / "daemon.log"
    first = start(cfg, log)
    try:
        done = wait_for(
            tmp_path,
            "SELECT a.id, a.incident FROM actions a JOIN incidents i ON i.id = a.incident "
            "WHERE a.status = 'done' AND i.status = 'running'",
            timeout=60, proc=first,
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    action_id, incident_id = done[0]["id"], done[0]["incident"]
    killed_at = world_state(tmp_path)["t"]

    second = start(cfg, log)
    try:
        wait_for(tmp_path, f"SELECT id FROM incidents WHERE id = '{incident_id}' AND status != "
                 "'running'", timeout=60, proc=second)
        time.sleep(300 / SPEED)  # five more simulated minutes inside the cooldown
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        assert second.wait(20) == 0, "SIGTERM must stop the daemon cleanly with exit 0"

    incident = query(tmp_path, "SELECT * FROM incidents WHERE id = ?", incident_id)[0]
    assert incident["status"] == "resolved"
    target = incident["target"]
    assert target == "SandboxWorkload/shop/cart", "the memory leak is the first fault"
    on_target = query(tmp_path, "SELECT id FROM actions WHERE target = ?", target)
    assert [r["id"] for r in on_target] == [action_id], "the completed action ran again"
    applied = [k for k, v in world_state(tmp_path)["applied"].items() if v["target"] == target]
    assert applied == [action_id], "the world saw the action more than once"
    assert len(query(tmp_path, "SELECT id FROM incidents WHERE target = ?", target)) == 1
    # The restarted daemon resumed the world, not a new one, and time never went back.
    assert world_state(tmp_path)["t"] > killed_at
    assert b'"event": "stopped"' in log.read_bytes()

    # A third start, in-process: the same anomaly again, inside the cooldown, is refused.
    daemon = Daemon(load_config(cfg), RunOptions(stepped=True, http=False))
    try:
        score = Score(key=SeriesKey.of("memory_usage", namespace="shop", workload="cart"),
                      t=daemon.clock.now(), value=9e8, score=1.0, expected=3e8, lower=2.9e8,
                      upper=3.1e8)
        plans = daemon.remediator.handle(Anomaly(score=score, since=score.t - 600), score.t)
    finally:
        daemon.close()
    assert [p.decision for p in plans] == [Decision.SKIP]
    assert plans[0].reason.code is ReasonCode.COOLDOWN, plans[0].reasons
