"""`aiops run --dry-run` changes nothing; `aiops incidents` explains what happened and why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.sandbox_config import query, sandbox_config, world_state


def aiops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiops", *args], capture_output=True, text=True, timeout=120,
        check=False, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_dry_run_plans_and_journals_but_changes_nothing(tmp_path: Path) -> None:
    """A dry run detects the leak and journals the plan; the world sees no action."""
    cfg = str(sandbox_config(tmp_path))
    run = aiops("run", "--config", cfg, "--speed", "max", "--for", "35m", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert world_state(tmp_path)["applied"] == {}
    incidents = query(tmp_path, "SELECT runbook, mode FROM incidents")
    assert [(r["runbook"], r["mode"]) for r in incidents] == [("cart-memory-leak", "dry-run")]

    table = aiops("incidents", "--config", cfg)
    assert table.returncode == 0, table.stderr
    out = table.stdout
    for needle in ("cart-memory-leak", "SandboxWorkload/shop/cart", "matched anomaly trigger",
                   "score", "restart", "dry-run"):
        assert needle in out, f"{needle!r} missing from:\n{out}"

    as_json = json.loads(aiops("incidents", "--config", cfg, "--json").stdout)
    assert as_json[0]["runbook"] == "cart-memory-leak"
    assert as_json[0]["timeline"][0]["kind"] == "matched"


def test_incidents_without_a_journal_says_so(tmp_path: Path) -> None:
    """Asking for incidents before the daemon ever ran is a clear error, not a traceback."""
    result = aiops("incidents", "--config", str(sandbox_config(tmp_path)))
    assert result.returncode == 1
    assert "no journal" in result.stderr and "Traceback" not in result.stderr
