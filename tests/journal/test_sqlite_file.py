"""The SQLite journal file: WAL and full sync, legacy schemas upgraded, empty, foreign,
truncated and full files refused or failed loudly, never silently reset."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aiops.journal import Journal, JournalUnusable, JournalWriteError
from aiops.journal.ddl import APPLICATION_ID, SCHEMA_VERSION
from tests.runbook.factories import alert


def test_a_new_file_is_wal_full_sync_and_stamped(tmp_path: Path) -> None:
    """A new journal is in WAL mode, carries the schema version and aiops' application id."""
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == list(range(3, SCHEMA_VERSION + 1))


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




def test_a_version_4_journal_is_migrated_and_its_alert_state_rebuilt(tmp_path: Path) -> None:
    """Step 5 runs on a schema-4 file: alert_state is built from the stored alerts."""
    path = tmp_path / "j.sqlite"
    j = Journal(path)
    j.record_alerts([alert("A", fingerprint="1"), alert("B", fingerprint="2"),
                     alert("B", fingerprint="2", status="resolved")], 1.0)
    j.close()
    with sqlite3.connect(path) as db:  # back to what schema 4 wrote
        db.execute("DROP TABLE alert_state")
        db.execute("DELETE FROM schema_migrations WHERE version = 5")
        db.execute("PRAGMA user_version = 4")
    again = Journal(path)
    assert again.migrated_from == 4 and again.firing_alerts() == frozenset({"A"})
    again.record_alerts([alert("A", fingerprint="1", status="resolved")], 2.0)
    assert again.firing_alerts() == frozenset()
