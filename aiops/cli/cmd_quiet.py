"""``aiops bench quiet``: does the detector stay silent on anomaly-free noise?"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from aiops.cli.app import bench_app
from aiops.cli.cmd_detect import ConfigOpt, PresetOpt, detect_config


@bench_app.command("quiet")
def bench_quiet(
    preset_name: PresetOpt = "default",
    config: ConfigOpt = None,
    seeds: Annotated[int, typer.Option(min=1, help="Series per noise family.")] = 16,
    points: Annotated[int, typer.Option(min=10, help="Points per series (5 min apart).")] = 4032,
) -> None:
    """Anomaly-free noise families: series that reach the threshold (should be none)."""
    from aiops.bench.quiet import run

    cfg = detect_config(config, preset_name)
    rows = run(cfg, seeds=seeds, points=points)
    base = next(r for r in rows if r.family == "gaussian").median_max
    table = Table(title=f"Anomaly-free noise: {seeds} series per family, {points:,} points")
    for col in ("family", f"series >= {cfg.threshold:g}", "median largest score", "x gaussian"):
        table.add_column(col, justify="left" if col == "family" else "right")
    for r in rows:
        ratio = r.median_max / base if base > 0 else float("nan")
        table.add_row(r.family, f"{r.reaching} / {r.series}", f"{r.median_max:.3f}",
                      f"{ratio:.2f}")
    console = Console()
    console.print(table)
    total = sum(r.reaching for r in rows)
    console.print(f"{total} of {sum(r.series for r in rows)} anomaly-free series reach "
                  f"the threshold {cfg.threshold:g} after NAB's probation", highlight=False)
