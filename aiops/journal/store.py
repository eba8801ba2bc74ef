"""The journal: signals, incidents, timeline events, actions and every guard's state, in
one database, so a restart (or a failover to another replica) forgets nothing.

Backend-neutral: the SQL here and in :mod:`aiops.journal.tx` is written once and run by
a :class:`~aiops.journal.backend.Backend`, SQLite by default
(:mod:`aiops.journal.sqlite`) or PostgreSQL shared by replicas
(:mod:`aiops.journal.postgres`). One connection is shared by the process's threads
behind a lock. Writes happen only inside :meth:`Journal.transaction`: durable when it
returns, or rolled back whole. The tables and migrations are in :mod:`aiops.journal.ddl`,
the row encoding in :mod:`aiops.journal.rows`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiops.errors import TemporaryError
from aiops.journal.backend import Backend
from aiops.journal.check import WAY_OUT, JournalUnusable
from aiops.journal.ddl import SCHEMA_VERSION, migrate, pending
from aiops.journal.reads import Reads
from aiops.journal.rows import (
    Row,
    action_from_row,
    alert_from_row,
    event_from_row,
    incident_from_row,
)
from aiops.journal.tx import Tx
from aiops.journal.views import OPEN_STATUSES, ActionView, EventView, IncidentView
from aiops.model import Alert, Target

MUTATING = ("scale", "restart", "rollback", "delete_pod")
#: The way out of a journal whose schema is older and that may not migrate itself.
MIGRATE_WAY_OUT = "run 'aiops journal migrate' (or set journal.migrate: startup)"


class JournalWriteError(TemporaryError):
    """A journal transaction failed (disk full, I/O error, locked, connection lost):
    nothing was written."""


class Journal(Reads):
    """Everything that happened and why, in one database (SQLite file unless ``backend``).

    ``migrate``: bring an older schema up to date (default); ``False`` refuses an older
    schema (:class:`JournalUnusable`) instead, for journals migrated by hand.
    """

    def __init__(self, path: Path | str | None = None, *, max_page_count: int | None = None,
                 backend: Backend | None = None, migrate: bool = True) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()
        self.last_write_error: str = ""
        if backend is None:
            if path is None:
                raise ValueError("a journal needs a path or a backend")
            backend = _sqlite(path, max_page_count)
        self.backend = backend
        self.path: Path | None = Path(path) if path is not None else None
        self.engine = backend.engine
        self.where = backend.where
        self._order = backend.insertion_order
        self.migrated_from = self._prepare(migrate)

    def _prepare(self, may_migrate: bool) -> int:
        """Check (and by default migrate) the schema; the version found."""
        try:
            with self.transaction():
                self.backend.lock(["schema-migration"])
                if may_migrate:
                    return migrate(self.backend)[0]
                found = self.backend.schema_version()
                if pending(found):
                    problem = ("it holds no journal yet" if found == 0 else
                               f"schema version {found} is older than {SCHEMA_VERSION}")
                    raise JournalUnusable(self.where, problem, way_out=MIGRATE_WAY_OUT)
                return found
        except (JournalWriteError, ValueError) as exc:
            self.backend.close()
            raise JournalUnusable(self.where, str(exc), way_out=_way_out(self.engine)) from None
        except JournalUnusable:
            self.backend.close()
            raise

    @property
    def owner(self) -> str:
        """The name this process writes on the actions it starts."""
        return self.backend.owner

    # -- transactions ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One atomic unit of writes; nested calls join the outer transaction.

        Raises :class:`JournalWriteError` (temporary) when the database cannot write.
        """
        errors = self.backend.driver_errors
        with self._lock:
            outer = getattr(self._local, "tx", None)
            if outer is not None:
                yield outer
                return
            tx = Tx(self.backend)
            try:
                self.backend.begin()
            except errors as exc:
                self.last_write_error = str(exc)
                raise JournalWriteError(f"journal: cannot begin a transaction: {exc}") from None
            self._local.tx = tx
            try:
                yield tx
                self.backend.commit()
            except BaseException as exc:
                self.backend.rollback()
                if isinstance(exc, errors):
                    self.last_write_error = str(exc)
                    raise JournalWriteError(f"journal write failed: {exc}") from None
                raise
            finally:
                self._local.tx = None
            self.last_write_error = ""

    def probe(self, now: float) -> None:
        """Prove the journal takes writes, with room to spare; raise if it does not.

        Commits a small write (an I/O error, a read-only file or server, a full WAL, a
        lost connection fails it) and asks the backend about headroom (free disk and
        pages for SQLite; a primary, not a read-only standby, for PostgreSQL). Raises
        :class:`JournalWriteError`.
        """
        with self.transaction() as tx:
            tx._x("INSERT INTO meta (key, value) VALUES ('probe', ?) ON CONFLICT (key)"
                  " DO UPDATE SET value = excluded.value", (f"{now:.3f}",))
        with self._lock:
            try:
                problem = self.backend.headroom()
            except self.backend.driver_errors as exc:
                raise JournalWriteError(f"journal probe failed: {exc}") from None
        if problem:
            raise JournalWriteError(problem)

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            tx: Tx | None = getattr(self._local, "tx", None)
            if tx is not None:
                return tx._rows(sql, args)
            try:
                rows: list[Row] = self.backend.execute(sql, tuple(args)).fetchall()
                return rows
            except self.backend.driver_errors as exc:
                raise JournalWriteError(f"journal read failed: {exc}") from None

    _query = _rows

    def orphaned(self, action: ActionView) -> bool:
        """Was ``action`` left ``started`` by a process that is gone (or by this one)?"""
        with self._lock:
            return action.owner == self.owner or bool(self.backend.dead_owners([action.owner]))

    def close(self) -> None:
        with self._lock:
            self.backend.close()

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
        rows = self._query("SELECT DISTINCT name FROM alert_state WHERE status = 'firing'")
        return frozenset(str(r["name"]) for r in rows)

    # -- incidents ---------------------------------------------------------------------

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
                           f" {self._order} DESC LIMIT ?", (*args, limit))
        return [incident_from_row(r, self._blob) for r in rows]

    def open_incidents(self) -> list[IncidentView]:
        """Unfinished incidents (queued included), oldest first: the order they advance."""
        rows = self._query(
            f"SELECT * FROM incidents WHERE status IN ({','.join('?' * len(OPEN_STATUSES))})"
            f" ORDER BY opened_at, {self._order}", OPEN_STATUSES)
        return [incident_from_row(r, self._blob) for r in rows]

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

    # -- actions -----------------------------------------------------------------------

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
            x("DELETE FROM alert_state WHERE signal_id NOT IN (SELECT id FROM signals)")
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


def _sqlite(path: Path | str, max_page_count: int | None) -> Backend:
    from aiops.journal.sqlite import SqliteBackend

    return SqliteBackend(path, max_page_count=max_page_count)


def _way_out(engine: str) -> str:
    if engine == "sqlite":
        return WAY_OUT
    return "check journal.url and the server, then run 'aiops journal check'"
