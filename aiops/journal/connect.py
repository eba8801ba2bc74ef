"""Open the journal a configuration names: SQLite in ``state_dir``, or PostgreSQL.

The one place the daemon and the CLI turn ``journal:`` into a :class:`Journal`. The
PostgreSQL password is a reference (``password_file`` or ``password_env``) resolved at
every connect, never stored in the config or the process's arguments; with neither set,
libpq's own ``PGPASSWORD``/``~/.pgpass`` apply.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiops.config.journal import JournalConfig
from aiops.errors import PermanentError
from aiops.journal.check import Inspection, JournalUnusable, inspect, move_aside
from aiops.journal.store import Journal
from aiops.statedir import StateDir


class JournalMissing(PermanentError):
    """A command that reads the journal found none (the daemon has not run yet)."""


def password_reader(cfg: JournalConfig, base_dir: Path) -> Callable[[], str | None] | None:
    """A callable reading the configured password when a connection is made."""
    if cfg.password_file is not None:
        path = Path(cfg.password_file).expanduser()
        path = path if path.is_absolute() else base_dir / path

        def from_file() -> str:
            return path.read_text(encoding="utf-8").strip()

        return from_file
    if cfg.password_env is not None:
        name = cfg.password_env

        def from_env() -> str:
            value = os.environ.get(name)
            if value is None:
                raise OSError(f"environment variable {name} (journal.password_env) is not set")
            return value

        return from_env
    return None


def postgres_backend(cfg: JournalConfig, base_dir: Path) -> Any:
    """A connected :class:`~aiops.journal.postgres.PostgresBackend` for ``cfg``."""
    from aiops.journal.postgres import PostgresBackend

    assert cfg.url is not None
    return PostgresBackend(cfg.url, schema=cfg.schema_name,
                           password=password_reader(cfg, base_dir),
                           connect_timeout=cfg.connect_timeout,
                           statement_timeout=cfg.statement_timeout)


def open_journal(cfg: JournalConfig, state: StateDir, *, base_dir: Path,
                 migrate: bool | None = None, new_journal: bool = False,
                 now: float | None = None, log: Any = None) -> Journal:
    """The configured journal, its schema checked (and migrated unless told not to).

    ``migrate`` defaults to the config's ``journal.migrate``. ``new_journal`` moves a
    refused SQLite file aside and starts a new one (a PostgreSQL journal is never
    replaced: fix or restore the database).
    """
    may_migrate = cfg.migrate == "startup" if migrate is None else migrate
    if cfg.url is not None:
        return Journal(backend=postgres_backend(cfg, base_dir), migrate=may_migrate)
    try:
        return Journal(state.journal, migrate=may_migrate)
    except JournalUnusable as exc:
        if not new_journal:
            raise
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None
                                                           else now))
        moved = move_aside(state.journal, stamp=stamp)
        if log is not None:
            log.warning("journal_replaced", problem=exc.problem, moved_to=str(moved))
        return Journal(state.journal, migrate=may_migrate)


def open_existing(cfg: JournalConfig, state: StateDir, *, base_dir: Path) -> Journal:
    """The journal for a command that reads or amends it (``incidents``, ``approve``):
    raises :class:`JournalMissing` rather than creating one."""
    if cfg.url is None and not state.journal.exists():
        raise JournalMissing(f"no journal at {state.journal}: the daemon has not run with "
                             "this config yet")
    return open_journal(cfg, state, base_dir=base_dir)


def inspect_configured(cfg: JournalConfig, state: StateDir, *, base_dir: Path) -> Inspection:
    """What ``aiops journal check`` reports, for either engine, changing nothing."""
    if cfg.url is None:
        return inspect(state.journal)
    from aiops.journal.postgres import inspect as inspect_pg
    from aiops.journal.postgres import redact

    where = f"{redact(cfg.url)} (schema {cfg.schema_name})"
    return inspect_pg(lambda: postgres_backend(cfg, base_dir), where)
