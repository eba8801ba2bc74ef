"""``aiops bench chaos``: kill -9 a real daemon N times while alerts drive its runbooks.

Prints kills, alerts acked, actions applied, doubled, lost and needs-attention (see
:mod:`aiops.bench.chaos`); exits 1 when anything was doubled or lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aiops.cli.app import bench_app


@bench_app.command("chaos")
def bench_chaos(
    kills: Annotated[int, typer.Option(min=0, help="Lives ended by SIGKILL.")] = 30,
    alerts: Annotated[int | None, typer.Option(
        min=1, help="Alerts delivered (default 3 per kill).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the kill plan and the alert groups.")] = 11,
    fixture: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False,
        help="A real Alertmanager v4 webhook body whose alerts are copied (default: a "
        "built-in one of the same shape).")] = None,
    workdir: Annotated[Path | None, typer.Option(
        file_okay=False, help="Keep the journal, logs and effect files here.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
) -> None:
    """Kill -9 the daemon mid-step again and again; count doubled and lost actions."""
    import tempfile

    from aiops.bench.chaos import CommandScenario, run_chaos

    work = workdir or Path(tempfile.mkdtemp(prefix="aiops-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    report = run_chaos(CommandScenario(work), kills=kills, alerts=alerts, seed=seed,
                       workdir=work, template=fixture)
    typer.echo(report.render())
    typer.echo(f"  (journal, log and effect files in {work})")
    if out is not None:
        out.write_text(json.dumps(report.as_dict(), indent=2))
    if report.doubled or report.lost:
        raise typer.Exit(1)
