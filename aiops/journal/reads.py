"""Reads every guard depends on, the same inside a transaction and outside one.

:class:`~aiops.journal.store.Journal` answers them each in its own statement;
:class:`~aiops.journal.tx.Tx` answers them inside a write transaction, after the
target's lock, so a decision and the facts it rests on (who holds the target, when the
runbook last acted there, how many runs its windows have seen) are one atomic step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiops.journal.ddl import HOLDING
from aiops.journal.rows import Row, action_from_row, event_from_row, incident_from_row
from aiops.journal.views import ActionView, EventView, IncidentView
from aiops.model import Target
from aiops.runbook.lifecycle import Status


class Reads:
    """Guard-facing queries over :meth:`_rows` (a statement's result rows)."""

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def _blob(self, digest: str) -> str:
        rows = self._rows("SELECT body FROM blobs WHERE hash = ?", (digest,))
        return str(rows[0]["body"]) if rows else "{}"

    def incident(self, incident_id: str) -> IncidentView | None:
        rows = self._rows("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        return incident_from_row(rows[0], self._blob) if rows else None

    def action(self, action_id: str) -> ActionView | None:
        rows = self._rows("SELECT * FROM actions WHERE id = ?", (action_id,))
        return action_from_row(rows[0]) if rows else None

    def holding(self, target: Target) -> str | None:
        """Id of the incident holding ``target`` (running, awaiting approval or needing
        attention), if any."""
        rows = self._rows(
            f"SELECT id FROM incidents WHERE target = ? AND status IN {HOLDING} LIMIT 1",
            (str(target),))
        return str(rows[0]["id"]) if rows else None

    def queued_for(self, runbook: str, target: Target) -> str | None:
        """Id of this runbook's run queued on ``target``, if any."""
        rows = self._rows("SELECT id FROM incidents WHERE runbook = ? AND target = ? AND"
                          " status = ? LIMIT 1", (runbook, str(target), Status.QUEUED.value))
        return str(rows[0]["id"]) if rows else None

    def last_closed_at(self, runbook: str, target: Target) -> float | None:
        """When this runbook's last run on ``target`` that really acted ended."""
        rows = self._rows(
            "SELECT MAX(closed_at) AS c FROM incidents WHERE runbook = ? AND target = ?"
            " AND closed_at IS NOT NULL AND acted = 1", (runbook, str(target)))
        c = rows[0]["c"] if rows else None
        return float(c) if c is not None else None

    def run_starts(self, runbook: str, target: Target, since: float) -> tuple[float, ...]:
        """Start times of this runbook's runs on ``target`` since ``since`` that acted."""
        rows = self._rows(
            "SELECT opened_at FROM incidents WHERE runbook = ? AND target = ? AND acted = 1"
            " AND opened_at > ? ORDER BY opened_at", (runbook, str(target), since))
        return tuple(float(r["opened_at"]) for r in rows)

    def last_event(self, runbook: str, target: str) -> EventView | None:
        rows = self._rows(
            "SELECT * FROM events WHERE runbook = ? AND target = ? ORDER BY id DESC LIMIT 1",
            (runbook, target))
        return event_from_row(rows[0]) if rows else None
