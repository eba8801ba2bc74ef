"""``aiops incidents``: the journal's incidents as a table, or as JSON/YAML for machines.

``-o table`` (default) is one line per incident, fitted to the terminal (rich), followed by
each incident's timeline unless ``--no-timeline``; ``-o wide`` adds mode, step, closing
time and the latest reason; ``-o json`` / ``-o yaml`` print every field. ``--status``
(``open`` = running or awaiting approval) and ``--runbook`` filter. Times say which clock
they are on (:mod:`aiops.cli.clocks`).
"""

from __future__ import annotations

import difflib
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from aiops.cli.app import app
from aiops.cli.clocks import ClockName, daemon_clock, stamp
from aiops.cli.cmd_daemon import DEFAULT_CONFIG, ConfigOpt, _fail, _load
from aiops.config import format_duration
from aiops.errors import AiopsError

err = Console(stderr=True, highlight=False)
# With --runbook the journal is read this far back before filtering.
SCAN = 10_000


class Output(StrEnum):
    """``-o`` formats."""

    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"


def _console() -> Console:
    """The terminal's width (or ``COLUMNS``); no wrapping at all when piped (like kubectl)."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console(highlight=False)
    return Console(highlight=False, width=10_000, soft_wrap=True)


@app.command()
def incidents(
    config: ConfigOpt = DEFAULT_CONFIG,
    output: Annotated[
        Output, typer.Option("--output", "-o", help="table, wide, json or yaml.")
    ] = Output.table,
    status: Annotated[
        str | None,
        typer.Option(metavar="STATUS", help="Only this status (open = queued, awaiting "
                     "approval, running or needs-attention)."),
    ] = None,
    runbook: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME", help="Only incidents of this runbook (repeatable)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Most recent incidents to show.")] = 50,
    timeline: Annotated[
        bool, typer.Option("--timeline/--no-timeline", help="Include each incident's timeline.")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", hidden=True, help="Same as -o json.")
    ] = False,
) -> None:
    """List incidents: what fired, on what, how it ended; with each one's timeline."""
    from aiops.journal.connect import JournalMissing, open_existing
    from aiops.statedir import StateDir

    cfg = _load(config)
    fmt = Output.json if as_json else output
    try:
        journal = open_existing(cfg.journal, StateDir(cfg.resolve(cfg.state_dir)),
                                base_dir=Path(cfg.base_dir))
    except JournalMissing as exc:
        err.print(str(exc), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except AiopsError as exc:  # refused: empty, foreign or corrupt; unreachable server
        _fail(exc)
    try:
        rows = journal.incidents_json(SCAN if runbook else limit, status)
        if runbook:
            rows = [r for r in rows if r.get("runbook") in runbook][:limit]
        if not rows and (status or runbook):
            _explain_empty(journal.incidents_json(SCAN, None), status, runbook or [])
        if timeline or fmt is Output.wide:
            rows = [journal.incident_json(r["id"]) or r for r in rows]
    finally:
        journal.close()
    if fmt is Output.json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
    elif fmt is Output.yaml:
        sys.stdout.write(yaml.safe_dump(_plain(rows), sort_keys=False, allow_unicode=True))
    else:
        _print_table(rows, wide=fmt is Output.wide, timeline=timeline,
                     clock=daemon_clock(cfg))


def _plain(value: Any) -> Any:
    """JSON-compatible values only (what ``-o json`` would print), for safe YAML."""
    return json.loads(json.dumps(value, default=str))


def _explain_empty(every: list[dict[str, Any]], status: str | None, runbooks: list[str]) -> None:
    """Nothing matched: say which values exist, and the closest to what was asked."""
    notes = []
    if status and status != "open":
        known = sorted({str(r.get("status")) for r in every} | {"open"})
        close = difflib.get_close_matches(status, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        notes.append(f"no incident has status {status!r} (statuses: {', '.join(known)}){hint}")
    for name in runbooks:
        known = sorted({str(r.get("runbook")) for r in every})
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            notes.append(f"no incident of runbook {name!r}{hint}")
    for note in notes:
        err.print(note, soft_wrap=True)


def _latest_reason(row: dict[str, Any]) -> str:
    events = row.get("timeline") or []
    if events:
        return str(events[-1].get("reason", ""))
    reasons = row.get("reasons") or []
    last = reasons[-1] if reasons else ""
    return str(last.get("message", "")) if isinstance(last, dict) else str(last)


def _print_table(
    rows: list[dict[str, Any]], *, wide: bool, timeline: bool, clock: ClockName
) -> None:
    console = _console()
    if not rows:
        console.print("no incidents")
        return
    meaning = "simulated: sandbox, replay or --speed" if clock == "sim" else "real time"
    table = Table(box=None, header_style="bold", pad_edge=False, caption_justify="left",
                  caption=f"times: UTC on the {clock} clock ({meaning})")
    # What a person needs to act on (the id for `aiops explain`, the status) never shrinks;
    # on a narrow terminal the other columns are cut short with an ellipsis.
    for key, name in (("id", "ID"), ("runbook", "RUNBOOK"), ("target", "TARGET"),
                      ("status", "STATUS"), ("", f"OPENED (UTC, {clock})"),
                      ("", f"TOOK ({clock})")):
        keep = key in ("id", "status")
        width = max([len(name)] + [len(str(r.get(key, ""))) for r in rows]) if keep else None
        table.add_column(name, no_wrap=True, overflow="ellipsis", min_width=width)
    if wide:
        for name in ("MODE", "STEP", f"CLOSED (UTC, {clock})"):
            table.add_column(name, no_wrap=True)
        table.add_column("LATEST", overflow="ellipsis", no_wrap=True)
    for row in rows:
        opened, closed = row.get("opened_at"), row.get("closed_at")
        took = ""
        if isinstance(opened, int | float) and isinstance(closed, int | float):
            took = format_duration(closed - opened)
        cells = [str(row.get("id")), str(row.get("runbook")), str(row.get("target")),
                 str(row.get("status")), _when(opened, clock), took]
        if wide:
            cells += [str(row.get("mode", "")), f"{row.get('step', '')}/{row.get('phase', '')}",
                      _when(closed, clock), _latest_reason(row)]
        table.add_row(*cells)
    console.print(table)
    if not timeline:
        return
    for row in reversed(rows):  # oldest first, like a log
        events = row.get("timeline") or []
        if not events:
            continue
        console.print()
        console.print(f"[bold]{row.get('id')}[/bold]  {row.get('runbook')} → {row.get('target')}")
        detail = Table(box=None, header_style="bold", pad_edge=False)
        detail.add_column(f"TIME (UTC, {clock})", no_wrap=True)
        detail.add_column("EVENT", no_wrap=True)
        detail.add_column("DETAIL", overflow="fold")
        for ev in events:
            detail.add_row(_when(ev.get("t"), clock), str(ev.get("kind", "")),
                           str(ev.get("reason", "")))
        console.print(detail)


def _when(t: object, clock: ClockName) -> str:
    if isinstance(t, int | float):
        return stamp(float(t), clock).removesuffix(f" UTC ({clock})")
    return ""

