"""Export a journal as JSON lines and import it into another: moving engines keeps history.

``aiops journal export`` writes a header line (format, schema version, engine) and one
line per row, parents first (:data:`~aiops.journal.ddl.TABLES`): ``{"table": ...,
"row": {column: value}}``. ``aiops journal import`` loads such a file into an *empty*
journal of either engine in one transaction, keeping every id (incidents, events,
actions, signals) and the insertion order, so incidents, timelines, actions, approvals,
cooldowns and ``max_runs`` windows read back exactly as before. A bad line is refused
with its line number and what is wrong; nothing is written then.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

from aiops.errors import PermanentError
from aiops.journal.ddl import REBUILD_ALERT_STATE, SCHEMA_VERSION, TABLES
from aiops.journal.store import Journal

FORMAT = "aiops-journal-export"
FORMAT_VERSION = 1
#: Rows of ``meta`` that belong to one database, not to its history.
LOCAL_META = frozenset({"probe", "application"})
#: How rows are ordered on export (parents and insertion order kept).
ORDER = {"meta": "key", "blobs": "hash", "signals": "id", "events": "id",
         "actions": "started_at, id"}
#: Physical columns a dialect keeps for itself (PostgreSQL's insertion order).
LOCAL_COLUMNS = frozenset({"seq"})


class ImportRefused(PermanentError):
    """An export file (or the target journal) cannot be imported; nothing was written."""

    def __init__(self, message: str, *, line: int | None = None, source: str = "") -> None:
        where = f"{source}:{line}: " if line is not None else (f"{source}: " if source else "")
        super().__init__(f"{where}{message}")


def export(journal: Journal, out: IO[str], *, now: float | None = None) -> dict[str, int]:
    """Write every row of ``journal`` to ``out``; rows written per table."""
    counts = dict.fromkeys(TABLES, 0)
    header = {"format": FORMAT, "version": FORMAT_VERSION, "schema": SCHEMA_VERSION,
              "engine": journal.engine, "exported_at": time.time() if now is None else now}
    out.write(json.dumps(header) + "\n")
    with journal.transaction() as tx:
        if journal.engine == "postgresql":  # one snapshot for every table
            tx._x("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for table in TABLES:
            order = ORDER.get(table, journal.backend.insertion_order)
            for row in tx._x(f"SELECT * FROM {table} ORDER BY {order}"):
                values = {k: v for k, v in dict(row).items() if k not in LOCAL_COLUMNS}
                if table == "meta" and values.get("key") in LOCAL_META:
                    continue
                out.write(json.dumps({"table": table, "row": values}, sort_keys=True) + "\n")
                counts[table] += 1
    return counts


def _parse(lines: Iterable[str], source: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """``(line number, table, row)`` for each row line, after checking the header."""
    numbered = enumerate(lines, start=1)
    try:
        _, first = next(numbered)
        header = json.loads(first)
    except StopIteration:
        raise ImportRefused("the file is empty", source=source) from None
    except json.JSONDecodeError as exc:
        raise ImportRefused(f"not JSON: {exc.msg}", line=1, source=source) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ImportRefused(f"not an aiops journal export (no \"format\": \"{FORMAT}\")",
                            line=1, source=source)
    if header.get("version") != FORMAT_VERSION:
        raise ImportRefused(f"export format version {header.get('version')!r} is not "
                            f"{FORMAT_VERSION}", line=1, source=source)
    schema = header.get("schema")
    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        raise ImportRefused(f"exported by schema {schema!r}, newer than this aiops "
                            f"({SCHEMA_VERSION})", line=1, source=source)
    for n, text in numbered:
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportRefused(f"not JSON: {exc.msg}", line=n, source=source) from None
        if not isinstance(item, dict) or item.get("table") not in TABLES or \
                not isinstance(item.get("row"), dict):
            raise ImportRefused("expected {\"table\": one of " + ", ".join(TABLES)
                                + ", \"row\": {...}}", line=n, source=source)
        yield n, str(item["table"]), item["row"]


def import_rows(journal: Journal, lines: Iterable[str], *, source: str = "<input>"
                ) -> dict[str, int]:
    """Load an export into ``journal`` (which must hold no history); rows per table."""
    counts = dict.fromkeys(TABLES, 0)
    with journal.transaction() as tx:
        for table in ("signals", "incidents", "events", "actions"):
            if tx._rows(f"SELECT 1 AS x FROM {table} LIMIT 1"):
                raise ImportRefused(f"the target journal ({journal.where}) already holds "
                                    f"{table}: import only into a new, empty journal")
        columns = {t: journal.backend.columns(t) - LOCAL_COLUMNS for t in TABLES}
        for n, table, row in _parse(lines, source):
            unknown = sorted(set(row) - columns[table])
            if unknown:
                raise ImportRefused(f"{table}: unknown column {unknown[0]!r}", line=n,
                                    source=source)
            if table == "meta" and row.get("key") in LOCAL_META:
                continue
            names = sorted(row)
            try:
                tx._x(f"INSERT INTO {table} ({', '.join(names)}) VALUES"
                      f" ({', '.join('?' * len(names))})", [row[c] for c in names])
            except journal.backend.integrity_errors as exc:
                raise ImportRefused(f"{table}: {exc}", line=n, source=source) from None
            counts[table] += 1
        for table in ("signals", "events"):
            journal.backend.restart_ids(table)
        for stmt in REBUILD_ALERT_STATE:  # derived from signals, never exported
            tx._x(stmt)
    return counts
