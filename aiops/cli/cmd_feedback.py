"""``aiops feedback`` and ``aiops sensitivity``: an operator's word on an incident, and what
the daemon learnt from it.

``aiops feedback INCIDENT --false-positive|--true-positive [--note ...]`` journals the
verdict on the incident (as ``POST /v1/incidents/{id}/feedback`` does; the person is the
login name, or ``--by``); ``aiops models compare`` reports precision per model from it.
With ``models.sensitivity.enabled`` repeated false positives raise the series' signal
floor (bounded, journaled); ``aiops sensitivity`` lists the raised series and
``--reset SERIES`` / ``--reset-all`` puts them back to the live floor.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from aiops.cli.app import app
from aiops.cli.cmd_daemon import DEFAULT_CONFIG, ConfigOpt, _fail, _load
from aiops.config import Config
from aiops.errors import AiopsError, NotFound

if TYPE_CHECKING:
    from aiops.journal import Journal

out = Console(highlight=False, soft_wrap=True)


def _open(config: Path) -> tuple[Config, Journal]:
    from aiops.journal.connect import JournalMissing, open_existing
    from aiops.statedir import StateDir

    cfg = _load(config)
    try:
        return cfg, open_existing(cfg.journal, StateDir(cfg.resolve(cfg.state_dir)),
                                  base_dir=Path(cfg.base_dir))
    except JournalMissing as exc:
        _fail(exc, 1)
    except AiopsError as exc:  # refused: empty, foreign or corrupt; unreachable server
        _fail(exc)


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


@app.command()
def feedback(
    incident: Annotated[str, typer.Argument(help="Incident id.")],
    false_positive: Annotated[
        bool, typer.Option("--false-positive", help="It was a false alarm.")
    ] = False,
    true_positive: Annotated[
        bool, typer.Option("--true-positive", help="It was a real problem.")
    ] = False,
    note: Annotated[str, typer.Option(help="Why (kept with the verdict).")] = "",
    by: Annotated[str | None, typer.Option(help="Who (default: the login name).")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Say whether an incident was a false alarm; compare reports precision from it."""
    from aiops.cli.cmd_runbook import _daemon_now
    from aiops.engines.feedback import record_feedback, rule_of
    from aiops.models.feedback import Verdict

    if false_positive == true_positive:
        _fail(NotFound("give exactly one of --false-positive and --true-positive"), 2)
    verdict = Verdict.FALSE_POSITIVE if false_positive else Verdict.TRUE_POSITIVE
    cfg, journal = _open(config)
    try:
        result = record_feedback(journal, incident, verdict, by=_who(by), note=note,
                                 now=_daemon_now(cfg, journal),
                                 rule=rule_of(cfg.models.sensitivity))
    except AiopsError as exc:
        _fail(exc, 1)
    finally:
        journal.close()
    fb = result.feedback
    out.print(f"{fb.incident}: {fb.verdict.value} by {fb.by}" + (f" ({fb.note})" if fb.note
                                                                  else ""))
    if result.raised is not None and result.raised > 0:
        out.print(f"signal floor of {fb.series} raised by {result.raised:g} (undo: aiops "
                  "sensitivity --reset SERIES)")
    elif result.raised is not None:
        out.print(f"signal floor of {fb.series} back to the live floor")


@app.command()
def sensitivity(
    reset: Annotated[
        str | None, typer.Option(metavar="SERIES", help="Put this series back to the live "
                                 "floor (as listed, e.g. 'cpu_usage{workload=\"cart\"}').")
    ] = None,
    reset_all: Annotated[bool, typer.Option("--reset-all", help="Every series.")] = False,
    by: Annotated[str | None, typer.Option(help="Who (default: the login name).")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Series whose signal floor feedback raised; --reset undoes it (journaled)."""
    from aiops.cli.cmd_runbook import _daemon_now
    from aiops.engines.feedback import events_after, read, reset_sensitivity
    from aiops.models.feedback import raises

    cfg, journal = _open(config)
    try:
        if reset is not None or reset_all:
            done = reset_sensitivity(journal, None if reset_all else reset, by=_who(by),
                                     now=_daemon_now(cfg, journal))
            if not done and reset is not None:
                _fail(NotFound(f"{reset} has no raised floor (see `aiops sensitivity`)"), 1)
            for series in done:
                out.print(f"{series}: back to the live floor")
            return
        current = raises(read(events_after(journal, 0))[1])
    finally:
        journal.close()
    state = "on" if cfg.models.sensitivity.enabled else "off (raises are not applied)"
    out.print(f"sensitivity learning {state}; live signal floor {cfg.detect.signal_floor:g}")
    if not current:
        out.print("no series has a raised floor")
    for series, extra in sorted(current.items()):
        out.print(f"{series}: floor {cfg.detect.signal_floor + extra:g} (+{extra:g})")
