"""``aiops journal check`` and ``aiops attend``: the journal's health and a person's word.

``journal check`` says whether the journal file can be trusted (exit 0), or exactly what
is wrong with it (exit 2), without changing it. ``attend`` settles an incident the
daemon stopped in ``needs-attention`` because an action's outcome is unknown.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aiops.cli.app import app
from aiops.cli.cmd_daemon import DEFAULT_CONFIG, ConfigOpt, _fail, _load
from aiops.errors import AiopsError
from aiops.statedir import StateDir

journal_app = typer.Typer(help="The journal: check that it can be trusted.")
app.add_typer(journal_app, name="journal")
out = Console()


def _state(config: Path) -> StateDir:
    cfg = _load(config)
    return StateDir(cfg.resolve(cfg.state_dir))


@journal_app.command("check")
def check(
    config: ConfigOpt = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Inspect the journal without changing it; exit 2 (and say why) if it is unusable."""
    from aiops.journal import inspect

    found = inspect(_state(config).journal)
    if as_json:
        sys.stdout.write(json.dumps({
            "path": str(found.path), "exists": found.exists, "ok": found.ok,
            "problem": found.problem, "schema_version": found.schema_version,
            "size": found.size, "incidents": found.incidents,
            "open_incidents": found.open_incidents}) + "\n")
    elif not found.exists:
        out.print(f"{found.path}: no journal yet (the daemon creates one on its first start)")
    elif found.ok:
        out.print(f"{found.path}: ok: schema {found.schema_version}, {found.size} bytes, "
                  f"{found.incidents} incident(s), {found.open_incidents} open",
                  highlight=False)
    else:
        out.print(f"{found.path}: {found.problem}. The daemon refuses to start on it. To keep "
                  "its history, restore the file from a backup; to start over, run "
                  "`aiops run --new-journal` (the file is moved aside, not deleted).",
                  highlight=False, soft_wrap=True)
    raise typer.Exit(0 if found.ok else 2)


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
    from aiops.cli.cmd_runbook import _daemon_now
    from aiops.engines.remediate import attend_incident
    from aiops.journal import Journal

    chosen = [name for name, on in (("applied", applied), ("not-applied", not_applied),
                                    ("stop", stop)) if on]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --applied, --not-applied, --stop")
    cfg = _load(config)
    state = StateDir(cfg.resolve(cfg.state_dir))
    try:
        journal = Journal(state.journal)
    except AiopsError as exc:
        _fail(exc)
    try:
        inc = attend_incident(journal, incident, decision=chosen[0],
                              operator=getpass.getuser(), now=_daemon_now(cfg, journal),
                              note=note)
    except AiopsError as exc:
        _fail(exc)
    finally:
        journal.close()
    out.print(f"{inc.id}: {chosen[0]}; now {inc.status.value}", highlight=False)


__all__ = ["DEFAULT_CONFIG", "attend", "check"]
