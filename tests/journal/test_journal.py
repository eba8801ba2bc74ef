"""The SQLite journal: transactions, dedup, typed moves, guards in the database, durability."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from aiops.journal import ActionStatus, Journal, JournalUnusable, JournalWriteError
from aiops.journal.ddl import APPLICATION_ID, SCHEMA_VERSION
from aiops.model import (
    Decision,
    Outcome,
    OutcomeStatus,
    Plan,
    PlannedStep,
    Reason,
    ReasonCode,
    Target,
    VerifySpec,
)
from aiops.runbook.lifecycle import IllegalMove, Move, Phase, Status
from tests.runbook.factories import alert, anomaly

T = Target(kind="SandboxWorkload", namespace="shop", name="cart")
WHY = Reason(code=ReasonCode.MATCHED, message="because")


def _plan(signal_key: str = "anomaly:x", target: Target = T, runbook: str = "leak") -> Plan:
    return Plan(runbook=runbook, target=target, decision=Decision.RUN,
                reasons=(WHY, Reason(code=ReasonCode.MODE_AUTO, message="run")),
                steps=(PlannedStep(index=0, kind="restart", description="restart cart",
                                   verify=VerifySpec(metric="memory_usage", below=1.0)),),
                labels={"workload": "cart"}, signal_key=signal_key)


def _open(j: Journal, now: float, status: Status = Status.RUNNING, **kw: object):  # type: ignore[no-untyped-def]
    with j.transaction() as tx:
        return tx.open_incident(_plan(**kw), status=status, mode="auto", now=now)  # type: ignore[arg-type]


def test_signals_are_deduplicated_and_claimed_once(tmp_path: Path) -> None:
    """The same dedup key is stored once; a claim succeeds once; alerts count new vs dup."""
    j = Journal(tmp_path / "j.sqlite")
    f1, f2 = alert("X", fingerprint="a"), alert("X", fingerprint="b")
    assert j.record_alerts([f1, f2, f1], 12.0) == (2, 1)
    assert j.record_alerts([f1], 13.0) == (0, 1)
    assert [a.fingerprint for a in j.unhandled_alerts()] == ["a", "b"]
    with j.transaction() as tx:
        assert tx.claim(f1, 14.0) is True
        assert tx.claim(f1, 15.0) is False
    assert [a.fingerprint for a in j.unhandled_alerts()] == ["b"]
    assert j.firing_alerts() == frozenset({"X"})
    j.record_alerts([alert("X", fingerprint="a", status="resolved"),
                     alert("X", fingerprint="b", status="resolved")], 16.0)
    assert j.firing_alerts() == frozenset()


def test_a_failed_transaction_leaves_the_signal_unhandled(tmp_path: Path) -> None:
    """A claim rolled back by an error in the same transaction is not a claim."""
    j = Journal(tmp_path / "j.sqlite")
    a = alert("X", fingerprint="a")
    j.record_alerts([a], 1.0)
    with pytest.raises(RuntimeError), j.transaction() as tx:
        assert tx.claim(a, 2.0)
        raise RuntimeError("a template blew up while deciding")
    assert [x.fingerprint for x in j.unhandled_alerts()] == ["a"]


def test_survives_reopen_with_wal_and_full_sync(tmp_path: Path) -> None:
    """Incidents, events and actions written by one connection are read by the next."""
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    inc = _open(j, 100.0)
    assert inc is not None
    with j.transaction() as tx:
        tx.event(t=100.0, kind="matched", why=WHY, incident=inc.id, runbook="leak",
                 target=str(T))
        tx.action_started(action_id=f"{inc.id}:0", incident=inc.id, step=0, kind="restart",
                          target=T, params={}, dry_run=False, now=101.0, before={"replicas": 2})
    with j.transaction() as tx:
        tx.action_status(f"{inc.id}:0", ActionStatus.DONE, now=102.0, outcome=Outcome(
            action_id=f"{inc.id}:0", status=OutcomeStatus.DONE))
    j.close()
    j2 = Journal(path)
    got = j2.incident(inc.id)
    assert got is not None and got.steps[0].verify == VerifySpec(metric="memory_usage",
                                                                 below=1.0)
    assert got.plan().decision is Decision.RUN and got.reasons[0] == WHY
    assert [(e.code, e.reason) for e in j2.timeline(inc.id)] == [("matched", "because")]
    assert j2.changes_since(0.0) == 1 and j2.changes_since(101.5) == 0
    action = j2.action(f"{inc.id}:0")
    assert action is not None and action.before == {"replicas": 2}
    assert j2.holding(T) == inc.id
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_moves_follow_the_table_and_are_journaled(tmp_path: Path) -> None:
    """A move writes the new position and its reason; an illegal move changes nothing."""
    j = Journal(tmp_path / "j.sqlite")
    inc = _open(j, 1.0)
    assert inc is not None
    with j.transaction() as tx:
        inc = tx.move(inc, Move.APPLIED, WHY, now=2.0, acted=True)
    assert inc.phase is Phase.VERIFY and inc.acted
    done = Reason(code=ReasonCode.VERIFIED, message="verified")
    with j.transaction() as tx:
        closed = tx.move(inc, Move.RESOLVE, done, now=3.0)
    assert closed.status is Status.RESOLVED and closed.close_code == "verified"
    assert closed.closed_at == 3.0 and closed.phase is Phase.CLOSED
    with pytest.raises(IllegalMove), j.transaction() as tx:
        tx.move(closed, Move.APPROVE, WHY, now=4.0)
    with pytest.raises(IllegalMove), j.transaction() as tx:
        tx.move(inc, Move.NEXT, WHY, now=4.0)  # stale view: the incident moved on
    assert [e.kind for e in j.timeline(inc.id)] == ["applied", "resolved"]
    assert j.last_closed_at("leak", T) == 3.0


def test_the_database_lets_one_incident_hold_a_target(tmp_path: Path) -> None:
    """Two incidents racing for one target: the second open returns None (no double run)."""
    j = Journal(tmp_path / "j.sqlite")
    first = _open(j, 1.0, signal_key="anomaly:a")
    second = _open(j, 1.0, signal_key="anomaly:b")
    assert first is not None and second is None
    queued = _open(j, 1.0, Status.QUEUED, signal_key="anomaly:c")
    again = _open(j, 1.0, Status.QUEUED, signal_key="anomaly:d")
    assert queued is not None and again is None
    other = _open(j, 1.0, signal_key="anomaly:e", target=Target(kind="SandboxWorkload",
                                                                namespace="shop", name="web"))
    assert other is not None


def test_incident_queries_and_json(tmp_path: Path) -> None:
    """Listing filters by status and runbook, newest first, and every view serializes."""
    j = Journal(tmp_path / "j.sqlite")
    a = _open(j, 1.0, signal_key="anomaly:a")
    assert a is not None
    with j.transaction() as tx:
        tx.move(a, Move.RESOLVE, Reason(code=ReasonCode.VERIFIED, message="ok"), now=3.0,
                acted=True)
    b = _open(j, 2.0, signal_key="anomaly:b")
    assert b is not None
    assert [i.id for i in j.incidents()] == [b.id, a.id]
    assert [i.id for i in j.incidents(status="open")] == [b.id]
    assert [i.id for i in j.incidents(status="resolved")] == [a.id]
    assert j.incidents(runbook="other") == []
    assert j.run_starts("leak", T, since=0.0) == (1.0,)
    doc = j.incident_json(a.id)
    assert doc is not None and doc["target"] == "SandboxWorkload/shop/cart"
    assert doc["timeline"][0]["kind"] == "resolved" and doc["close_code"] == "verified"
    assert doc["reasons"][0] == {"code": "matched", "message": "because"}
    json.dumps(j.incidents_json(10, None))
    assert j.incident_json("nope") is None
    assert j.counts() == {"resolved": 1, "running": 1}


def test_started_actions_become_unknown_on_recovery(tmp_path: Path) -> None:
    """An action a dead process left 'started' is marked unknown, never assumed done."""
    j = Journal(tmp_path / "j.sqlite")
    inc = _open(j, 1.0)
    assert inc is not None
    with j.transaction() as tx:
        tx.action_started(action_id="a:0", incident=inc.id, step=0, kind="restart", target=T,
                          params={}, dry_run=False, now=1.0)
    with j.transaction() as tx:
        lost = tx.started_to_unknown()
    assert [a.id for a in lost] == ["a:0"]
    got = j.action("a:0")
    assert got is not None and got.status is ActionStatus.UNKNOWN


def test_large_labels_are_stored_once(tmp_path: Path) -> None:
    """A big label set is kept once (by hash), however many incidents it opens."""
    j = Journal(tmp_path / "j.sqlite")
    big = {"workload": "cart", "blob": "x" * 50_000}
    for i in range(5):
        with j.transaction() as tx:
            p = Plan(runbook=f"rb{i}", target=Target(kind="SandboxWorkload", name=f"w{i}"),
                     decision=Decision.RUN, reasons=(WHY,), labels=big, signal_key="alert:1")
            inc = tx.open_incident(p, status=Status.RUNNING, mode="auto", now=1.0)
            assert inc is not None and inc.labels == big
    size = sqlite3.connect(tmp_path / "j.sqlite").execute(
        "SELECT SUM(LENGTH(body)) FROM blobs").fetchone()[0]
    assert 50_000 < size < 60_000


def test_migrates_a_version_1_journal(tmp_path: Path) -> None:
    """A journal written by schema 1 (no handled_at, no application id) is upgraded."""
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
    with j.transaction() as tx:
        assert tx.claim(lost[0], 2.0) is True
    assert j.unhandled_alerts() == []


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "the file is empty (0 bytes)"),
    (b"garbage " * 100, "the file is not an SQLite database"),
])
def test_empty_or_foreign_files_are_refused(tmp_path: Path, content: bytes,
                                            problem: str) -> None:
    """An empty or non-SQLite file is refused with the file and the problem, never reset."""
    path = tmp_path / "journal.sqlite"
    path.write_bytes(content)
    with pytest.raises(JournalUnusable) as info:
        Journal(path)
    assert info.value.problem == problem
    assert str(path) in str(info.value) and "--new-journal" in str(info.value)
    assert path.read_bytes() == content  # untouched


def test_another_programs_database_and_a_truncated_journal_are_refused(tmp_path: Path) -> None:
    """A foreign SQLite file and a journal cut in half are refused, not reinitialised."""
    foreign = tmp_path / "foreign.sqlite"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(JournalUnusable, match="another program's SQLite database"):
        Journal(foreign)
    path = tmp_path / "journal.sqlite"
    j = Journal(path)
    j.record_alerts([alert("X", fingerprint=str(i), big="y" * 2000) for i in range(200)], 1.0)
    j.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])
    with pytest.raises(JournalUnusable, match=r"truncated|corrupt"):
        Journal(path)


def test_a_full_journal_fails_the_write_and_the_probe(tmp_path: Path) -> None:
    """When SQLite cannot grow the file, the write raises and keeps nothing half-written."""
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    j = Journal(path, max_page_count=pages + 2)
    with pytest.raises(JournalWriteError):
        j.probe(1.0)
    with pytest.raises(JournalWriteError):
        j.record_alerts([alert("X", fingerprint=str(i), big="z" * 3000) for i in range(50)],
                        1.0)
    assert j.unhandled_alerts() == [] and j.last_write_error


def test_prune_keeps_open_incidents_and_recent_history(tmp_path: Path) -> None:
    """Pruning drops finished incidents (with events/actions) and old signals, never open ones."""
    j = Journal(tmp_path / "j.sqlite")
    ok = Reason(code=ReasonCode.VERIFIED, message="ok")
    old = _open(j, 10.0, signal_key="anomaly:1")
    assert old is not None
    with j.transaction() as tx:
        tx.action_started(action_id=f"{old.id}:0", incident=old.id, step=0, kind="restart",
                          target=T, params={}, dry_run=False, now=11.0)
        tx.move(old, Move.RESOLVE, ok, now=20.0)
        tx.event(t=5.0, kind="skipped", why=WHY, runbook="leak")
        tx.mark_seen(anomaly("memory_usage", "cart", t=5.0), 5.0)
    still_open = _open(j, 15.0, signal_key="anomaly:2")
    recent = _open(j, 90.0, signal_key="anomaly:3",
                   target=Target(kind="SandboxWorkload", namespace="shop", name="web"))
    assert still_open is not None and recent is not None
    with j.transaction() as tx:
        tx.move(recent, Move.RESOLVE, ok, now=95.0)
    assert j.prune(before=50.0) == 5  # the incident, its event and action, a skip, a signal
    assert {i.id for i in j.incidents()} == {still_open.id, recent.id}
    assert j.action(f"{old.id}:0") is None and j.timeline(old.id) == []
    assert [e.kind for e in j.events()] == ["resolved"]
