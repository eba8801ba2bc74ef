"""The daemon, on the embedded sandbox, detects and heals each fault and leaves health alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiops.config import load_config
from aiops.daemon import Daemon, RunOptions
from aiops.runbook.lifecycle import CLOSING_KINDS
from tests.e2e.sandbox_config import query, sandbox_config, world_state

TWO_AND_A_HALF_HOURS = 2.5 * 3600

EXPECTED = {  # fault -> (runbook, target, action that heals it)
    "cart-memory-leak": ("cart-memory-leak", "SandboxWorkload/shop/cart", "restart"),
    "checkout-bad-rollout": ("checkout-bad-rollout", "SandboxWorkload/shop/checkout", "rollback"),
    "frontend-traffic-surge": ("frontend-traffic-surge", "SandboxWorkload/shop/frontend", "scale"),
    "payments-crash-loop": ("payments-crash-loop", "SandboxWorkload/shop/payments", "restart"),
}


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("faulty")
    cfg = load_config(sandbox_config(tmp, forecast=True))  # exactly what `make run` runs
    Daemon(cfg, RunOptions(stepped=True, http=False)).run_stepped(
        TWO_AND_A_HALF_HOURS
    )
    return tmp


def test_every_fault_is_detected_and_healed_by_its_runbook(faulty_run: Path) -> None:
    """Each of the four faults gets one incident whose action healed it within two hours."""
    world = world_state(faulty_run)
    faults = {f["name"]: f for f in world["faults"]}
    assert set(faults) == set(EXPECTED)
    for name, (runbook, target, action) in EXPECTED.items():
        fault = faults[name]
        assert fault["healed_at"] is not None, f"{name} was never healed"
        assert fault["healed_at"] - world["created_at"] <= 2 * 3600
        healer = world["applied"][fault["healed_by"]]
        assert (healer["kind"], healer["target"]) == (action, target)
        incidents = query(
            faulty_run, "SELECT * FROM incidents WHERE runbook = ? AND target = ?", runbook, target
        )
        assert len(incidents) == 1, f"{name}: expected one incident, got {len(incidents)}"
        assert incidents[0]["status"] == "resolved"
        assert fault["healed_by"].startswith(incidents[0]["id"])


def test_each_incident_explains_signal_match_action_and_verification(faulty_run: Path) -> None:
    """The journal holds, per incident: the signal and score, why it matched, action, verify."""
    fault_runbooks = tuple(runbook for runbook, _, _ in EXPECTED.values())
    rows = query(faulty_run, "SELECT id, runbook FROM incidents")
    assert {r["runbook"] for r in rows} >= set(fault_runbooks)
    for inc in (r for r in rows if r["runbook"] in fault_runbooks):
        events = query(faulty_run, "SELECT kind, reason FROM events WHERE incident = ? ORDER BY id",
                       inc["id"])
        kinds = [e["kind"] for e in events]
        assert kinds[0] == "matched" and kinds[-1] in CLOSING_KINDS, kinds
        matched = events[0]["reason"]
        assert "score" in matched and "matched anomaly trigger" in matched
        assert any(e["kind"] == "action" and "done" in e["reason"] for e in events)
        assert any(e["kind"] == "verify" and "pass" in e["reason"] for e in events)


def test_no_remedial_action_on_the_healthy_workload_or_before_the_first_fault(
    faulty_run: Path,
) -> None:
    """Only the forecast touches catalog (no fault there); no fault runbook acts early."""
    world = world_state(faulty_run)
    first_fault = min(f["start"] for f in world["faults"])
    actions = query(
        faulty_run, "SELECT a.target, a.started_at, i.runbook FROM actions a "
        "JOIN incidents i ON i.id = a.incident WHERE i.runbook != 'catalog-predictive-scaling'"
    )
    assert len(actions) == len(EXPECTED)
    assert all("catalog" not in a["target"] for a in actions)
    assert all(a["started_at"] >= first_fault for a in actions)


def test_catalog_is_scaled_ahead_of_forecast_demand(faulty_run: Path) -> None:
    """The forecast loop scales catalog up where the forecast, not the reactive rule, asks."""
    incidents = query(
        faulty_run, "SELECT id, status, reasons FROM incidents "
        "WHERE runbook = 'catalog-predictive-scaling'"
    )
    assert incidents, "no predictive scaling in two and a half simulated hours"
    reasons = json.loads(incidents[0]["reasons"])
    assert reasons[0]["code"] == "matched"
    assert "matched forecast trigger" in reasons[0]["message"]
    assert "forecast adds" in reasons[0]["message"]
    done = query(faulty_run, "SELECT params FROM actions WHERE incident = ? AND status = 'done'",
                 incidents[0]["id"])
    assert len(done) == 1 and json.loads(done[0]["params"])["replicas"] > 4
    forecasts = query(faulty_run, "SELECT payload FROM signals WHERE kind = 'forecast'")
    assert len(forecasts) >= 100, "one journaled forecast per simulated minute"


def test_fault_free_stretch_triggers_nothing(tmp_path: Path) -> None:
    """Two and a half hours of the trace without faults: no incident, no action."""
    Daemon(
        load_config(sandbox_config(tmp_path, faults="none")), RunOptions(stepped=True, http=False)
    ).run_stepped(TWO_AND_A_HALF_HOURS)
    assert query(tmp_path, "SELECT id, runbook, target FROM incidents") == []
    assert query(tmp_path, "SELECT id FROM actions") == []
    assert json.loads((tmp_path / "state" / "sandbox.json").read_text())["applied"] == {}
