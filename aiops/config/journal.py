"""Where the journal lives: an SQLite file in ``state_dir`` (default) or PostgreSQL.

One host needs nothing here. Replicas (a Lease pair, shards) share one PostgreSQL
journal: ``url`` names the server and database, the password is a reference (a file or
an environment variable, read when connecting), never part of the URL.

>>> JournalConfig().url is None
True
>>> JournalConfig(url="postgresql://aiops@db:5432/aiops", password_file="/run/pw").engine
'postgresql'
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from aiops.config.base import Section
from aiops.config.durations import Duration

SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class JournalConfig(Section):
    """The journal: every signal, incident, action and guard (SQLite unless `url` is set)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    url: str | None = Field(
        None, description="PostgreSQL connection URL (`postgresql://user@host:5432/db"
        "?sslmode=verify-full`) shared by every replica; unset: SQLite "
        "`journal.sqlite` in `state_dir`. Never put a password here.")
    password_file: str | None = Field(
        None, description="File holding the PostgreSQL password (relative to the config "
        "file), read when connecting.")
    password_env: str | None = Field(
        None, description="Environment variable holding the PostgreSQL password.")
    schema_name: str = Field(
        "aiops", alias="schema", description="PostgreSQL schema holding the tables (one per "
        "deployment or shard group; created by `aiops journal migrate`).")
    migrate: Literal["startup", "manual"] = Field(
        "startup", description="`startup`: the daemon brings an older schema up to date "
        "when it starts (under a lock, so replicas may start together); `manual`: it "
        "refuses an older schema until `aiops journal migrate` has run.")
    connect_timeout: Duration = Field(5.0, gt=0, description="PostgreSQL connect timeout.")
    statement_timeout: Duration = Field(
        30.0, gt=0, description="Longest a PostgreSQL statement (or a wait for a lock) may "
        "take, and longest a session may sit idle inside a transaction.")

    @property
    def engine(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "sqlite" if self.url is None else "postgresql"

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL (leave it unset for SQLite)")
        if parts.password is not None or "password" in parse_qs(parts.query):
            raise ValueError("holds a password: keep it out of the config; set "
                             "journal.password_file or journal.password_env instead")
        if not parts.hostname and "host" not in parse_qs(parts.query):
            raise ValueError("names no host")
        return url

    @field_validator("schema_name")
    @classmethod
    def _schema(cls, name: str) -> str:
        if not SCHEMA_NAME.match(name):
            raise ValueError("must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)")
        return name

    @model_validator(mode="after")
    def _one_password(self) -> JournalConfig:
        if self.password_file is not None and self.password_env is not None:
            raise ValueError("set journal.password_file or journal.password_env, not both")
        if self.url is None and (self.password_file or self.password_env):
            raise ValueError("journal.password_* needs journal.url (SQLite has no password)")
        return self
