"""The PostgreSQL dialect: one journal shared by every replica (Lease pairs, shards).

psycopg 3, one connection per process in autocommit mode with explicit ``BEGIN``, at
the default READ COMMITTED isolation: every guard is a conditional write (a claim, a
status-checked move, an insert on a unique key) or is read under the target's lock
(:meth:`PostgresBackend.lock`, a transaction-scoped advisory lock), so no guard rests on
a snapshot another replica can invalidate before commit.

Liveness. Each process holds a session advisory lock named after its owner string for
as long as its connection lives. An action left ``started`` is orphaned exactly when
that lock is free: the process (or its connection) is gone, so a new leader may
reconcile it; while it is held, another live process is applying the action and nobody
else touches it.

The tables live in their own schema (``journal.schema``, default ``aiops``), found
through ``search_path``; the password comes from a callable, read at every (re)connect.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from aiops.journal.backend import Cursor, process_owner
from aiops.journal.check import Inspection, JournalUnusable
from aiops.journal.ddl import APPLICATION, SCHEMA_VERSION

#: The way out of a PostgreSQL journal that cannot be used.
WAY_OUT = "check journal.url, the credentials and the server, then run 'aiops journal check'"
FOREIGN = "the schema holds another program's tables, not an aiops journal"


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``parts`` (same on every replica).

    >>> lock_key("target", "aiops", "Deployment/shop/web") == lock_key(
    ...     "target", "aiops", "Deployment/shop/web")
    True
    """
    digest = hashlib.sha256("\x1f".join(("aiops", *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@lru_cache(maxsize=512)
def placeholders(sql: str) -> str:
    """The journal's ``?`` placeholders as psycopg's ``%s`` (literals left alone).

    >>> placeholders("SELECT '?', x FROM t WHERE a = ? AND b LIKE '5%'")
    "SELECT '?', x FROM t WHERE a = %s AND b LIKE '5%%'"
    """
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


def redact(url: str) -> str:
    """``url`` without a password (for messages; the config refuses one anyway).

    >>> redact("postgresql://u:secret@db:5432/aiops")
    'postgresql://u@db:5432/aiops'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host + (
        f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresBackend:
    """A connection to a PostgreSQL journal in schema ``schema``."""

    engine = "postgresql"
    insertion_order = "seq"
    integrity_errors: tuple[type[BaseException], ...] = (psycopg.IntegrityError,)
    driver_errors: tuple[type[BaseException], ...] = (psycopg.Error,)

    def __init__(
        self, url: str, *, schema: str = "aiops",
        password: Callable[[], str | None] | None = None, connect_timeout: float = 5.0,
        statement_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.schema = schema
        self.where = f"{redact(url)} (schema {schema})"
        self.owner = process_owner()
        self._password = password
        self._connect_timeout = max(1, math.ceil(connect_timeout))
        self._statement_ms = int(statement_timeout * 1000)
        self._in_tx = False
        try:
            self._db = self._connect()
        except psycopg.Error as exc:
            raise JournalUnusable(self.where, f"cannot connect: {first_line(exc)}",
                                  way_out=WAY_OUT) from None

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        if self._password is not None:
            try:
                secret = self._password()
            except OSError as exc:
                raise psycopg.OperationalError(f"cannot read the password: {exc}") from None
            if secret is not None:
                kwargs["password"] = secret
        ms = self._statement_ms
        db = psycopg.connect(
            self.url, autocommit=True, row_factory=dict_row,
            connect_timeout=self._connect_timeout, application_name="aiops",
            options=(f"-c search_path={self.schema} -c statement_timeout={ms}"
                     f" -c lock_timeout={ms} -c idle_in_transaction_session_timeout={ms}"),
            **kwargs)
        # Held while this connection lives: how other replicas know we are alive.
        db.execute("SELECT pg_advisory_lock(%s)", (lock_key("owner", self.owner),))
        return db

    # -- statements and transactions ---------------------------------------------------

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        if self._db.broken or self._db.closed:
            if self._in_tx:
                raise psycopg.OperationalError("the connection was lost inside a transaction")
            self._db = self._connect()
        return self._db.execute(placeholders(sql), tuple(args))

    def begin(self) -> None:
        self.execute("BEGIN")
        self._in_tx = True

    def commit(self) -> None:
        self._db.execute("COMMIT")
        self._in_tx = False

    def rollback(self) -> None:
        self._in_tx = False
        if self._db.broken or self._db.closed:
            return
        if self._db.info.transaction_status != TransactionStatus.IDLE:
            with suppress(psycopg.Error):
                self._db.execute("ROLLBACK")

    def lock(self, keys: Sequence[str]) -> None:
        for key in sorted(lock_key("lock", self.schema, k) for k in keys):
            self.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def dead_owners(self, owners: Iterable[str]) -> set[str]:
        dead: set[str] = set()
        for owner in owners:
            if owner == self.owner:
                continue
            if not owner:  # started before owners were recorded (schema < 4)
                dead.add(owner)
                continue
            row = self.execute("SELECT pg_try_advisory_xact_lock(?) AS free",
                               (lock_key("owner", owner),)).fetchone()
            if row["free"]:
                dead.add(owner)
        return dead

    def headroom(self) -> str:
        row = self.execute("SELECT pg_is_in_recovery() AS standby").fetchone()
        return "connected to a read-only standby (in recovery)" if row["standby"] else ""

    def close(self) -> None:
        with suppress(psycopg.Error):
            self._db.close()

    # -- schema (see aiops.journal.ddl) ------------------------------------------------

    def render(self, ddl: str) -> str:
        ddl = ddl.replace("{insertion_order}", ",\n    seq BIGINT GENERATED ALWAYS AS IDENTITY")
        ddl = re.sub(r"\bINTEGER PRIMARY KEY\b",
                     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", ddl)
        return re.sub(r"\bREAL\b", "DOUBLE PRECISION", ddl)

    def ensure_namespace(self) -> None:
        self.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')

    def schema_version(self) -> int:
        tables = self._tables()
        if not tables:
            return 0
        if not {"meta", "schema_migrations"} <= tables:
            raise ValueError(FOREIGN)
        app = self.execute("SELECT value FROM meta WHERE key = 'application'").fetchone()
        if app is None or app["value"] != APPLICATION:
            raise ValueError(FOREIGN)
        row = self.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        return int(row.fetchone()["v"])

    def _tables(self) -> set[str]:
        rows = self.execute("SELECT table_name FROM information_schema.tables"
                            " WHERE table_schema = ?", (self.schema,))
        return {str(r["table_name"]) for r in rows}

    def columns(self, table: str) -> set[str]:
        rows = self.execute("SELECT column_name FROM information_schema.columns"
                            " WHERE table_schema = ? AND table_name = ?", (self.schema, table))
        return {str(r["column_name"]) for r in rows}

    def stamp(self, version: int) -> None:
        """``schema_migrations`` is the record."""

    def restart_ids(self, table: str) -> None:
        self.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                     f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def inspect(make: Callable[[], PostgresBackend], where: str) -> Inspection:
    """Examine a PostgreSQL journal without changing it (``aiops journal check``)."""
    try:
        db = make()
    except JournalUnusable as exc:
        return Inspection(path=where, exists=False, engine="postgresql", problem=exc.problem)
    try:
        try:
            version = db.schema_version()
        except ValueError as exc:
            return Inspection(path=where, exists=True, engine="postgresql", problem=str(exc))
        if version == 0:
            return Inspection(path=where, exists=False, engine="postgresql")
        if version > SCHEMA_VERSION:
            return Inspection(path=where, exists=True, engine="postgresql",
                              schema_version=version,
                              problem=f"schema version {version} is newer than this aiops "
                              f"understands ({SCHEMA_VERSION})")
        row = db.execute("SELECT COUNT(*) AS n, COUNT(*) FILTER (WHERE closed_at IS NULL)"
                         " AS open FROM incidents").fetchone()
        size = db.execute("SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS b"
                          " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                          " WHERE n.nspname = ? AND c.relkind = 'r'", (db.schema,)).fetchone()
        return Inspection(path=where, exists=True, engine="postgresql", schema_version=version,
                          size=int(size["b"]), incidents=int(row["n"]),
                          open_incidents=int(row["open"]))
    except psycopg.Error as exc:
        return Inspection(path=where, exists=True, engine="postgresql",
                          problem=f"cannot read: {first_line(exc)}")
    finally:
        db.close()
