"""Is this file a journal we may open? Refuse empty, foreign and corrupt files, loudly.

A journal holds every guard (cooldowns, run windows, approvals, action keys): silently
starting a fresh one over a damaged file would forget them all. So an existing file
that is empty, not SQLite, another program's SQLite, or damaged is refused with one
line naming the file, what is wrong and the way out; only a missing file is created.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "journal.sqlite"
>>> _ = p.write_bytes(b"")
>>> inspect(p).problem
'the file is empty (0 bytes)'
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from aiops.errors import PermanentError
from aiops.journal.ddl import APPLICATION_ID, SCHEMA_VERSION

SQLITE_MAGIC = b"SQLite format 3\x00"
WAY_OUT = "run 'aiops journal check' for details, or start with --new-journal to move it aside"


class JournalUnusable(PermanentError):
    """The journal exists but cannot be trusted (or used); the daemon must not start on it.

    ``where`` is the file, or the database URL (without secrets); ``way_out`` what to do.
    """

    def __init__(self, path: Path | str, problem: str, *, way_out: str = WAY_OUT) -> None:
        self.path = path
        self.problem = problem
        self.way_out = way_out
        super().__init__(f"{path}: refusing to use the journal: {problem}; {way_out}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Inspection:
    """What :func:`inspect` found: ``problem`` is empty for a usable (or absent) journal.

    ``path`` is the file, or the database URL (without secrets) of a PostgreSQL journal.
    """

    path: Path | str
    exists: bool
    engine: str = "sqlite"
    problem: str = ""
    schema_version: int = 0
    size: int = 0
    incidents: int = 0
    open_incidents: int = 0

    @property
    def ok(self) -> bool:
        return not self.problem


def inspect(path: Path) -> Inspection:
    """Examine ``path`` without changing it (read-only connection)."""
    if not path.exists():
        return Inspection(path=path, exists=False)
    size = path.stat().st_size
    if size == 0:
        return Inspection(path=path, exists=True, problem="the file is empty (0 bytes)")
    with path.open("rb") as f:
        head = f.read(100)
    if not head.startswith(SQLITE_MAGIC):
        return Inspection(path=path, exists=True, size=size,
                          problem="the file is not an SQLite database")
    if size < 512 or size % 512:
        return Inspection(path=path, exists=True, size=size,
                          problem=f"the file is truncated ({size} bytes is not whole pages)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return Inspection(path=path, exists=True, size=size, problem=f"cannot open: {exc}")
    try:
        app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        # Journals before schema 3 carry no application id, but a schema version and
        # the signals table; anything else is somebody else's database.
        legacy = app_id == 0 and version >= 1 and "signals" in tables
        if app_id != APPLICATION_ID and not legacy:
            return Inspection(path=path, exists=True, size=size,
                              problem="the file is another program's SQLite database, "
                              "not an aiops journal")
        if version > SCHEMA_VERSION:
            return Inspection(path=path, exists=True, size=size, schema_version=version,
                              problem=f"schema version {version} is newer than this aiops "
                              f"understands ({SCHEMA_VERSION})")
        check = [r[0] for r in db.execute("PRAGMA quick_check")]
        if check != ["ok"]:
            return Inspection(path=path, exists=True, size=size, schema_version=version,
                              problem=f"the database is corrupt ({check[0]})")
        incidents = open_ = 0
        if "incidents" in tables:
            incidents = int(db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0])
            open_ = int(db.execute(
                "SELECT COUNT(*) FROM incidents WHERE closed_at IS NULL").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        return Inspection(path=path, exists=True, size=size,
                          problem=f"the database is corrupt ({exc})")
    finally:
        db.close()
    return Inspection(path=path, exists=True, size=size, schema_version=version,
                      incidents=incidents, open_incidents=open_)


def ensure_usable(path: Path) -> None:
    """Raise :class:`JournalUnusable` unless ``path`` is absent or a sound journal."""
    found = inspect(path)
    if not found.ok:
        raise JournalUnusable(path, found.problem)


def move_aside(path: Path, *, stamp: str) -> Path | None:
    """Rename a refused journal (and its WAL files) to ``<name>.refused-<stamp>``."""
    if not path.exists():
        return None
    dest = path.with_name(f"{path.name}.refused-{stamp}")
    path.rename(dest)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(dest.with_name(dest.name + suffix))
    return dest
