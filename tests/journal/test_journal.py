"""The journal contract, on SQLite and on a real PostgreSQL: transactions, dedup, typed
moves, guards in the database, durability. (Engine-specific checks: test_sqlite_file.py,
test_postgres.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aiops.journal import ActionStatus, Journal
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


Opener = Callable[[], Journal]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens a new connection (as a new process would) to one journal of each engine."""
    if request.param == "sqlite":
        return lambda: Journal(tmp_path / "j.sqlite")
    db = request.getfixturevalue("pg_db")
    return db.journal  # type: ignore[no-any-return]


def _open(j: Journal, now: float, status: Status = Status.RUNNING, **kw: object):  # type: ignore[no-untyped-def]
    with j.transaction() as tx:
        return tx.open_incident(_plan(**kw), status=status, mode="auto", now=now)  # type: ignore[arg-type]


def test_signals_are_deduplicated_and_claimed_once(opener: Opener) -> None:
    """The same dedup key is stored once; a claim succeeds once; alerts count new vs dup."""
    j = opener()
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


def test_a_failed_transaction_leaves_the_signal_unhandled(opener: Opener) -> None:
    """A claim rolled back by an error in the same transaction is not a claim."""
    j = opener()
    a = alert("X", fingerprint="a")
    j.record_alerts([a], 1.0)
    with pytest.raises(RuntimeError), j.transaction() as tx:
        assert tx.claim(a, 2.0)
        raise RuntimeError("a template blew up while deciding")
    assert [x.fingerprint for x in j.unhandled_alerts()] == ["a"]


def test_survives_reopen(opener: Opener) -> None:
    """Incidents, events and actions written by one connection are read by the next."""
    j = opener()
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
    j2 = opener()
    got = j2.incident(inc.id)
    assert got is not None and got.steps[0].verify == VerifySpec(metric="memory_usage",
                                                                 below=1.0)
    assert got.plan().decision is Decision.RUN and got.reasons[0] == WHY
    assert [(e.code, e.reason) for e in j2.timeline(inc.id)] == [("matched", "because")]
    assert j2.changes_since(0.0) == 1 and j2.changes_since(101.5) == 0
    action = j2.action(f"{inc.id}:0")
    assert action is not None and action.before == {"replicas": 2}
    assert j2.holding(T) == inc.id


def test_moves_follow_the_table_and_are_journaled(opener: Opener) -> None:
    """A move writes the new position and its reason; an illegal move changes nothing."""
    j = opener()
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


def test_the_database_lets_one_incident_hold_a_target(opener: Opener) -> None:
    """Two incidents racing for one target: the second open returns None (no double run)."""
    j = opener()
    first = _open(j, 1.0, signal_key="anomaly:a")
    second = _open(j, 1.0, signal_key="anomaly:b")
    assert first is not None and second is None
    queued = _open(j, 1.0, Status.QUEUED, signal_key="anomaly:c")
    again = _open(j, 1.0, Status.QUEUED, signal_key="anomaly:d")
    assert queued is not None and again is None
    other = _open(j, 1.0, signal_key="anomaly:e", target=Target(kind="SandboxWorkload",
                                                                namespace="shop", name="web"))
    assert other is not None


def test_incident_queries_and_json(opener: Opener) -> None:
    """Listing filters by status and runbook, newest first, and every view serializes."""
    j = opener()
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


def test_started_actions_become_unknown_on_recovery(opener: Opener) -> None:
    """An action a dead process left 'started' is marked unknown, never assumed done."""
    j = opener()
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


def test_large_labels_are_stored_once(opener: Opener) -> None:
    """A big label set is kept once (by hash), however many incidents it opens."""
    j = opener()
    big = {"workload": "cart", "blob": "x" * 50_000}
    for i in range(5):
        with j.transaction() as tx:
            p = Plan(runbook=f"rb{i}", target=Target(kind="SandboxWorkload", name=f"w{i}"),
                     decision=Decision.RUN, reasons=(WHY,), labels=big, signal_key="alert:1")
            inc = tx.open_incident(p, status=Status.RUNNING, mode="auto", now=1.0)
            assert inc is not None and inc.labels == big
    size = j._rows("SELECT SUM(LENGTH(body)) AS n FROM blobs")[0]["n"]
    assert 50_000 < size < 60_000


def test_prune_keeps_open_incidents_and_recent_history(opener: Opener) -> None:
    """Pruning drops finished incidents (with events/actions) and old signals, never open ones."""
    j = opener()
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
