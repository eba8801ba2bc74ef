"""The journal: SQLite (WAL, ``synchronous=FULL``) holding signals, incidents, timeline
events, actions and every guard's state, so a restart forgets nothing.

One connection shared by the daemon's threads behind a lock. Writes happen only inside
:meth:`Journal.transaction` (see :mod:`aiops.journal.tx`): durable when it returns, or
rolled back whole. An existing file that is empty, foreign or corrupt is refused
(:mod:`aiops.journal.check`) instead of being silently replaced. The tables are in
:mod:`aiops.journal.ddl`, the row encoding in :mod:`aiops.journal.rows`.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from aiops.errors import TemporaryError
from aiops.journal.check import JournalUnusable, ensure_usable
from aiops.journal.ddl import HOLDING, migrate
from aiops.journal.rows import (
    action_from_row,
    alert_from_row,
    event_from_row,
    incident_from_row,
)
from aiops.journal.tx import Tx
from aiops.journal.views import OPEN_STATUSES, ActionView, EventView, IncidentView
from aiops.model import Alert, Target
from aiops.runbook.lifecycle import Status

MUTATING = ("scale", "restart", "rollback", "delete_pod")
#: Below this much free disk under the journal, :meth:`Journal.probe` fails.
MIN_FREE_BYTES = 16 * 1024 * 1024
#: SQLite pages that must stay free under ``max_page_count`` for the probe to pass.
MIN_FREE_PAGES = 64


class JournalWriteError(TemporaryError):
    """A journal transaction failed (disk full, I/O error, locked): nothing was written."""


class Journal:
    """Everything that happened and why, in one SQLite file."""

    def __init__(self, path: Path | str, *, max_page_count: int | None = None) -> None:
        self.path = Path(path)
        memory = str(path) == ":memory:"
        if not memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ensure_usable(self.path)
        self._lock = threading.RLock()
        self._local = threading.local()
        self.last_write_error: str = ""
        try:
            self._db = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=30.0
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            if max_page_count is not None:  # fault injection: a journal that fills up
                self._db.execute(f"PRAGMA max_page_count = {int(max_page_count)}")
            with self.transaction() as tx:
                migrate(tx._db, str(self.path))
        except (sqlite3.DatabaseError, ValueError) as exc:
            raise JournalUnusable(self.path, str(exc)) from None

    # -- transactions ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One atomic unit of writes; nested calls join the outer transaction.

        Raises :class:`JournalWriteError` (temporary) when SQLite cannot write.
        """
        with self._lock:
            outer = getattr(self._local, "tx", None)
            if outer is not None:
                yield outer
                return
            tx = Tx(self._db)
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self.last_write_error = str(exc)
                raise JournalWriteError(f"journal: cannot begin a transaction: {exc}") from None
            self._local.tx = tx
            try:
                yield tx
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    self.last_write_error = str(exc)
                    raise JournalWriteError(f"journal write failed: {exc}") from None
                raise
            finally:
                self._local.tx = None
            self.last_write_error = ""

    def probe(self, now: float) -> None:
        """Prove the journal takes writes, with room to spare; raise if it does not.

        Commits a small write (an I/O error, a read-only file or a full WAL fails it) and
        checks headroom: free disk under the journal and free pages under SQLite's
        ``max_page_count``. Raises :class:`JournalWriteError`.
        """
        with self.transaction() as tx:
            tx._x("INSERT INTO meta (key, value) VALUES ('probe', ?) ON CONFLICT (key)"
                  " DO UPDATE SET value = excluded.value", (f"{now:.3f}",))
        with self._lock:
            pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
            limit = int(self._db.execute("PRAGMA max_page_count").fetchone()[0])
            free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        if limit - pages + free < MIN_FREE_PAGES:
            raise JournalWriteError(
                f"journal full: {limit - pages + free} free pages left of {limit}")
        if str(self.path) != ":memory:":
            try:
                room = shutil.disk_usage(self.path.parent).free
            except OSError as exc:
                raise JournalWriteError(f"cannot stat {self.path.parent}: {exc}") from None
            if room < MIN_FREE_BYTES:
                raise JournalWriteError(
                    f"disk nearly full: {room // 1024} KiB free under {self.path.parent}")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, tuple(args)))

    def _blob(self, digest: str) -> str:
        rows = self._query("SELECT body FROM blobs WHERE hash = ?", (digest,))
        return str(rows[0]["body"]) if rows else "{}"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- convenience writes (one transaction each) -------------------------------------

    def record_new_alerts(self, alerts: Iterable[Alert], now: float) -> list[Alert]:
        """Store a webhook's alerts in one durable transaction; return the new ones."""
        with self.transaction() as tx:
            return tx.record_alerts(alerts, now)

    def record_alerts(self, alerts: Iterable[Alert], now: float) -> tuple[int, int]:
        """Like :meth:`record_new_alerts`, counted: (new, duplicates)."""
        items = list(alerts)
        new = len(self.record_new_alerts(items, now))
        return new, len(items) - new

    # -- signals -----------------------------------------------------------------------

    def unhandled_alerts(self, limit: int = 1000) -> list[Alert]:
        """Alerts stored (by the webhook) that no decision has handled yet, oldest first."""
        rows = self._query(
            "SELECT * FROM signals WHERE kind = 'alert' AND handled_at IS NULL ORDER BY id"
            " LIMIT ?", (limit,))
        return [alert_from_row(r, self._blob) for r in rows]

    def firing_alerts(self) -> frozenset[str]:
        """Alertnames whose latest recorded status (per fingerprint) is firing."""
        rows = self._query(
            "SELECT s.name, s.status FROM signals s JOIN (SELECT fingerprint, MAX(id) AS id"
            " FROM signals WHERE kind='alert' GROUP BY fingerprint) l ON s.id = l.id"
        )
        return frozenset(r["name"] for r in rows if r["status"] == "firing")

    # -- incidents ---------------------------------------------------------------------

    def incident(self, incident_id: str) -> IncidentView | None:
        rows = self._query("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        return incident_from_row(rows[0], self._blob) if rows else None

    def incidents(self, limit: int = 100, status: str | None = None,
                  runbook: str | None = None) -> list[IncidentView]:
        """Most recent incidents first; ``status='open'`` selects the unfinished ones."""
        where, args = [], []
        if status == "open":
            where.append(f"status IN ({','.join('?' * len(OPEN_STATUSES))})")
            args += list(OPEN_STATUSES)
        elif status is not None:
            where.append("status = ?")
            args.append(status)
        if runbook is not None:
            where.append("runbook = ?")
            args.append(runbook)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(f"SELECT * FROM incidents{clause} ORDER BY opened_at DESC,"
                           " rowid DESC LIMIT ?", (*args, limit))
        return [incident_from_row(r, self._blob) for r in rows]

    def open_incidents(self) -> list[IncidentView]:
        """Unfinished incidents (queued included), oldest first: the order they advance."""
        rows = self._query(
            f"SELECT * FROM incidents WHERE status IN ({','.join('?' * len(OPEN_STATUSES))})"
            " ORDER BY opened_at, rowid", OPEN_STATUSES)
        return [incident_from_row(r, self._blob) for r in rows]

    def holding(self, target: Target) -> str | None:
        """Id of the incident holding ``target`` (running, awaiting approval or needing
        attention), if any."""
        rows = self._query(
            f"SELECT id FROM incidents WHERE target = ? AND status IN {HOLDING} LIMIT 1",
            (str(target),))
        return str(rows[0]["id"]) if rows else None

    running_on = holding

    def queued_for(self, runbook: str, target: Target) -> str | None:
        rows = self._query("SELECT id FROM incidents WHERE runbook = ? AND target = ? AND"
                           " status = ? LIMIT 1", (runbook, str(target), Status.QUEUED.value))
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

    def counts(self) -> dict[str, int]:
        """Incidents by status."""
        rows = self._query("SELECT status, COUNT(*) AS n FROM incidents GROUP BY status")
        return {str(r["status"]): int(r["n"]) for r in rows}

    # -- events ------------------------------------------------------------------------

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
        return action_from_row(rows[0]) if rows else None

    def actions_of(self, incident_id: str) -> list[ActionView]:
        rows = self._query("SELECT * FROM actions WHERE incident = ? ORDER BY step, id",
                           (incident_id,))
        return [action_from_row(r) for r in rows]

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
        actions, handled signals, free-standing events, unreferenced blobs. Open incidents
        are always kept. Returns the number of rows deleted."""
        with self.transaction() as tx:
            x = tx._x
            old = "SELECT id FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?"
            n = x(f"DELETE FROM events WHERE incident IN ({old})", (before,)).rowcount
            n += x(f"DELETE FROM actions WHERE incident IN ({old})", (before,)).rowcount
            n += x("DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?",
                   (before,)).rowcount
            n += x("DELETE FROM events WHERE incident IS NULL AND t < ?", (before,)).rowcount
            n += x("DELETE FROM signals WHERE received_at < ? AND handled_at IS NOT NULL",
                   (before,)).rowcount
            n += x("DELETE FROM blobs WHERE '@' || hash NOT IN (SELECT labels FROM signals)"
                   " AND '@' || hash NOT IN (SELECT labels FROM incidents)").rowcount
        return n

    # -- JSON for the HTTP API and the CLI ---------------------------------------------

    def incidents_json(self, limit: int, status: str | None,
                       runbook: str | None = None) -> list[dict[str, Any]]:
        return [i.to_dict() for i in self.incidents(limit=limit, status=status,
                                                    runbook=runbook)]

    def incident_json(self, incident_id: str) -> dict[str, Any] | None:
        inc = self.incident(incident_id)
        if inc is None:
            return None
        d = inc.to_dict()
        d["timeline"] = [e.to_dict() for e in self.timeline(incident_id)]
        d["actions"] = [a.to_dict() for a in self.actions_of(inc.id)]
        return d
