"""``aiops journal check | migrate | export | import``, ``aiops attend``, ``aiops bench journal``.

``journal check`` says whether the configured journal (SQLite file or PostgreSQL) can be
trusted (exit 0), or exactly what is wrong with it (exit 2), without changing it.
``journal migrate`` brings its schema up to date. ``export`` / ``import`` move the whole
history between journals (JSON lines), e.g. from SQLite to PostgreSQL. ``attend`` settles
an incident the daemon stopped in ``needs-attention`` because an action's outcome is
unknown.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aiops.cli.app import app, bench_app
from aiops.cli.cmd_daemon import DEFAULT_CONFIG, ConfigOpt, _fail, _load
from aiops.config import Config
from aiops.errors import AiopsError
from aiops.journal import Journal
from aiops.statedir import StateDir

journal_app = typer.Typer(help="The journal: check, migrate, export and import it.")
app.add_typer(journal_app, name="journal")
out = Console()


def _state(cfg: Config) -> StateDir:
    return StateDir(cfg.resolve(cfg.state_dir))


def _open(cfg: Config, *, migrate: bool | None = None) -> Journal:
    from aiops.journal.connect import open_journal

    try:
        return open_journal(cfg.shard_journal(), _state(cfg), base_dir=Path(cfg.base_dir),
                            migrate=migrate)
    except AiopsError as exc:
        _fail(exc)


@journal_app.command("check")
def check(
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Inspect the journal without changing it; exit 2 (and say why) if it is unusable."""
    from aiops.journal.connect import inspect_configured
    from aiops.journal.ddl import SCHEMA_VERSION

    cfg = _load(config)
    found = inspect_configured(cfg.shard_journal(), _state(cfg), base_dir=Path(cfg.base_dir))
    if as_json:
        sys.stdout.write(json.dumps({
            "path": str(found.path), "engine": found.engine, "exists": found.exists,
            "ok": found.ok, "problem": found.problem, "schema_version": found.schema_version,
            "size": found.size, "incidents": found.incidents,
            "open_incidents": found.open_incidents}) + "\n")
    elif not found.ok and found.engine == "postgresql":
        out.print(f"{found.path}: {found.problem}. The daemon refuses to start on it.",
                  highlight=False, soft_wrap=True)
    elif not found.exists:
        out.print(f"{found.path}: no journal yet (the daemon creates one on its first start,"
                  " or run `aiops journal migrate`)", highlight=False, soft_wrap=True)
    elif found.ok:
        pending = (f" (migration to {SCHEMA_VERSION} pending: `aiops journal migrate`)"
                   if found.schema_version < SCHEMA_VERSION else "")
        out.print(f"{found.path}: ok: {found.engine}, schema {found.schema_version}{pending}, "
                  f"{found.size} bytes, {found.incidents} incident(s), "
                  f"{found.open_incidents} open", highlight=False, soft_wrap=True)
    else:
        out.print(f"{found.path}: {found.problem}. The daemon refuses to start on it. To keep "
                  "its history, restore the file from a backup; to start over, run "
                  "`aiops run --new-journal` (the file is moved aside, not deleted).",
                  highlight=False, soft_wrap=True)
    raise typer.Exit(0 if found.ok else 2)


