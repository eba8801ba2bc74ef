"""Real process restarts: SIGKILL mid-incident keeps actions, cooldowns, windows, approvals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _phase(state: Path, phase: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.engines.remediate_worker", str(state), phase],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )


def test_sigkill_mid_incident_then_restart(tmp_path: Path) -> None:
    """Across two SIGKILLs no action repeats; cooldown, max_runs and the approval survive."""
    a = _phase(tmp_path, "a")
    assert a.returncode == -signal.SIGKILL, a.stderr
    b = _phase(tmp_path, "b")
    assert b.returncode == -signal.SIGKILL, b.stderr
    cooldown = json.loads(b.stdout.strip().splitlines()[-1])["cooldown"]
    assert cooldown["code"] == "cooldown" and cooldown["message"].startswith("cooldown 8m30s left")
    applied = [json.loads(x) for x in (tmp_path / "applied.jsonl").read_text().splitlines()]
    assert [(x["id"].split(":")[1], x["kind"]) for x in applied] == [
        ("0", "scale"), ("0", "scale"), ("1", "restart")]  # checkout, frontend, checkout
    assert len({x["id"] for x in applied}) == 3
    c = _phase(tmp_path, "c")
    assert c.returncode == 0, c.stderr
    out = json.loads(c.stdout.strip().splitlines()[-1])
    assert out["cooldown"] == {"code": "cooldown",
                               "message": "cooldown 3m30s left on SandboxWorkload/shop/checkout"}
    assert out["rated"]["code"] == "max-runs"
    assert out["rated"]["message"].startswith("max_runs 1 per 1h reached")
    assert out["pending"] == ["gated"]
    assert out["statuses"] == [["gated", "running"], ["ladder", "resolved"],
                               ["rated", "resolved"]]
    applied = [json.loads(x) for x in (tmp_path / "applied.jsonl").read_text().splitlines()]
    assert len(applied) == 4 and applied[-1]["kind"] == "scale"
