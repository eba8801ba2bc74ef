"""What the journal needs from a database engine: the seam between SQL and its dialects.

The journal's SQL is written once (``?`` placeholders, ``ON CONFLICT``, ``RETURNING``,
partial unique indexes: what SQLite and PostgreSQL share). A :class:`Backend` runs it
and supplies what differs: how a transaction begins, how a guard's lock is taken
(nothing to do in SQLite, whose writers are serialized by ``BEGIN IMMEDIATE``; an
advisory lock per target in PostgreSQL), which process that started an action is still
alive, and how the schema version is kept. :mod:`aiops.journal.sqlite` and
:mod:`aiops.journal.postgres` are the two implementations.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    """The part of a DB-API cursor the journal uses."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Schema(Protocol):
    """What a dialect offers the migrations of :mod:`aiops.journal.ddl` (inside the
    caller's transaction)."""

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor: ...

    def render(self, ddl: str) -> str:
        """The dialect's spelling of shared DDL."""

    def ensure_namespace(self) -> None:
        """Create what holds the tables (a PostgreSQL schema) if it is missing."""

    def schema_version(self) -> int:
        """The version applied so far (0: an empty database)."""

    def columns(self, table: str) -> set[str]: ...

    def stamp(self, version: int) -> None:
        """Record ``version`` where this dialect keeps it besides ``schema_migrations``."""

    def restart_ids(self, table: str) -> None:
        """After rows were inserted with explicit ids, new ones continue after them."""


class Backend(Schema, Protocol):
    """One connection to one journal database, in one dialect."""

    #: ``sqlite`` or ``postgresql``.
    engine: str
    #: Where the journal is, for messages (a path, or a URL without secrets).
    where: str
    #: This process's name on the actions it starts (see :meth:`dead_owners`).
    owner: str
    #: Column that orders incidents opened at the same instant by insertion.
    insertion_order: str
    #: The driver's exception for a violated unique or primary key.
    integrity_errors: tuple[type[BaseException], ...]
    #: Every exception of the driver (mapped to ``JournalWriteError`` by the store).
    driver_errors: tuple[type[BaseException], ...]

    def begin(self) -> None:
        """Start a write transaction (reconnecting first if the connection was lost)."""

    def commit(self) -> None: ...

    def rollback(self) -> None:
        """Roll back if a transaction is open; never raises."""

    def lock(self, keys: Sequence[str]) -> None:
        """Hold a lock per key until the current transaction ends (sorted: no deadlock)."""

    def dead_owners(self, owners: Iterable[str]) -> set[str]:
        """Which of ``owners`` (other than this process) are no longer running."""

    def headroom(self) -> str:
        """Why the journal may soon refuse writes ("" when there is room)."""

    def close(self) -> None: ...


def process_owner() -> str:
    """A name for this process, unique across hosts and restarts.

    >>> a, b = process_owner(), process_owner()
    >>> a != b and a.split("/")[1] == str(os.getpid())
    True
    """
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