@journal_app.command("migrate")
def migrate(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Create the journal's tables or bring them up to this aiops' schema version."""
    from aiops.journal.ddl import SCHEMA_VERSION

    journal = _open(_load(config), migrate=True)
    try:
        before, where = journal.migrated_from, journal.where
    finally:
        journal.close()
    if before == SCHEMA_VERSION:
        out.print(f"{where}: schema {SCHEMA_VERSION}: up to date", highlight=False)
    else:
        out.print(f"{where}: schema {before} -> {SCHEMA_VERSION}", highlight=False)


@journal_app.command("export")
def export(
    config: ConfigOpt = DEFAULT_CONFIG,
    output: Annotated[Path | None, typer.Option(
        "--out", "-o", help="File to write (default: standard output).")] = None,
) -> None:
    """Write the whole journal as JSON lines (a header, then one row per line)."""
    from aiops.journal.transfer import export as export_rows

    journal = _open(_load(config))
    try:
        if output is None:
            counts = export_rows(journal, sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as fh:
                counts = export_rows(journal, fh)
    except AiopsError as exc:
        _fail(exc)
    finally:
        journal.close()
    summary = ", ".join(f"{n} {t}" for t, n in counts.items())
    Console(stderr=True).print(f"exported {summary} from {journal.where}", highlight=False)


@journal_app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="A file written by `aiops journal export`.")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Load an export into the configured journal, which must hold no history yet."""
    from aiops.journal.transfer import import_rows

    journal = _open(_load(config))
    try:
        with source.open(encoding="utf-8") as fh:
            counts = import_rows(journal, fh, source=str(source))
    except OSError as exc:
        _fail(AiopsError(f"{source}: cannot read: {exc.strerror}"))
    except AiopsError as exc:
        _fail(exc)
    finally:
        journal.close()
    summary = ", ".join(f"{n} {t}" for t, n in counts.items())
    out.print(f"imported {summary} into {journal.where}", highlight=False)


@app.command()
def attend(
    incident: Annotated[str, typer.Argument(help="Incident id in needs-attention.")],
    applied: Annotated[bool, typer.Option(
        "--applied", help="The action did take effect: go on as if it completed.")] = False,
    not_applied: Annotated[bool, typer.Option(
        "--not-applied", help="The action did not take effect: apply it now (same id).")]
    = False,
    stop: Annotated[bool, typer.Option("--stop", help="Close the incident.")] = False,
    note: Annotated[str, typer.Option(help="Why (journaled).")] = "",
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Settle an incident stopped because an action's outcome is unknown."""
    from aiops.cli.cmd_runbook import _daemon_now, _journal
    from aiops.engines.operators import Attendance, attend_incident

    chosen = [d for d, on in ((Attendance.APPLIED, applied),
                              (Attendance.NOT_APPLIED, not_applied), (Attendance.STOP, stop))
              if on]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --applied, --not-applied, --stop")
    cfg, journal = _journal(config)
    try:
        inc = attend_incident(journal, incident, decision=chosen[0],
                              operator=getpass.getuser(), now=_daemon_now(cfg, journal),
                              note=note)
    except AiopsError as exc:
        _fail(exc)
    finally:
        journal.close()
    out.print(f"{inc.id}: {chosen[0].value}; now {inc.status.value}", highlight=False)


@bench_app.command("journal")
def bench_journal(
    signals: Annotated[int, typer.Option(help="Alerts to decide.", min=10)] = 2000,
    targets: Annotated[int, typer.Option(help="Workloads they hit.", min=1)] = 50,
    url: Annotated[str | None, typer.Option(
        help="PostgreSQL URL to measure (default: a temporary local server).")] = None,
    password_file: Annotated[Path | None, typer.Option(
        help="File holding the password for --url.")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="Write JSON here too.")] = None,
) -> None:
    """Remediation decisions/s on SQLite and PostgreSQL (1 and 2 replicas), vs SQLite."""
    from aiops.bench import journal_bench
    from aiops.bench.realservers import ServerError
    from aiops.telemetry.logging import configure_logging

    configure_logging("console", level="warning")
    try:
        runs = journal_bench.run(signals=signals, targets=targets, url=url,
                                 password_file=str(password_file) if password_file else None)
    except (ServerError, AiopsError) as exc:
        _fail(AiopsError(str(exc)))
    base = runs[0].per_second
    table = Table(title=f"journal: {signals} alerts over {targets} targets")
    for col in ("engine", "replicas", "decisions/s", "vs sqlite", "actions", "doubled"):
        table.add_column(col, justify="left" if col == "engine" else "right")
    for r in runs:
        table.add_row(r.engine, str(r.replicas), f"{r.per_second:.0f}",
                      f"{r.per_second / base:.2f}x" if base else "-", str(r.actions),
                      str(r.doubled))
    out.print(table)
    if output is not None:
        output.write_text(json.dumps({"signals": signals, "targets": targets,
                                      "runs": [r.to_dict() for r in runs]}, indent=2) + "\n")


__all__ = ["DEFAULT_CONFIG", "attend", "bench_journal", "check", "export", "import_",
           "migrate"]
