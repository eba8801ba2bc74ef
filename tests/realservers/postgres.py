"""A real PostgreSQL for the session (Debian's server, ``initdb`` + ``pg_ctl`` on loopback).

Registered from ``tests/conftest.py``. One server per session (start-up ~5 s); each
test gets its own database, so tests never see each other's rows. The server uses
password authentication over TCP; journals reach it the way a deployment does, with
``journal.password_file``. A machine without the server fails these tests loudly
(``ServerError`` names the package to install); they never skip.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aiops.bench.pgserver import PgServer
from aiops.config.journal import JournalConfig
from aiops.journal import Journal
from aiops.journal.connect import postgres_backend

_names = itertools.count(1)


@dataclass(frozen=True)
class PgDatabase:
    """One fresh database on the session's server."""

    server: PgServer
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    @property
    def dsn(self) -> str:
        return self.server.dsn(self.name)

    def config(self, **kw: object) -> JournalConfig:
        """The ``journal:`` section a daemon would use for this database."""
        return JournalConfig.model_validate(
            {"url": self.url, "password_file": str(self.server.password_file), **kw})

    def journal(self, **kw: object) -> Journal:
        """A new connection (a new process's journal) to this database."""
        cfg = self.config(**kw)
        return Journal(backend=postgres_backend(cfg, Path("/")),
                       migrate=cfg.migrate == "startup")

    def yaml(self) -> str:
        """The ``journal:`` section as YAML, for a daemon's config file."""
        return (f"journal: {{url: '{self.url}', password_file: "
                f"'{self.server.password_file}'}}\n")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL server for the session (fsync off: behaviour, not speed)."""
    server = PgServer(fast=True)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_db(pg_server: PgServer) -> PgDatabase:
    """A fresh, empty database for one test."""
    name = f"t{next(_names)}"
    pg_server.create_database(name)
    return PgDatabase(server=pg_server, name=name)
