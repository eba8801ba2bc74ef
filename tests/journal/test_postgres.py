"""The PostgreSQL journal: shared by processes, guarded by keys and locks, live owners known.

Every ``db.journal()`` is a new connection, i.e. another replica.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from aiops.journal import ActionStatus, Journal, JournalUnusable, JournalWriteError
from aiops.journal.connect import postgres_backend
from aiops.journal.ddl import SCHEMA_VERSION
from aiops.model import Target
from tests.realservers.postgres import PgDatabase

T = Target(kind="Deployment", namespace="shop", name="web")


def _start(j: object, action_id: str = "inc-1:0") -> bool:
    with j.transaction() as tx:  # type: ignore[attr-defined]
        ours: bool = tx.action_started(action_id=action_id, incident="inc-1", step=0,
                                       kind="restart", target=T, params={}, dry_run=False,
                                       now=1.0)
    return ours


def test_an_action_is_started_by_one_replica_only(pg_db: PgDatabase) -> None:
    """Two replicas starting one action id: the first wins, the second is told no."""
    a, b = pg_db.journal(), pg_db.journal()
    assert _start(a) is True
    assert _start(b) is False and _start(a) is False
    got = b.action("inc-1:0")
    assert got is not None and got.owner == a.owner and got.status is ActionStatus.STARTED
    with a.transaction() as tx:  # a temporary failure: the action waits for a retry
        tx.action_status("inc-1:0", ActionStatus.RETRYING)
    assert [_start(b), _start(a)] == [True, False]  # one replica takes the retry over
    got = a.action("inc-1:0")
    assert got is not None and got.owner == b.owner


def test_a_started_action_is_orphaned_only_when_its_replica_is_gone(pg_db: PgDatabase) -> None:
    """While its starter's connection lives an action is nobody else's; after, it is lost."""
    a, b = pg_db.journal(), pg_db.journal()
    _start(a)
    started = b.action("inc-1:0")
    assert started is not None and b.orphaned(started) is False
    with b.transaction() as tx:
        assert tx.started_to_unknown() == []  # a live replica's action is left alone
    a.close()  # the replica dies: its session, and its liveness lock, go with it
    _poll(lambda: b.orphaned(started), "the dead replica's action to be orphaned")
    with b.transaction() as tx:
        assert [x.id for x in tx.started_to_unknown()] == ["inc-1:0"]
    unknown = b.action("inc-1:0")
    assert unknown is not None and unknown.status is ActionStatus.UNKNOWN
    c = pg_db.journal()
    with b.transaction() as tx:
        assert tx.take_over(unknown) is True
    with c.transaction() as tx:
        assert tx.take_over(unknown) is False  # b reconciles it; c keeps off
    got = c.action("inc-1:0")
    assert got is not None and got.owner == b.owner and got.status is ActionStatus.STARTED


def _poll(predicate: Callable[[], bool], what: str) -> None:
    """Wait for the server to notice (a backend exits a moment after its client)."""
    deadline = time.monotonic() + 30
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_target_lock_waits_for_the_other_replica(pg_db: PgDatabase) -> None:
    """While one replica holds a target's lock in a transaction, another waits for it."""
    a, b = pg_db.journal(), pg_db.journal()
    acquired = threading.Event()
    with a.transaction() as tx:
        tx.lock_targets([T])

        def other() -> None:
            with b.transaction() as tx_b:
                tx_b.lock_targets([T])
                acquired.set()

        thread = threading.Thread(target=other)
        thread.start()
        _wait_for_lock_wait(pg_db)
        assert not acquired.is_set()
    thread.join(timeout=30)
    assert acquired.is_set()


def _wait_for_lock_wait(db: PgDatabase) -> None:
    """Poll until some session of this database is waiting on an advisory lock."""
    deadline = time.monotonic() + 30
    with psycopg.connect(db.dsn, autocommit=True) as admin:
        while time.monotonic() < deadline:
            row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                                " AND wait_event_type = 'Lock' AND wait_event = 'advisory'",
                                (db.name,)).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.02)
    raise AssertionError("no session ever waited for the advisory lock")


def test_schema_is_versioned_and_a_newer_one_refused(pg_db: PgDatabase) -> None:
    """Migrations are recorded; a journal from a newer aiops is refused in one line."""
    j = pg_db.journal()
    assert j.migrated_from == 0
    rows = j._rows("SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == list(range(3, SCHEMA_VERSION + 1))
    assert pg_db.journal().migrated_from == SCHEMA_VERSION  # nothing left to do
    with j.transaction() as tx:
        tx._x("INSERT INTO schema_migrations (version, description, applied_at)"
              " VALUES (99, 'from the future', 0)")
    with pytest.raises(JournalUnusable) as info:
        pg_db.journal()
    assert "schema version 99 is newer than this aiops understands" in str(info.value)
    assert "\n" not in str(info.value) and pg_db.name in str(info.value)


def test_manual_migration_is_required_when_configured(pg_db: PgDatabase) -> None:
    """With journal.migrate: manual an empty database is refused, naming the command."""
    with pytest.raises(JournalUnusable) as info:
        pg_db.journal(migrate="manual")
    assert "aiops journal migrate" in str(info.value)
    assert info.value.problem == "it holds no journal yet"
    pg_db.journal()  # journal.migrate: startup (the default) migrates
    assert pg_db.journal(migrate="manual").migrated_from == SCHEMA_VERSION


def test_another_programs_tables_are_refused(pg_db: PgDatabase) -> None:
    """A schema holding somebody else's tables is never taken for (or turned into) a journal."""
    with psycopg.connect(pg_db.dsn, autocommit=True) as admin:
        admin.execute("CREATE SCHEMA aiops")
        admin.execute("CREATE TABLE aiops.orders (id int)")
    with pytest.raises(JournalUnusable, match="another program's tables"):
        pg_db.journal()
    with psycopg.connect(pg_db.dsn) as admin:
        tables = admin.execute("SELECT table_name FROM information_schema.tables"
                               " WHERE table_schema = 'aiops'").fetchall()
    assert tables == [("orders",)]


def test_a_wrong_password_is_refused_in_one_line(pg_db: PgDatabase, tmp_path: Path) -> None:
    """Bad credentials refuse to start with the URL (never the password) and the cause."""
    bad = tmp_path / "pw"
    bad.write_text("not-the-password\n")
    cfg = pg_db.config(password_file=str(bad))
    with pytest.raises(JournalUnusable) as info:
        Journal(backend=postgres_backend(cfg, Path("/")))
    text = str(info.value)
    assert "password authentication failed" in text and pg_db.url in text
    assert "not-the-password" not in text and "\n" not in text


def test_a_lost_connection_fails_one_write_then_reconnects(pg_db: PgDatabase) -> None:
    """The server ending our session fails the probe (temporary), the next one reconnects."""
    j = pg_db.journal()
    j.probe(1.0)
    with psycopg.connect(pg_db.dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE datname = %s AND pid <> pg_backend_pid()", (pg_db.name,))
    with pytest.raises(JournalWriteError):
        j.probe(2.0)
    j.probe(3.0)
    assert j.counts() == {}
