"""Runbook author and operator commands.

``aiops runbook lint|test|backtest``, ``aiops schema runbook``, ``aiops approve ID`` and
``aiops explain INCIDENT``.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aiops.cli.app import app, runbook_app
from aiops.config import format_duration
from aiops.errors import AiopsError, ConfigError, ConfigErrors

schema_app = typer.Typer(help="JSON Schemas for editors: `aiops schema runbook > runbook.json`.")
app.add_typer(schema_app, name="schema")

DEFAULT_CONFIG = Path("config/aiops.yaml")
ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Configuration file.", metavar="PATH")
]
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _fail(exc: AiopsError, code: int = 2) -> Any:
    errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
    for e in errors:
        err.print(f"[red]error[/red]: {e}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _known_metrics(extra: list[str]) -> set[str]:
    from aiops.sim.workloads import METRICS

    known = set(METRICS) | set(extra)
    try:
        from aiops.sources import promql_defaults

        known |= {q.name for q in getattr(promql_defaults, "DEFAULT_QUERIES", [])}
    except ImportError:
        pass
    return known


@runbook_app.command("lint")
def lint(
    files: Annotated[list[Path] | None, typer.Argument(help="Runbook files or directories.")]
    = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="Extra known metric name (repeatable).")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Fail on warnings too.")] = False,
) -> None:
    """Validate runbooks and check their semantics; findings name file:line:column."""
    from aiops.runbook.lint import lint_text
    from aiops.runbook.loader import runbook_files

    paths = runbook_files(files or [Path("runbooks")])
    known = _known_metrics(metric or [])
    errors = warnings = 0
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            err.print(f"{p}: error: cannot read: {exc.strerror}")
            errors += 1
            continue
        for f in lint_text(text, file=str(p), metrics=known):
            (err if f.severity == "error" else out).print(str(f), soft_wrap=True)
            errors += f.severity == "error"
            warnings += f.severity == "warning"
    out.print(f"{len(paths)} file(s): {errors} error(s), {warnings} warning(s)")
    if errors or (strict and warnings):
        raise typer.Exit(1)


@runbook_app.command("test")
def test(
    runbook: Annotated[Path, typer.Argument(help="Runbook file (or directory).")],
    fixture: Annotated[Path, typer.Option("--fixture", "-f", help="Signals/samples to replay.")],
    mode: Annotated[
        str | None, typer.Option(help="Override the mode: dry-run | approve | auto.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replay recorded signals through the runbook and print what would happen, step by step."""
    from aiops.engines.remediate_replay import replay
    from aiops.runbook import load_runbooks
    from aiops.runbook.fixture import parse_fixture

    if mode not in (None, "dry-run", "approve", "auto"):
        err.print(f"--mode: {mode!r} is not dry-run, approve or auto")
        raise typer.Exit(2)
    try:
        books = load_runbooks([runbook])
        fx = parse_fixture(fixture.read_text(encoding="utf-8"), file=str(fixture))
    except (ConfigError, ConfigErrors) as exc:
        _fail(exc)
    except OSError as exc:
        err.print(f"{fixture}: cannot read: {exc.strerror}")
        raise typer.Exit(2) from None
    result = replay(books, fx, mode_override=mode)
    if as_json:
        sys.stdout.write(json.dumps({
            "incidents": [i.to_dict() for i in result.incidents],
            "events": [e.to_dict() for e in result.events],
            "actions": [{"id": a.id, "kind": a.kind, "target": str(a.target),
                         "params": dict(a.params), "dry_run": a.dry_run}
                        for a in result.actions],
        }, indent=2, default=str) + "\n")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("at", "runbook", "event", "detail"):
        table.add_column(col, overflow="fold")
    for e in result.events:
        table.add_row(f"+{format_duration(e.t)}" if e.t else "+0s", e.runbook, e.kind, e.reason)
    out.print(table)
    statuses = [f"{i.runbook} -> {i.target}: {i.status}" for i in reversed(result.incidents)]
    out.print(f"{len(result.incidents)} incident(s), {len(result.actions)} actuator call(s)"
              + ("".join(f"\n  {s}" for s in statuses)))


