"""The SQLite dialect: one file in ``state_dir`` (WAL, ``synchronous=FULL``), the default.

Writers are serialized by ``BEGIN IMMEDIATE``, so a guard's lock is the transaction
itself. One process acts on a SQLite journal (the daemon; ``aiops approve`` and
``attend`` only move incidents), so an action left ``started`` by any other process is
orphaned: that process has died. An existing file that is empty, foreign or corrupt is
refused (:mod:`aiops.journal.check`) instead of being silently replaced.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from aiops.journal.backend import Cursor, process_owner
from aiops.journal.check import JournalUnusable, ensure_usable
from aiops.journal.ddl import APPLICATION_ID

#: Below this much free disk under the journal, the probe fails.
MIN_FREE_BYTES = 16 * 1024 * 1024
#: SQLite pages that must stay free under ``max_page_count`` for the probe to pass.
MIN_FREE_PAGES = 64


class SqliteBackend:
    """A connection to one SQLite journal file (or ``:memory:``)."""

    engine = "sqlite"
    insertion_order = "rowid"
    integrity_errors: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)
    driver_errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, path: Path | str, *, max_page_count: int | None = None) -> None:
        self.path = Path(path)
        self.where = str(path)
        self.owner = process_owner()
        self._memory = str(path) == ":memory:"
        if not self._memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ensure_usable(self.path)
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False,
                                       isolation_level=None, timeout=30.0)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            if max_page_count is not None:  # fault injection: a journal that fills up
                self._db.execute(f"PRAGMA max_page_count = {int(max_page_count)}")
        except sqlite3.DatabaseError as exc:
            raise JournalUnusable(self.path, str(exc)) from None

    # -- statements and transactions ---------------------------------------------------

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        return self._db.execute(sql, tuple(args))

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def lock(self, keys: Sequence[str]) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already excludes every other writer."""

    def dead_owners(self, owners: Iterable[str]) -> set[str]:
        return {o for o in owners if o != self.owner}

    def headroom(self) -> str:
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        limit = int(self._db.execute("PRAGMA max_page_count").fetchone()[0])
        free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        if limit - pages + free < MIN_FREE_PAGES:
            return f"journal full: {limit - pages + free} free pages left of {limit}"
        if self._memory:
            return ""
        try:
            room = shutil.disk_usage(self.path.parent).free
        except OSError as exc:
            return f"cannot stat {self.path.parent}: {exc}"
        if room < MIN_FREE_BYTES:
            return f"disk nearly full: {room // 1024} KiB free under {self.path.parent}"
        return ""

    def close(self) -> None:
        self._db.close()

    # -- schema (see aiops.journal.ddl) ------------------------------------------------

    def render(self, ddl: str) -> str:
        return ddl.replace("{insertion_order}", "")

    def ensure_namespace(self) -> None:
        """A file is its own namespace."""

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def columns(self, table: str) -> set[str]:
        return {str(r[1]) for r in self._db.execute(f"PRAGMA table_info({table})")}

    def restart_ids(self, table: str) -> None:
        """``INTEGER PRIMARY KEY`` continues after the largest id by itself."""

    def stamp(self, version: int) -> None:
        self._db.execute(f"PRAGMA user_version = {int(version)}")
        self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
