"""The SQLite journal: dedup, durability across reopen, incidents and timelines as JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from aiops.journal import Journal
from aiops.journal.ddl import SCHEMA_VERSION
from aiops.model import Decision, Outcome, OutcomeStatus, Plan, PlannedStep, Target
from tests.runbook.factories import alert, anomaly

T = Target(kind="SandboxWorkload", namespace="shop", name="cart")


def _plan() -> Plan:
    return Plan(runbook="leak", target=T, decision=Decision.RUN, reasons=("matched", "run"),
                steps=(PlannedStep(index=0, kind="restart", description="restart cart",
                                   verify={"metric": "memory_usage", "below": 1.0}),),
                labels={"workload": "cart"}, signal_key="anomaly:x")


def test_signals_are_deduplicated(tmp_path: Path) -> None:
    """The same dedup key is stored once; alerts count new vs duplicate in one call."""
    j = Journal(tmp_path / "j.sqlite")
    a = anomaly("memory_usage", "cart", t=10.0, since=5.0)
    assert j.record_signal(a, 10.0) is True
    assert j.record_signal(a, 11.0) is False
    f1 = alert("X", fingerprint="a")
    f2 = alert("X", fingerprint="b")
    assert j.record_alerts([f1, f2, f1], 12.0) == (2, 1)
    assert j.record_alerts([f1], 13.0) == (0, 1)
    assert j.firing_alerts() == frozenset({"X"})
    j.record_alerts([alert("X", fingerprint="a", status="resolved"),
                     alert("X", fingerprint="b", status="resolved")], 14.0)
    assert j.firing_alerts() == frozenset()


def test_survives_reopen_with_wal_and_full_sync(tmp_path: Path) -> None:
    """Incidents, events and actions written by one connection are read by the next."""
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    inc = j.open_incident(_plan(), now=100.0, status="running", mode="auto")
    j.add_event(t=100.0, kind="matched", reason="because", incident=inc.id, runbook="leak",
                target=str(T))
    j.action_started(action_id=f"{inc.id}:0", incident=inc.id, step=0, kind="restart", target=T,
                     params={}, dry_run=False, now=101.0)
    j.action_finished(f"{inc.id}:0", Outcome(action_id=f"{inc.id}:0", status=OutcomeStatus.DONE),
                      now=102.0)
    j.close()
    j2 = Journal(path)
    got = j2.incident(inc.id)
    assert got is not None and got.steps[0].verify == {"metric": "memory_usage", "below": 1.0}
    assert got.plan().decision is Decision.RUN
    assert [e.reason for e in j2.timeline(inc.id)] == ["because"]
    assert j2.changes_since(0.0) == 1 and j2.changes_since(101.5) == 0
    assert j2.running_on(T) == inc.id
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_incident_queries_and_json(tmp_path: Path) -> None:
    """Listing filters by status, newest first, and every view serializes to JSON."""
    j = Journal(tmp_path / "j.sqlite")
    a = j.open_incident(_plan(), now=1.0, status="running", mode="auto")
    b = j.open_incident(_plan(), now=2.0, status="running", mode="auto")
    j.update_incident(a.id, status="resolved", closed_at=3.0, acted=1)
    assert [i.id for i in j.incidents()] == [b.id, a.id]
    assert [i.id for i in j.incidents(status="open")] == [b.id]
    assert [i.id for i in j.incidents(status="resolved")] == [a.id]
    assert j.last_closed_at("leak", T) == 3.0
    assert j.run_starts("leak", T, since=0.0) == (1.0,)
    j.add_event(t=4.0, kind="closed", reason="ok", incident=a.id)
    doc = j.incident_json(a.id)
    assert doc is not None and doc["target"] == "SandboxWorkload/shop/cart"
    assert doc["timeline"][0]["kind"] == "closed"
    json.dumps(j.incidents_json(10, None))
    assert j.incident_json("nope") is None


def test_migrates_a_version_1_journal(tmp_path: Path) -> None:
    """A journal written by schema 1 (no handled_at) is upgraded in place, data kept."""
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE signals (id INTEGER PRIMARY KEY, dedup_key TEXT NOT NULL UNIQUE,"
               " kind TEXT NOT NULL, t REAL NOT NULL, received_at REAL NOT NULL, name TEXT NOT"
               " NULL DEFAULT '', fingerprint TEXT NOT NULL DEFAULT '', status TEXT NOT NULL"
               " DEFAULT '', labels TEXT NOT NULL, payload TEXT NOT NULL)")
    db.execute("INSERT INTO signals (dedup_key, kind, t, received_at, name, fingerprint, status,"
               " labels, payload) VALUES ('alert:f:s:firing', 'alert', 1, 1, 'X', 'f',"
               " 'firing', '{\"alertname\": \"X\"}', '{\"startsAt\": \"s\"}')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    j = Journal(path)
    lost = j.unhandled_alerts()
    assert [a.dedup_key for a in lost] == ["alert:f:s:firing"]
    assert j.claim_signal(lost[0], 2.0) is True and j.claim_signal(lost[0], 3.0) is False
    assert j.unhandled_alerts() == []


def test_prune_keeps_open_incidents_and_recent_history(tmp_path: Path) -> None:
    """Pruning drops finished incidents (with events/actions) and old signals, never open ones."""
    j = Journal(tmp_path / "j.sqlite")
    old = j.open_incident(_plan(), now=10.0, status="running", mode="auto")
    j.add_event(t=10.0, kind="matched", reason="x", incident=old.id)
    j.action_started(action_id=f"{old.id}:0", incident=old.id, step=0, kind="restart", target=T,
                     params={}, dry_run=False, now=11.0)
    j.update_incident(old.id, status="resolved", closed_at=20.0)
    still_open = j.open_incident(_plan(), now=15.0, status="running", mode="auto")
    recent = j.open_incident(_plan(), now=90.0, status="running", mode="auto")
    j.update_incident(recent.id, status="resolved", closed_at=95.0)
    j.record_signal(anomaly("memory_usage", "cart", t=5.0), 5.0)
    j.add_event(t=5.0, kind="skipped", reason="cooldown", runbook="leak")
    assert j.prune(before=50.0) == 5
    assert {i.id for i in j.incidents()} == {still_open.id, recent.id}
    assert j.action(f"{old.id}:0") is None and j.timeline(old.id) == []
    assert j.events() == []
    assert j.record_signal(anomaly("memory_usage", "cart", t=5.0), 60.0) is True
