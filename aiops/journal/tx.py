"""One journal transaction: the only way anything is written to the journal.

A :class:`Tx` is handed out by :meth:`aiops.journal.Journal.transaction`; everything
written through it commits together or not at all. That is how the engine keeps its
promises: a signal is marked handled in the transaction that records its decision, an
incident's move is written with the facts that caused it (an action's outcome, an
approval, a resolved alert), and a crash between two transactions leaves the journal at
one of them, never between.

Incident moves go through :func:`aiops.runbook.lifecycle.advance` (the one transition
table) and are conditional on the status they were computed from, so two writers
racing on one incident cannot both move it: the second gets
:class:`aiops.runbook.lifecycle.IllegalMove`.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from aiops.journal.rows import (
    action_from_row,
    blob_ref,
    dumps,
    event_from_row,
    incident_from_row,
    outcome_json,
    read_json,
    signal_columns,
)
from aiops.journal.views import ActionStatus, ActionView, EventView, IncidentView, step_to_dict
from aiops.model import Alert, Outcome, Plan, Signal, Target
from aiops.reasons import Reason
from aiops.runbook.lifecycle import IllegalMove, Move, Status, advance, opened


class Tx:
    """Writes (and the reads they depend on) inside one journal transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    # -- plumbing ----------------------------------------------------------------------

    def _x(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, tuple(args))

    def _blob(self, digest: str) -> str:
        row = self._x("SELECT body FROM blobs WHERE hash = ?", (digest,)).fetchone()
        return str(row["body"]) if row is not None else "{}"

    def _store_json(self, text: str) -> str:
        value, digest = blob_ref(text)
        if digest is not None:
            self._x("INSERT INTO blobs (hash, body) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (digest, text))
        return value

    # -- signals -----------------------------------------------------------------------

    def insert_signal(self, signal: Signal, now: float) -> bool:
        """Store ``signal`` unless its dedup key is known; True if it was new."""
        cols = list(signal_columns(signal, now))
        cols[7] = self._store_json(cols[7])  # labels
        cur = self._x(
            "INSERT INTO signals (dedup_key, kind, t, received_at, name, fingerprint, status,"
            " labels, payload) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", cols)
        return cur.rowcount == 1

    def record_alerts(self, alerts: Iterable[Alert], now: float) -> list[Alert]:
        """Store a webhook's alerts; the ones not seen before."""
        return [a for a in alerts if self.insert_signal(a, now)]

    def claim(self, signal: Signal, now: float) -> bool:
        """Store ``signal`` if new and mark it handled; False if it was handled before.

        Commits only with the decision that handles it (same transaction).
        """
        self.insert_signal(signal, now)
        cur = self._x(
            "UPDATE signals SET handled_at = ? WHERE dedup_key = ? AND handled_at IS NULL",
            (now, signal.dedup_key))
        return cur.rowcount == 1

    def mark_seen(self, signal: Signal, now: float) -> None:
        """Store and mark handled a signal that is re-evaluated every cycle (anomalies)."""
        self.insert_signal(signal, now)
        self._x("UPDATE signals SET handled_at = ? WHERE dedup_key = ? AND handled_at IS NULL",
                (now, signal.dedup_key))

    # -- incidents ---------------------------------------------------------------------

    def incident(self, incident_id: str) -> IncidentView | None:
        row = self._x("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return incident_from_row(row, self._blob) if row is not None else None

    def open_incident(
        self, plan: Plan, *, status: Status, mode: str, now: float,
        approval_expires_at: float | None = None,
    ) -> IncidentView | None:
        """Start an incident running ``plan``; None if another holds the target (or queue).

        The database enforces the concurrency guard: at most one incident holds a target
        and at most one run is queued per runbook and target.
        """
        pos = opened(status, now=now)
        t = plan.target
        iid = self._incident_id(plan)
        self._x("SAVEPOINT open_incident")
        try:
            self._x(
                "INSERT INTO incidents (id, runbook, target, target_kind, target_namespace,"
                " target_name, status, mode, opened_at, phase, phase_since, signal_key,"
                " labels, reasons, steps, approval_expires_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (iid, plan.runbook, str(t), t.kind, t.namespace, t.name, pos.status.value,
                 mode, now, pos.phase.value, now, plan.signal_key,
                 self._store_json(dumps(dict(plan.labels))),
                 dumps([r.to_dict() for r in plan.reasons]),
                 dumps([step_to_dict(s) for s in plan.steps]), approval_expires_at),
            )
        except sqlite3.IntegrityError:
            self._x("ROLLBACK TO open_incident")
            self._x("RELEASE open_incident")
            return None
        self._x("RELEASE open_incident")
        return self.incident(iid)

    def move(
        self, inc: IncidentView, move: Move, why: Reason, *, now: float,
        retry_at: float | None = None, since: float | None = None, acted: bool = False,
        approver: str | None = None, detail: Mapping[str, Any] | None = None,
    ) -> IncidentView:
        """Make ``move`` on ``inc`` (as last read) and journal it with ``why``."""
        pos = advance(inc.position, move, now=now, retry_at=retry_at, since=since)
        cur = self._x(
            "UPDATE incidents SET status = ?, phase = ?, step = ?, phase_since = ?,"
            " attempts = ?, next_try_at = ?, closed_at = ?,"
            " acted = CASE WHEN ? = 1 THEN 1 ELSE acted END,"
            " approver = COALESCE(?, approver),"
            " close_code = CASE WHEN ? THEN ? ELSE close_code END"
            " WHERE id = ? AND status = ? AND step = ? AND phase = ?",
            (pos.status.value, pos.phase.value, pos.step, pos.phase_since, pos.attempts,
             pos.next_try_at, pos.closed_at, int(acted), approver,
             int(pos.status.terminal), why.code.value,
             inc.id, inc.status.value, inc.step, inc.phase.value))
        if cur.rowcount != 1:
            raise IllegalMove(f"incident {inc.id} changed under us; move {move.value} dropped")
        self.event(t=now, kind=move.value, why=why, incident=inc.id, runbook=inc.runbook,
                   target=str(inc.target), detail=detail)
        got = self.incident(inc.id)
        assert got is not None
        return got

    def set_approval_deadline(self, incident_id: str, expires_at: float) -> None:
        self._x("UPDATE incidents SET approval_expires_at = ? WHERE id = ?",
                (expires_at, incident_id))

    def _incident_id(self, plan: Plan) -> str:
        """A deterministic id: replicas that see the same signal name the incident alike.

        Derived from the runbook, target and signal, so a standby taking over computes
        the same incident, hence the same action ids. A later incident from the same
        signal gets a numbered suffix.
        """
        if not plan.signal_key:
            return "inc-" + uuid.uuid4().hex[:10]
        digest = hashlib.sha256(f"{plan.runbook}|{plan.target}|{plan.signal_key}".encode())
        base = "inc-" + digest.hexdigest()[:10]
        iid, n = base, 1
        while self._x("SELECT 1 FROM incidents WHERE id = ?", (iid,)).fetchone():
            n += 1
            iid = f"{base}-{n}"
        return iid

    # -- events ------------------------------------------------------------------------

    def event(
        self, *, t: float, kind: str, why: Reason, incident: str | None = None,
        runbook: str = "", target: str = "", detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Append a timeline event; returns its id."""
        cur = self._x(
            "INSERT INTO events (t, incident, runbook, target, kind, code, reason, detail)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (t, incident, runbook, target, kind, why.code.value, why.message,
             dumps(dict(detail or {}))))
        return int(cur.lastrowid or 0)

    def last_event(self, runbook: str, target: str) -> EventView | None:
        row = self._x("SELECT * FROM events WHERE runbook = ? AND target = ? ORDER BY id DESC"
                      " LIMIT 1", (runbook, target)).fetchone()
        return event_from_row(row) if row is not None else None

    # -- actions -----------------------------------------------------------------------

    def action(self, action_id: str) -> ActionView | None:
        row = self._x("SELECT * FROM actions WHERE id = ?", (action_id,)).fetchone()
        return action_from_row(row) if row is not None else None

    def action_started(
        self, *, action_id: str, incident: str, step: int, kind: str, target: Target,
        params: Mapping[str, Any], dry_run: bool, now: float,
        before: Mapping[str, Any] | None = None,
    ) -> None:
        """Durably note an action is about to be applied (committed before ``apply``)."""
        self._x(
            "INSERT INTO actions (id, incident, step, kind, target, status, dry_run,"
            " started_at, params, before_image) VALUES (?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status",
            (action_id, incident, step, kind, str(target), ActionStatus.STARTED.value,
             int(dry_run), now, dumps(dict(params)), dumps(dict(before or {}))))

    def action_status(self, action_id: str, status: ActionStatus, *, now: float | None = None,
                      outcome: Outcome | None = None, attempts: int | None = None) -> None:
        """Set an action's status (and outcome / attempts when given)."""
        self._x(
            "UPDATE actions SET status = ?, finished_at = COALESCE(?, finished_at),"
            " outcome = COALESCE(?, outcome), attempts = COALESCE(?, attempts) WHERE id = ?",
            (status.value, now if status in (ActionStatus.DONE, ActionStatus.FAILED) else None,
             outcome_json(outcome) if outcome is not None else None, attempts, action_id))

    def started_to_unknown(self) -> list[ActionView]:
        """Every action left ``started`` (its process died mid-apply) becomes ``unknown``."""
        rows = self._x("SELECT * FROM actions WHERE status = ?",
                       (ActionStatus.STARTED.value,)).fetchall()
        self._x("UPDATE actions SET status = ? WHERE status = ?",
                (ActionStatus.UNKNOWN.value, ActionStatus.STARTED.value))
        return [action_from_row(r) for r in rows]

    def labels_of(self, value: str) -> Any:
        return read_json(value, self._blob)
