"""The journal's row codec: values written as columns read back as the same values."""

from __future__ import annotations

import sqlite3

from aiops.journal.ddl import migrate
from aiops.journal.rows import alert_from_row, signal_columns, signal_payload
from aiops.journal.sqlite import SqliteBackend
from tests.runbook.factories import alert, anomaly


def _db() -> SqliteBackend:
    db = SqliteBackend(":memory:")
    migrate(db)
    return db


def _insert(db: SqliteBackend, columns: tuple[object, ...]) -> sqlite3.Row:
    db.execute(
        "INSERT INTO signals (dedup_key, kind, t, received_at, name, fingerprint, status,"
        " labels, payload) VALUES (?,?,?,?,?,?,?,?,?)", columns)
    row: sqlite3.Row = db.execute("SELECT * FROM signals ORDER BY id DESC LIMIT 1").fetchone()
    return row


def test_alert_round_trips_through_its_row() -> None:
    """An alert stored as signal columns is read back equal to itself."""
    a = alert("DiskFull", fingerprint="f1", status="resolved")
    row = _insert(_db(), signal_columns(a, now=99.0))
    assert row["name"] == "DiskFull" and row["received_at"] == 99.0
    assert alert_from_row(row, lambda h: "{}") == a


def test_anomaly_row_names_its_metric_and_keeps_its_evidence() -> None:
    """An anomaly's row is named for its metric and its payload keeps score and window."""
    s = anomaly("memory_usage", "cart", t=10.0, since=5.0)
    row = _insert(_db(), signal_columns(s, now=11.0))
    assert row["name"] == "memory_usage" and row["fingerprint"] == ""
    payload = signal_payload(s)
    assert payload["since"] == 5.0 and payload["score"] == s.score.score
