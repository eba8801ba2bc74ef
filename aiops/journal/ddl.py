"""The journal's tables and their migrations (``PRAGMA user_version`` is the schema version).

Version 1: signals, incidents, events, actions. Version 2: ``signals.handled_at``, so
each alert is claimed by the engine exactly once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY,
    dedup_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    t REAL NOT NULL,
    received_at REAL NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL,
    payload TEXT NOT NULL,
    handled_at REAL
);
CREATE INDEX IF NOT EXISTS signals_fp ON signals (fingerprint, received_at);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    runbook TEXT NOT NULL,
    target TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_namespace TEXT NOT NULL,
    target_name TEXT NOT NULL,
    status TEXT NOT NULL,
    mode TEXT NOT NULL,
    opened_at REAL NOT NULL,
    closed_at REAL,
    step INTEGER NOT NULL DEFAULT 0,
    phase TEXT NOT NULL DEFAULT 'apply',
    phase_since REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_at REAL,
    acted INTEGER NOT NULL DEFAULT 0,
    signal_key TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '{}',
    reasons TEXT NOT NULL DEFAULT '[]',
    steps TEXT NOT NULL DEFAULT '[]',
    approval_expires_at REAL,
    approver TEXT
);
CREATE INDEX IF NOT EXISTS incidents_target ON incidents (target, status);
CREATE INDEX IF NOT EXISTS incidents_rb ON incidents (runbook, target, opened_at);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    incident TEXT,
    runbook TEXT NOT NULL DEFAULT '',
    target TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_incident ON events (incident, id);
CREATE INDEX IF NOT EXISTS events_rb ON events (runbook, target, id);
CREATE TABLE IF NOT EXISTS actions (
    id TEXT PRIMARY KEY,
    incident TEXT NOT NULL,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    params TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS actions_time ON actions (finished_at);
"""


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Create or upgrade the tables in ``db`` (inside the caller's transaction)."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"journal {path} has schema {version}, newer than {SCHEMA_VERSION}")
    for stmt in _SCHEMA.split(";"):
        if stmt.strip():
            db.execute(stmt)
    cols = {r[1] for r in db.execute("PRAGMA table_info(signals)")}
    if "handled_at" not in cols:  # v1 -> v2
        db.execute("ALTER TABLE signals ADD COLUMN handled_at REAL")
    db.execute("CREATE INDEX IF NOT EXISTS signals_unhandled ON signals (kind)"
               " WHERE handled_at IS NULL")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