@runbook_app.command("backtest")
def backtest(
    runbook: Annotated[Path, typer.Argument(help="Runbook file (or directory).")],
    start: Annotated[str, typer.Option("--from", help="Start offset into the trace (e.g. 0s).")]
    = "0s",
    end: Annotated[str, typer.Option("--to", help="End offset (e.g. 7d).")] = "1d",
    faults: Annotated[bool, typer.Option(help="Inject the sandbox's default faults.")] = True,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Replay this history CSV instead of the sandbox."),
    ] = None,
) -> None:
    """Replay metric history through detection and the runbook; report firings."""
    from aiops.config import parse_duration
    from aiops.engines.remediate_backtest import backtest as run_backtest
    from aiops.engines.remediate_backtest import backtest_history
    from aiops.runbook import load_runbooks

    try:
        books = load_runbooks([runbook])
        t0, t1 = parse_duration(start), parse_duration(end)
    except (ConfigError, ConfigErrors) as exc:
        _fail(exc)
    except ValueError as exc:
        err.print(f"--from/--to: {exc}")
        raise typer.Exit(2) from None
    began = time.monotonic()
    try:
        report = (backtest_history(books, csv, start=t0, end=t1) if csv is not None
                  else run_backtest(books, start=t0, end=t1, faults=faults))
    except ConfigError as exc:
        _fail(exc)
    took = time.monotonic() - began
    for row in report.timeline:
        out.print(f"+{format_duration(row.t - report.start):>9}  {row.runbook}  {row.target}  "
                  f"{row.decision}: {row.reason}", soft_wrap=True)
    for name in sorted(report.firings):
        out.print(f"{name}: fired {report.firings[name]} time(s), "
                  f"skipped {report.skips.get(name, 0)}")
    out.print(f"replayed {format_duration(report.end - report.start)} of metrics "
              f"({report.cycles} cycles) "
              f"in {took:.1f}s")


@schema_app.command("runbook")
def schema_runbook() -> None:
    """Print the runbook JSON Schema (for editor validation and completion)."""
    from aiops.runbook.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


def _journal(config: Path) -> tuple[Any, Any]:
    from aiops.config import load_config
    from aiops.journal.connect import JournalMissing, open_existing
    from aiops.statedir import StateDir

    try:
        cfg = load_config(config)
    except (ConfigError, ConfigErrors) as exc:
        _fail(exc)
    try:
        journal = open_existing(cfg.journal, StateDir(cfg.resolve(cfg.state_dir)),
                                base_dir=Path(cfg.base_dir))
    except JournalMissing as exc:
        err.print(str(exc), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except AiopsError as exc:
        _fail(exc)
    return cfg, journal


@app.command("approve")
def approve(
    incident: Annotated[str, typer.Argument(help="Incident id awaiting approval.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    approver: Annotated[
        str | None, typer.Option(help="Who approves (default: your user name).")
    ] = None,
) -> None:
    """Approve a pending remediation; the daemon runs it on its next cycle."""
    from aiops.engines.remediate import approve_incident
    from aiops.runbook import load_runbooks

    cfg, journal = _journal(config)
    try:
        books = {b.name: b for b in load_runbooks([cfg.resolve(p) for p in cfg.runbooks.paths])}
        now = _daemon_now(cfg, journal)
        inc = approve_incident(journal, books, incident, approver or getpass.getuser(), now)
    except AiopsError as exc:
        _fail(exc, 1)
    finally:
        journal.close()
    out.print(f"approved {inc.id}: {inc.runbook} on {inc.target} will run on the next cycle")


def _daemon_now(cfg: Any, journal: Any) -> float:
    """The daemon's clock may run accelerated: approve in its time, not the wall's.

    The latest of the wall clock, the daemon's saved clock and the journal's last event.
    """
    now = time.time()
    clock = cfg.resolve(cfg.state_dir) / "clock.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        now = max(now, float(json.loads(clock.read_text())["now"]))
    events = journal.events(limit=1)
    return max(now, events[0].t) if events else now


@app.command("explain")
def explain(
    incident: Annotated[str, typer.Argument(help="Incident id.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Why an incident happened: the signal, why it matched, every step and verification."""
    _, journal = _journal(config)
    try:
        doc = journal.incident_json(incident)
    finally:
        journal.close()
    if doc is None:
        err.print(f"no incident {incident!r}")
        raise typer.Exit(1)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        return
    opened = doc["opened_at"]
    out.print(f"[bold]{doc['id']}[/bold]: runbook {doc['runbook']} on {doc['target']} "
              f"({doc['mode']}) is [cyan]{doc['status']}[/cyan]", markup=True)
    out.print("why it ran:")
    for r in doc["reasons"]:
        out.print(f"  - {r['message']}  [{r['code']}]", soft_wrap=True, markup=False)
    out.print("plan:")
    for s in doc["steps"]:
        marker = "->" if s["index"] == doc["step"] and doc["phase"] != "closed" else "  "
        out.print(f"  {marker} {s['index']}. {s['description']}", soft_wrap=True)
    out.print("timeline:")
    for e in doc["timeline"]:
        out.print(f"  +{format_duration(e['t'] - opened):>8}  {e['kind']:<18} {e['reason']}",
                  soft_wrap=True)
    for a in doc["actions"]:
        o = a.get("outcome") or {}
        out.print(f"action {a['id']} {a['kind']} {json.dumps(a['params'])}: {a['status']}"
                  + (f" ({o.get('message')})" if o.get("message") else ""), soft_wrap=True)
