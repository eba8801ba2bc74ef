"""The journal's tables and their migrations (``PRAGMA user_version`` is the schema version).

Version 1: signals, incidents, events, actions. Version 2: ``signals.handled_at``, so
each alert is claimed by the engine exactly once. Version 3: the typed lifecycle:
reason codes on events and incidents, actions with a before-image and the ``unknown``
and ``retrying`` statuses, label sets stored once by hash (``blobs``), a ``meta`` table,
and the guards the database itself enforces: at most one incident holding a target
and at most one queued run per runbook and target (partial unique indexes), so two
writers racing for the same target cannot both win.

The file carries ``PRAGMA application_id`` = :data:`APPLICATION_ID` so a foreign SQLite
file is never mistaken for a journal.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 3
#: ``PRAGMA application_id`` of an aiops journal: the bytes "AIOP".
APPLICATION_ID = 0x41494F50
#: Statuses that hold their target (see :mod:`aiops.runbook.lifecycle`).
HOLDING = "('running', 'awaiting-approval', 'needs-attention')"

TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
    hash TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
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
"""

#: Columns added after version 1, as (table, column, definition).
ADDED = (
    ("signals", "handled_at", "REAL"),
    ("incidents", "close_code", "TEXT NOT NULL DEFAULT ''"),
    ("events", "code", "TEXT NOT NULL DEFAULT ''"),
    ("actions", "before_image", "TEXT NOT NULL DEFAULT '{}'"),
    ("actions", "attempts", "INTEGER NOT NULL DEFAULT 0"),
)

INDEXES = f"""
CREATE INDEX IF NOT EXISTS signals_fp ON signals (fingerprint, received_at);
CREATE INDEX IF NOT EXISTS signals_unhandled ON signals (kind) WHERE handled_at IS NULL;
CREATE INDEX IF NOT EXISTS incidents_target ON incidents (target, status);
CREATE INDEX IF NOT EXISTS incidents_rb ON incidents (runbook, target, opened_at);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (status, opened_at);
CREATE UNIQUE INDEX IF NOT EXISTS incidents_holding ON incidents (target)
    WHERE status IN {HOLDING};
CREATE UNIQUE INDEX IF NOT EXISTS incidents_queued ON incidents (runbook, target)
    WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS events_incident ON events (incident, id);
CREATE INDEX IF NOT EXISTS events_rb ON events (runbook, target, id);
CREATE INDEX IF NOT EXISTS actions_time ON actions (finished_at);
CREATE INDEX IF NOT EXISTS actions_incident ON actions (incident, step);
CREATE INDEX IF NOT EXISTS actions_status ON actions (status);
"""


def _statements(text: str) -> list[str]:
    return [s.strip() for s in text.split(";") if s.strip()]


def migrate(db: sqlite3.Connection, file: str) -> int:
    """Create or upgrade the tables (inside the caller's transaction); the old version.

    Raises :class:`ValueError` for a journal written by a newer aiops.
    """
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"schema version {version} is newer than this aiops understands ({SCHEMA_VERSION})")
    for stmt in _statements(TABLES):
        db.execute(stmt)
    for table, column, definition in ADDED:
        cols = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if column not in cols:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    for stmt in _statements(INDEXES):
        db.execute(stmt)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return version
