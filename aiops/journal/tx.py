"""One journal transaction: the only way anything is written to the journal.

A :class:`Tx` is handed out by :meth:`aiops.journal.Journal.transaction`; everything
written through it commits together or not at all. That is how the engine keeps its
promises: a signal is marked handled in the transaction that records its decision, an
incident's move is written with the facts that caused it (an action's outcome, an
approval, a resolved alert), and a crash between two transactions leaves the journal at
one of them, never between.

Every guard holds across processes sharing the journal (replicas on PostgreSQL):

- a signal is claimed by a conditional update (one claimant wins);
- incident moves go through :func:`aiops.runbook.lifecycle.advance` (the one transition
  table) and are conditional on the status they were computed from, so of two writers
  racing on one incident the second gets :class:`aiops.runbook.lifecycle.IllegalMove`;
- at most one incident holds a target and one run is queued per runbook and target
  (partial unique indexes);
- opening an incident and every move take the target's lock (:meth:`Tx.lock_targets`)
  first, so a cooldown or ``max_runs`` window re-read under that lock cannot change
  before the decision built on it commits;
- an action is started by inserting its id (or taking a retry over) and only the
  process that did so applies it (:meth:`Tx.action_started`, :meth:`Tx.take_over`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiops.journal.backend import Backend, Cursor
from aiops.journal.reads import Reads
from aiops.journal.rows import (
    Row,
    action_from_row,
    blob_ref,
    dumps,
    incident_from_row,
    outcome_json,
    read_json,
    signal_columns,
)
from aiops.journal.views import ActionStatus, ActionView, IncidentView, step_to_dict
from aiops.model import Alert, Outcome, Plan, Signal, Target
from aiops.reasons import Reason
from aiops.runbook.lifecycle import IllegalMove, Move, Status, advance, opened


class Tx(Reads):
    """Writes (and the reads they depend on) inside one journal transaction."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._locked: set[str] = set()

    # -- plumbing ----------------------------------------------------------------------

    def _x(self, sql: str, args: Iterable[Any] = ()) -> Cursor:
        return self._backend.execute(sql, tuple(args))

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self._x(sql, args).fetchall()

    @property
    def owner(self) -> str:
        """The name this process writes on the actions it starts."""
        return self._backend.owner

    def lock_targets(self, targets: Iterable[Target]) -> None:
        """Hold each target's lock until this transaction ends.

        Taken before reading a guard's state and writing the decision it allows, by
        every writer that changes it (opening an incident, moving one), so two replicas
        judging one target are serialized. In SQLite the transaction already is.
        """
        keys = sorted({f"target:{t}" for t in targets} - self._locked)
        if keys:
            self._backend.lock(keys)
            self._locked.update(keys)

    def _store_json(self, text: str) -> str:
        value, digest = blob_ref(text)
        if digest is not None:
            self._x("INSERT INTO blobs (hash, body) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (digest, text))
        return value

    # -- signals -----------------------------------------------------------------------

    def insert_signal(self, signal: Signal, now: float, *, handled: bool = False) -> bool:
        """Store ``signal`` unless its dedup key is known (``handled``: as handled now);
        True if it was new."""
        cols = list(signal_columns(signal, now))
        cols[7] = self._store_json(cols[7])  # labels
        row = self._x(
            "INSERT INTO signals (dedup_key, kind, t, received_at, name, fingerprint, status,"
            " labels, payload, handled_at) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
            " RETURNING id", (*cols, now if handled else None)).fetchone()
        if row is None:
            return False
        if isinstance(signal, Alert):  # the fingerprint's latest status, for firing_alerts
            self._x("INSERT INTO alert_state (fingerprint, name, status, signal_id)"
                    " VALUES (?,?,?,?) ON CONFLICT (fingerprint) DO UPDATE SET"
                    " name = excluded.name, status = excluded.status,"
                    " signal_id = excluded.signal_id"
                    " WHERE excluded.signal_id > alert_state.signal_id",
                    (signal.fingerprint, signal.name, signal.status, int(row["id"])))
        return True

    def record_alerts(self, alerts: Iterable[Alert], now: float) -> list[Alert]:
        """Store a webhook's alerts; the ones not seen before."""
        return [a for a in alerts if self.insert_signal(a, now)]

    def claim(self, signal: Signal, now: float) -> bool:
        """Store ``signal`` if new and mark it handled; False if it was handled before.

        Commits only with the decision that handles it (same transaction). Of two
        replicas claiming one signal, the second waits for the first's commit and finds
        it handled.
        """
        if self.insert_signal(signal, now, handled=True):
            return True
        cur = self._x(
            "UPDATE signals SET handled_at = ? WHERE dedup_key = ? AND handled_at IS NULL",
            (now, signal.dedup_key))
        return cur.rowcount == 1

    def mark_seen(self, signal: Signal, now: float) -> None:
        """Store and mark handled a signal that is re-evaluated every cycle (anomalies)."""
        self.claim(signal, now)

    # -- incidents ---------------------------------------------------------------------

    def open_incident(
        self, plan: Plan, *, status: Status, mode: str, now: float,
        approval_expires_at: float | None = None,
    ) -> IncidentView | None:
        """Start an incident running ``plan``; None if another holds the target (or queue).

        The database enforces the concurrency guard: at most one incident holds a target
        and at most one run is queued per runbook and target (a conflict with either
        unique index, or a racing replica's insert of the same id, inserts nothing).
        """
        pos = opened(status, now=now)
        t = plan.target
        self.lock_targets([t])
        iid = self._incident_id(plan)
        row = self._x(
            "INSERT INTO incidents (id, runbook, target, target_kind, target_namespace,"
            " target_name, status, mode, opened_at, phase, phase_since, signal_key,"
            " labels, reasons, steps, approval_expires_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING *",
            (iid, plan.runbook, str(t), t.kind, t.namespace, t.name, pos.status.value,
             mode, now, pos.phase.value, now, plan.signal_key,
             self._store_json(dumps(dict(plan.labels))),
             dumps([r.to_dict() for r in plan.reasons]),
             dumps([step_to_dict(s) for s in plan.steps]), approval_expires_at),
        ).fetchone()
        return incident_from_row(row, self._blob) if row is not None else None

    def move(
        self, inc: IncidentView, move: Move, why: Reason, *, now: float,
        retry_at: float | None = None, since: float | None = None, acted: bool = False,
        approver: str | None = None, detail: Mapping[str, Any] | None = None,
    ) -> IncidentView:
        """Make ``move`` on ``inc`` (as last read) and journal it with ``why``."""
        pos = advance(inc.position, move, now=now, retry_at=retry_at, since=since)
        self.lock_targets([inc.target])
        row = self._x(
            "UPDATE incidents SET status = ?, phase = ?, step = ?, phase_since = ?,"
            " attempts = ?, next_try_at = ?, closed_at = ?,"
            " acted = CASE WHEN ? = 1 THEN 1 ELSE acted END,"
            " approver = COALESCE(?, approver),"
            " close_code = CASE WHEN ? = 1 THEN ? ELSE close_code END"
            " WHERE id = ? AND status = ? AND step = ? AND phase = ? RETURNING *",
            (pos.status.value, pos.phase.value, pos.step, pos.phase_since, pos.attempts,
             pos.next_try_at, pos.closed_at, int(acted), approver,
             int(pos.status.terminal), why.code.value,
             inc.id, inc.status.value, inc.step, inc.phase.value)).fetchone()
        if row is None:
            raise IllegalMove(f"incident {inc.id} changed under us; move {move.value} dropped")
        self.event(t=now, kind=move.value, why=why, incident=inc.id, runbook=inc.runbook,
                   target=str(inc.target), detail=detail)
        return incident_from_row(row, self._blob)

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
        row = self._x(
            "INSERT INTO events (t, incident, runbook, target, kind, code, reason, detail)"
            " VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (t, incident, runbook, target, kind, why.code.value, why.message,
             dumps(dict(detail or {})))).fetchone()
        return int(row["id"])

    # -- actions -----------------------------------------------------------------------

    def action_started(
        self, *, action_id: str, incident: str, step: int, kind: str, target: Target,
        params: Mapping[str, Any], dry_run: bool, now: float,
        before: Mapping[str, Any] | None = None,
    ) -> bool:
        """Note an action is about to be applied (committed before ``apply``): True if
        this process may apply it.

        Inserts the action (its id is the idempotency key), or takes over one waiting
        for a retry. Any other existing record means another process started it (or
        its fate is being decided): False, and the caller must not apply it.
        """
        cur = self._x(
            "INSERT INTO actions (id, incident, step, kind, target, status, dry_run,"
            " started_at, params, before_image, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status, owner = excluded.owner"
            " WHERE actions.status = ?",
            (action_id, incident, step, kind, str(target), ActionStatus.STARTED.value,
             int(dry_run), now, dumps(dict(params)), dumps(dict(before or {})), self.owner,
             ActionStatus.RETRYING.value))
        return cur.rowcount == 1

    def take_over(self, action: ActionView) -> bool:
        """Claim an action whose outcome is unknown (or whose starter died) to reconcile
        it: True if this process now owns it, False if another got there first."""
        cur = self._x(
            "UPDATE actions SET status = ?, owner = ? WHERE id = ? AND status = ? AND owner = ?",
            (ActionStatus.STARTED.value, self.owner, action.id, action.status.value,
             action.owner))
        return cur.rowcount == 1

    def action_status(self, action_id: str, status: ActionStatus, *, now: float | None = None,
                      outcome: Outcome | None = None, attempts: int | None = None) -> None:
        """Set an action's status (and outcome / attempts when given)."""
        self._x(
            "UPDATE actions SET status = ?, finished_at = COALESCE(?, finished_at),"
            " outcome = COALESCE(?, outcome), attempts = COALESCE(?, attempts) WHERE id = ?",
            (status.value, now if status in (ActionStatus.DONE, ActionStatus.FAILED) else None,
             outcome_json(outcome) if outcome is not None else None, attempts, action_id))

    def orphaned(self, action: ActionView) -> bool:
        """Was ``action`` left ``started`` by a process that is gone (or by this one, in
        a tick that failed before its outcome was written)?"""
        return action.owner == self.owner or bool(
            self._backend.dead_owners([action.owner]))

    def started_to_unknown(self) -> list[ActionView]:
        """Every action left ``started`` by a process that has died becomes ``unknown``.

        An action another live process is applying right now is left alone.
        """
        rows = self._rows("SELECT * FROM actions WHERE status = ?",
                          (ActionStatus.STARTED.value,))
        started = [action_from_row(r) for r in rows]
        gone = self._backend.dead_owners({a.owner for a in started}) | {self.owner}
        lost = [a for a in started if a.owner in gone]
        for a in lost:
            self._x("UPDATE actions SET status = ? WHERE id = ? AND status = ? AND owner = ?",
                    (ActionStatus.UNKNOWN.value, a.id, ActionStatus.STARTED.value, a.owner))
        return lost

    def labels_of(self, value: str) -> Any:
        return read_json(value, self._blob)
