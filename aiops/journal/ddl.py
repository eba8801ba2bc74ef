"""The journal's tables and their versioned migrations, one schema for both engines.

The DDL below is written once, in the SQL the engines share; a dialect renders the few
words that differ (PostgreSQL has ``DOUBLE PRECISION`` for ``REAL`` and identity
columns for ``INTEGER PRIMARY KEY``). Every applied version is a row of
``schema_migrations``; SQLite also keeps it in ``PRAGMA user_version`` beside its
``application_id``, as journals before the table did.

History. 1: signals, incidents, events, actions. 2: ``signals.handled_at`` (each alert
claimed once). 3: the typed lifecycle: reason codes, actions with a before-image and the
``unknown``/``retrying`` statuses, label sets stored once by hash (``blobs``), ``meta``,
and guards the database enforces itself: at most one incident holding a target and at
most one queued run per runbook and target (partial unique indexes). 4:
``schema_migrations``, ``actions.owner`` (which process started an action, so a replica
never takes over an action another live one is applying), the journal's name in
``meta``. 5: ``alert_state``, each alert fingerprint's latest status (kept by every
insert, so "which alerts are firing", read by every decision, costs the firing ones,
not the whole history), and indexes for the action-count guards. Versions 1 to 3 exist
only in SQLite files and are brought to 3 by the
converging :data:`BASELINE`; every later version is a :class:`Step`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiops.journal.backend import Schema

SCHEMA_VERSION = 5
#: ``PRAGMA application_id`` of an aiops SQLite journal: the bytes "AIOP".
APPLICATION_ID = 0x41494F50
#: ``meta.application`` of every journal (how a PostgreSQL schema is recognised).
APPLICATION = "aiops-journal"
#: Statuses that hold their target (see :mod:`aiops.runbook.lifecycle`).
HOLDING = "('running', 'awaiting-approval', 'needs-attention')"
#: The tables that hold the journal's history, parents first (export and import order).
TABLES = ("meta", "blobs", "signals", "incidents", "events", "actions")

BASELINE = """
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
    approver TEXT{insertion_order}
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

#: Columns added by versions 2 and 3, as (table, column, definition).
BASELINE_COLUMNS = (
    ("signals", "handled_at", "REAL"),
    ("incidents", "close_code", "TEXT NOT NULL DEFAULT ''"),
    ("events", "code", "TEXT NOT NULL DEFAULT ''"),
    ("actions", "before_image", "TEXT NOT NULL DEFAULT '{}'"),
    ("actions", "attempts", "INTEGER NOT NULL DEFAULT 0"),
)

BASELINE_INDEXES = f"""
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
CREATE INDEX IF NOT EXISTS actions_status ON actions (status)
"""

MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at REAL NOT NULL
)
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """One schema version: columns to add (if missing) and statements, run in order."""

    version: int
    description: str
    columns: tuple[tuple[str, str, str], ...] = ()
    statements: tuple[str, ...] = ()


#: Rebuilds ``alert_state`` from ``signals`` (migration 5, and after an import).
REBUILD_ALERT_STATE = (
    "DELETE FROM alert_state",
    "INSERT INTO alert_state (fingerprint, name, status, signal_id)"
    " SELECT s.fingerprint, s.name, s.status, s.id FROM signals s JOIN"
    " (SELECT fingerprint, MAX(id) AS id FROM signals WHERE kind = 'alert'"
    " GROUP BY fingerprint) l ON s.id = l.id WHERE s.kind = 'alert'",
)

STEPS: tuple[Step, ...] = (
    Step(version=4, description="schema_migrations; actions.owner; meta.application",
         columns=(("actions", "owner", "TEXT NOT NULL DEFAULT ''"),)),
    Step(version=5, description="alert_state; action indexes for the count guards",
         statements=(
             "CREATE TABLE IF NOT EXISTS alert_state (fingerprint TEXT PRIMARY KEY,"
             " name TEXT NOT NULL, status TEXT NOT NULL, signal_id BIGINT NOT NULL)",
             "CREATE INDEX IF NOT EXISTS alert_state_firing ON alert_state (name)"
             " WHERE status = 'firing'",
             *REBUILD_ALERT_STATE,
             "CREATE INDEX IF NOT EXISTS actions_started ON actions (started_at)",
             "CREATE INDEX IF NOT EXISTS actions_target ON actions (target, kind, started_at)",
         )),
)
assert STEPS[-1].version == SCHEMA_VERSION


class SchemaTooNew(ValueError):
    """The journal was written by a newer aiops; this one must not touch it."""

    def __init__(self, version: int) -> None:
        self.version = version
        super().__init__(f"schema version {version} is newer than this aiops understands "
                         f"({SCHEMA_VERSION}): upgrade aiops")


def statements(text: str) -> list[str]:
    """Split DDL on ``;`` (the DDL has no semicolons inside literals)."""
    return [s.strip() for s in text.split(";") if s.strip()]


def pending(version: int) -> list[Step]:
    """The steps a journal at ``version`` still needs; raises :class:`SchemaTooNew`.

    >>> pending(3)[0].version, pending(SCHEMA_VERSION)
    (4, [])
    """
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(version)
    return [s for s in STEPS if s.version > version]


def migrate(db: Schema, *, now: float | None = None) -> tuple[int, int]:
    """Bring the schema to :data:`SCHEMA_VERSION` inside the caller's transaction.

    Returns ``(version before, version after)``. An up-to-date journal is not written
    to. Idempotent: the baseline and every
    column check converge, so a migration interrupted in SQLite (or raced by a second
    replica in PostgreSQL, which takes a lock first) is simply run again.
    """
    old = db.schema_version()
    steps = pending(old)
    if not steps:
        return old, old  # up to date: no write (a least-privileged role may run here)
    when = time.time() if now is None else now
    db.ensure_namespace()
    db.execute(db.render(MIGRATIONS_TABLE))
    if old < 3:
        for stmt in statements(BASELINE):
            db.execute(db.render(stmt))
        _add_columns(db, BASELINE_COLUMNS)
        for stmt in statements(BASELINE_INDEXES):
            db.execute(stmt)
        _applied(db, 3, "baseline: signals, incidents, events, actions, blobs, meta", when)
    for step in steps:
        _add_columns(db, step.columns)
        for stmt in step.statements:
            db.execute(db.render(stmt))
        _applied(db, step.version, step.description, when)
    db.execute("INSERT INTO meta (key, value) VALUES ('application', ?) ON CONFLICT (key)"
               " DO UPDATE SET value = excluded.value", (APPLICATION,))
    db.stamp(SCHEMA_VERSION)
    return old, SCHEMA_VERSION


def _add_columns(db: Schema, columns: Sequence[tuple[str, str, str]]) -> None:
    for table, column, definition in columns:
        if column not in db.columns(table):
            db.execute(db.render(f"ALTER TABLE {table} ADD COLUMN {column} {definition}"))


def _applied(db: Schema, version: int, description: str, when: float) -> None:
    db.execute("INSERT INTO schema_migrations (version, description, applied_at)"
               " VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING",
               (version, description, when))
