"""``aiops run``, ``aiops check`` and ``aiops incidents``: the daemon and its journal."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from aiops.cli.app import app
from aiops.config import Config, format_duration, load_config, parse_duration
from aiops.errors import AiopsError, ConfigError, ConfigErrors
from aiops.journal.check import JournalUnusable

DEFAULT_CONFIG = Path("config/aiops.yaml")
ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Configuration file.", show_default=True)
]
err = Console(stderr=True)


def _load(path: Path) -> Config:
    try:
        return load_config(path)
    except (ConfigError, ConfigErrors) as exc:
        _fail(exc)


def _fail(exc: AiopsError) -> NoReturn:
    lines = [e.render() for e in exc.errors] if isinstance(exc, ConfigErrors) else [str(exc)]
    for line in lines:
        err.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _speed(value: str | None) -> tuple[float | None, bool]:
    if value is None:
        return None, False
    if value == "max":
        return None, True
    try:
        speed = float(value)
    except ValueError:
        raise typer.BadParameter("use a number such as 60, or 'max'") from None
    if speed <= 0:
        raise typer.BadParameter("speed must be positive")
    return speed, False


@app.command()
def run(
    config: ConfigOpt = DEFAULT_CONFIG,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and journal, but change nothing.")
    ] = False,
    speed: Annotated[
        str | None,
        typer.Option(help="Clock speed: 60 = one simulated hour per minute; 'max' = no waiting."),
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--for", help="Stop after this much simulated time (e.g. 2h).")
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="console (humans) or json (machines).")
    ] = "console",
    port: Annotated[int | None, typer.Option(help="HTTP port, overriding the config.")] = None,
    new_journal: Annotated[bool, typer.Option(
        "--new-journal",
        help="If the journal file is refused (empty, foreign, corrupt), move it aside and "
        "start a new one. Its history, cooldowns, run windows and approvals are then lost.",
    )] = False,
) -> None:
    """Run the daemon: poll, detect, decide, heal. Stops cleanly on SIGTERM/SIGINT."""
    from aiops.daemon import Daemon, RunOptions
    from aiops.telemetry.logging import configure_logging

    if log_format not in ("console", "json"):
        raise typer.BadParameter("use console or json", param_hint="--log-format")
    fmt: Literal["console", "json"] = "json" if log_format == "json" else "console"
    configure_logging(fmt)
    cfg = _load(config)
    spd, stepped = _speed(speed)
    try:
        span = parse_duration(duration) if duration else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--for") from None
    if stepped and span is None and not once:
        raise typer.BadParameter("--speed max needs --for DURATION", param_hint="--speed")
    try:
        daemon = Daemon(
            cfg, RunOptions(dry_run=dry_run, speed=spd, stepped=stepped or once, port=port,
                            new_journal=new_journal)
        )
    except (ConfigError, ConfigErrors, JournalUnusable) as exc:
        _fail(exc)
    if once:
        report = daemon.run_once()
        raise typer.Exit(0 if report.ok else 1)
    if stepped:
        assert span is not None
        daemon.run_stepped(span)
        return
    daemon.run_forever(span)


@app.command()
def check(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Validate the configuration and every runbook; exit 2 with located errors."""
    from aiops.runbook import load_runbooks

    cfg = _load(config)
    try:
        books = load_runbooks([cfg.resolve(p) for p in cfg.runbooks.paths])
    except (ConfigError, ConfigErrors) as exc:
        _fail(exc)
    Console().print(
        f"[green]ok[/green]: {config} (source {cfg.source.type}, actuator {cfg.actuator.type}),"
        f" {len(books)} runbook(s): {', '.join(sorted(b.name for b in books))}",
        highlight=False,
    )


def _ts(value: object) -> str:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


@app.command()
def incidents(
    config: ConfigOpt = DEFAULT_CONFIG,
    limit: Annotated[int, typer.Option(help="Most recent incidents to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    timeline: Annotated[
        bool, typer.Option("--timeline/--no-timeline", help="Show each incident's timeline.")
    ] = True,
) -> None:
    """Print the journal as a timeline: signal, score, why it matched, actions, verification."""
    from aiops.journal.connect import JournalMissing, open_existing
    from aiops.statedir import StateDir

    cfg = _load(config)
    try:
        journal = open_existing(cfg.journal, StateDir(cfg.resolve(cfg.state_dir)),
                                base_dir=Path(cfg.base_dir))
    except JournalMissing as exc:
        err.print(str(exc), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except AiopsError as exc:
        _fail(exc)
    try:
        rows = journal.incidents_json(limit, None)
        details = [journal.incident_json(r["id"]) or r for r in rows] if timeline else rows
    finally:
        journal.close()
    if as_json:
        sys.stdout.write(json.dumps(details, indent=2, default=str) + "\n")
        return
    _print_incidents(details, timeline=timeline)


def _print_incidents(rows: list[dict[str, Any]], *, timeline: bool) -> None:
    console = Console()
    if not rows:
        console.print("no incidents")
        return
    for row in reversed(rows):
        opened, closed = row.get("opened_at"), row.get("closed_at")
        took = ""
        if isinstance(opened, int | float) and isinstance(closed, int | float):
            took = f" in {format_duration(closed - opened)}"
        console.print(
            f"[bold]{row.get('id')}[/bold]  {row.get('runbook')} → {row.get('target')}  "
            f"[cyan]{row.get('status')}[/cyan]{took}  opened {_ts(opened)}",
            highlight=False,
        )
        events = row.get("timeline") or row.get("events") or []
        if not timeline or not events:
            continue
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("time")
        table.add_column("event")
        table.add_column("detail", overflow="fold")
        for ev in events:
            table.add_row(_ts(ev.get("t")), str(ev.get("kind", "")), str(ev.get("reason", "")))
        console.print(table)
        console.print()
