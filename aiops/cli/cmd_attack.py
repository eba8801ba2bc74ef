"""``aiops bench attack``: hostile input against a running daemon (see aiops.bench.attack)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aiops.cli.app import bench_app


@bench_app.command("attack")
def bench_attack(
    bodies: Annotated[int, typer.Option(help="Fuzzed bodies to POST.")] = 10_000,
    slowloris: Annotated[int, typer.Option(help="Drip-feeding connections.")] = 5000,
    body_mb: Annotated[int, typer.Option(help="Size of the chunked body per route, MiB.")] = 1024,
    out: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
) -> None:
    """Fuzz, 1 GiB bodies, slowloris and a planted secret against `aiops run`.

    Exits 1 unless: no 5xx, no crashed cycle, RSS growth < 50 MB per body, /healthz
    p99 < 100 ms under the slowloris, and the planted secret found nowhere.
    """
    from aiops.bench.attack import run_attack

    report = run_attack(bodies=bodies, slowloris_connections=slowloris,
                        body_bytes=body_mb << 20)
    typer.echo(report.render())
    if out is not None:
        out.write_text(json.dumps(report.as_dict(), indent=2))
    ok = (report.server_errors == 0 and report.crashed_cycles == 0
          and all(b["rss_growth_mb"] < 50 for b in report.big_bodies.values())
          and report.slowloris.get("healthz_p99_ms", 1e9) < 100
          and report.secret_delivered and sum(report.secrets_found.values()) == 0)
    if not ok:
        raise typer.Exit(1)
