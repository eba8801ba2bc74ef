"""The journal: SQLite (WAL, ``synchronous=FULL``) holding signals, incidents, timeline
events, actions and every guard's state, so a restart forgets nothing.

One connection shared by the daemon's threads behind a lock; every write is its own
transaction and is durable when the call returns (accepted webhooks included). The tables
are in :mod:`aiops.journal.ddl`, the row encoding in :mod:`aiops.journal.rows`.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiops.journal.ddl import migrate
from aiops.journal.rows import (
    action_from_row,
    alert_from_row,
    dumps,
    event_from_row,
    incident_from_row,
    outcome_json,
    signal_columns,
)
from aiops.journal.views import OPEN_STATUSES, ActionView, EventView, IncidentView, step_to_dict
from aiops.model import Alert, Outcome, Plan, Signal, Target

MUTATING = ("scale", "restart", "rollback", "delete_pod")


class Journal:
    """Everything that happened and why, in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    # -- plumbing ----------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._tx() as db:
            migrate(db, self.path)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, tuple(args)))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- signals -----------------------------------------------------------------------

    def _insert_signal(self, db: sqlite3.Connection, signal: Signal, now: float) -> bool:
        cur = db.execute(
            "INSERT OR IGNORE INTO signals (dedup_key, kind, t, received_at, name, fingerprint,"
            " status, labels, payload) VALUES (?,?,?,?,?,?,?,?,?)",
            signal_columns(signal, now),
        )
        return cur.rowcount == 1

    def record_signal(self, signal: Signal, now: float) -> bool:
        """Store a signal; ``False`` if one with the same dedup key was already stored."""
        with self._tx() as db:
            return self._insert_signal(db, signal, now)

    def record_alerts(self, alerts: Iterable[Alert], now: float) -> tuple[int, int]:
        """Store a webhook's alerts in one durable transaction: (new, duplicates)."""
        new = dup = 0
        with self._tx() as db:
            for a in alerts:
                if self._insert_signal(db, a, now):
                    new += 1
                else:
                    dup += 1
        return new, dup

    def record_new_alerts(self, alerts: Iterable[Alert], now: float) -> list[Alert]:
        """Like :meth:`record_alerts` (one durable transaction) but return the new alerts."""
        with self._tx() as db:
            return [a for a in alerts if self._insert_signal(db, a, now)]

    def claim_signal(self, signal: Signal, now: float) -> bool:
        """Store ``signal`` if new and mark it handled; ``False`` if it was handled before.

        The webhook stores alerts durably before answering Alertmanager; the engine then
        claims each one exactly once, whichever path (hand-off or recovery) sees it first.
        """
        with self._tx() as db:
            self._insert_signal(db, signal, now)
            cur = db.execute(
                "UPDATE signals SET handled_at = ? WHERE dedup_key = ? AND handled_at IS NULL",
                (now, signal.dedup_key),
            )
            return cur.rowcount == 1

    def unhandled_alerts(self, limit: int = 1000) -> list[Alert]:
        """Alerts stored (e.g. by the webhook) that the engine has not claimed yet."""
        rows = self._query(
            "SELECT * FROM signals WHERE kind = 'alert' AND handled_at IS NULL ORDER BY id"
            " LIMIT ?", (limit,))
        return [alert_from_row(r) for r in rows]

    def firing_alerts(self) -> frozenset[str]:
        """Alertnames whose latest recorded status (per fingerprint) is firing."""
        rows = self._query(
            "SELECT s.name, s.status FROM signals s JOIN (SELECT fingerprint, MAX(id) AS id"
            " FROM signals WHERE kind='alert' GROUP BY fingerprint) l ON s.id = l.id"
        )
        return frozenset(r["name"] for r in rows if r["status"] == "firing")

    # -- incidents ---------------------------------------------------------------------

    def open_incident(self, plan: Plan, *, now: float, status: str, mode: str) -> IncidentView:
        """Start an incident that runs ``plan`` (status running or awaiting-approval)."""
        t = plan.target
        with self._tx() as db:
            iid = _incident_id(db, plan)
            db.execute(
                "INSERT INTO incidents (id, runbook, target, target_kind, target_namespace,"
                " target_name, status, mode, opened_at, phase_since, signal_key, labels,"
                " reasons, steps) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (iid, plan.runbook, str(t), t.kind, t.namespace, t.name, status, mode, now, now,
                 plan.signal_key, dumps(dict(plan.labels)), dumps(list(plan.reasons)),
                 dumps([step_to_dict(s) for s in plan.steps])),
            )
        got = self.incident(iid)
        assert got is not None
        return got

    def update_incident(self, incident_id: str, **fields: Any) -> None:
        """Set columns of an incident (status, step, phase, phase_since, attempts, ...)."""
        allowed = {"status", "closed_at", "step", "phase", "phase_since", "attempts",
                   "next_try_at", "acted", "approval_expires_at", "approver"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"cannot update {sorted(bad)}")
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            db.execute(f"UPDATE incidents SET {cols} WHERE id = ?", (*fields.values(), incident_id))

    def incident(self, incident_id: str) -> IncidentView | None:
        rows = self._query("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        return incident_from_row(rows[0]) if rows else None

    def incidents(self, limit: int = 100, status: str | None = None) -> list[IncidentView]:
        """Most recent incidents first; ``status='open'`` selects the unfinished ones."""
        if status == "open":
            rows = self._query(
                "SELECT * FROM incidents WHERE status IN (?, ?) ORDER BY opened_at DESC, rowid"
                " DESC LIMIT ?", (*OPEN_STATUSES, limit))
        elif status is not None:
            rows = self._query(
                "SELECT * FROM incidents WHERE status = ? ORDER BY opened_at DESC, rowid DESC"
                " LIMIT ?", (status, limit))
        else:
            rows = self._query(
                "SELECT * FROM incidents ORDER BY opened_at DESC, rowid DESC LIMIT ?", (limit,))
        return [incident_from_row(r) for r in rows]

    def open_incidents(self) -> list[IncidentView]:
        """Unfinished incidents, oldest first (the order the engine advances them)."""
        rows = self._query(
            "SELECT * FROM incidents WHERE status IN (?, ?) ORDER BY opened_at, rowid",
            OPEN_STATUSES)
        return [incident_from_row(r) for r in rows]

    def running_on(self, target: Target) -> str | None:
        """Id of an open incident on ``target`` (any runbook), if any."""
        rows = self._query(
            "SELECT id FROM incidents WHERE target = ? AND status IN (?, ?) LIMIT 1",
            (str(target), *OPEN_STATUSES))
        return str(rows[0]["id"]) if rows else None

    def last_closed_at(self, runbook: str, target: Target) -> float | None:
        """When this runbook's last run on ``target`` that really acted ended."""
        rows = self._query(
            "SELECT MAX(closed_at) AS c FROM incidents WHERE runbook = ? AND target = ?"
            " AND closed_at IS NOT NULL AND acted = 1", (runbook, str(target)))
        c = rows[0]["c"] if rows else None
        return float(c) if c is not None else None

    def run_starts(self, runbook: str, target: Target, since: float) -> tuple[float, ...]:
        """Start times of this runbook's runs on ``target`` since ``since`` that acted."""
        rows = self._query(
            "SELECT opened_at FROM incidents WHERE runbook = ? AND target = ? AND acted = 1"
            " AND opened_at > ? ORDER BY opened_at", (runbook, str(target), since))
        return tuple(float(r["opened_at"]) for r in rows)

    # -- events ------------------------------------------------------------------------

    def add_event(
        self, *, t: float, kind: str, reason: str, incident: str | None = None,
        runbook: str = "", target: str = "", detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Append a timeline event; returns its id."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO events (t, incident, runbook, target, kind, reason, detail)"
                " VALUES (?,?,?,?,?,?,?)",
                (t, incident, runbook, target, kind, reason, dumps(dict(detail or {}))),
            )
            return int(cur.lastrowid or 0)

    def timeline(self, incident_id: str) -> list[EventView]:
        """Every event of one incident, in order."""
        rows = self._query("SELECT * FROM events WHERE incident = ? ORDER BY id", (incident_id,))
        return [event_from_row(r) for r in rows]

    def events(self, limit: int = 200) -> list[EventView]:
        """Most recent events of all incidents and decisions, newest first."""
        rows = self._query("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,))
        return [event_from_row(r) for r in rows]

    def last_event(self, runbook: str, target: str) -> EventView | None:
        rows = self._query(
            "SELECT * FROM events WHERE runbook = ? AND target = ? ORDER BY id DESC LIMIT 1",
            (runbook, target))
        return event_from_row(rows[0]) if rows else None

    # -- actions -----------------------------------------------------------------------

    def action(self, action_id: str) -> ActionView | None:
        rows = self._query("SELECT * FROM actions WHERE id = ?", (action_id,))
        if not rows:
            return None
        return action_from_row(rows[0])

    def action_started(
        self, *, action_id: str, incident: str, step: int, kind: str, target: Target,
        params: Mapping[str, Any], dry_run: bool, now: float,
    ) -> None:
        """Durably note an action is about to be applied (before ``apply`` is called)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO actions (id, incident, step, kind, target, status, dry_run,"
                " started_at, params) VALUES (?,?,?,?,?,'started',?,?,?) ON CONFLICT(id) DO"
                " UPDATE SET params = excluded.params",
                (action_id, incident, step, kind, str(target), int(dry_run), now,
                 dumps(dict(params))),
            )

    def action_finished(self, action_id: str, outcome: Outcome, *, now: float) -> None:
        """Record an action's outcome (done if ``outcome.ok``, failed otherwise)."""
        status = "done" if outcome.ok else "failed"
        with self._tx() as db:
            db.execute(
                "UPDATE actions SET status = ?, finished_at = ?, outcome = ? WHERE id = ?",
                (status, now, outcome_json(outcome), action_id),
            )

    def actions_since(self, target: Target, kind: str, since: float) -> int:
        """Actions of ``kind`` really applied to ``target`` since ``since``."""
        rows = self._query(
            "SELECT COUNT(*) AS n FROM actions WHERE status = 'done' AND dry_run = 0"
            " AND target = ? AND kind = ? AND started_at > ?", (str(target), kind, since))
        return int(rows[0]["n"])

    def changes_since(self, since: float) -> int:
        """Mutating actions really applied (not dry-run) since ``since``, all runbooks."""
        marks = ",".join("?" * len(MUTATING))
        rows = self._query(
            f"SELECT COUNT(*) AS n FROM actions WHERE status = 'done' AND dry_run = 0"
            f" AND started_at > ? AND kind IN ({marks})", (since, *MUTATING))
        return int(rows[0]["n"])

    # -- retention ---------------------------------------------------------------------

    def prune(self, before: float) -> int:
        """Forget what finished before ``before``: closed incidents with their events and
        actions, handled signals, free-standing events. Open incidents are always kept.
        Returns the number of rows deleted."""
        with self._tx() as db:
            old = "SELECT id FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?"
            n = db.execute(f"DELETE FROM events WHERE incident IN ({old})", (before,)).rowcount
            n += db.execute(f"DELETE FROM actions WHERE incident IN ({old})", (before,)).rowcount
            n += db.execute("DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?",
                            (before,)).rowcount
            n += db.execute("DELETE FROM events WHERE incident IS NULL AND t < ?",
                            (before,)).rowcount
            n += db.execute(
                "DELETE FROM signals WHERE received_at < ? AND (kind != 'alert' OR handled_at"
                " IS NOT NULL)", (before,)).rowcount
        return n

    # -- JSON for the HTTP API and the CLI ---------------------------------------------

    def incidents_json(self, limit: int, status: str | None) -> list[dict[str, Any]]:
        return [i.to_dict() for i in self.incidents(limit=limit, status=status)]

    def incident_json(self, incident_id: str) -> dict[str, Any] | None:
        inc = self.incident(incident_id)
        if inc is None:
            return None
        d = inc.to_dict()
        d["timeline"] = [e.to_dict() for e in self.timeline(incident_id)]
        rows = self._query("SELECT id FROM actions WHERE incident = ? ORDER BY step", (inc.id,))
        d["actions"] = [a.to_dict() for r in rows if (a := self.action(r["id"])) is not None]
        return d


def _incident_id(db: sqlite3.Connection, plan: Plan) -> str:
    """A deterministic id: replicas that see the same signal name the incident alike.

    Derived from the runbook, target and signal, so a standby taking over the Lease
    computes the same incident, hence the same action ids, and idempotent actuators turn
    a repeat into a no-op. A later incident from the same signal gets a numbered suffix.
    """
    if not plan.signal_key:
        return "inc-" + uuid.uuid4().hex[:10]
    digest = hashlib.sha256(f"{plan.runbook}|{plan.target}|{plan.signal_key}".encode())
    base = "inc-" + digest.hexdigest()[:10]
    iid, n = base, 1
    while db.execute("SELECT 1 FROM incidents WHERE id = ?", (iid,)).fetchone():
        n += 1
        iid = f"{base}-{n}"
    return iid
