"""``aiops sandbox-exporter`` and the Prometheus/Alertmanager benchmarks.

``aiops sandbox-exporter --port N`` serves the sandbox world's series in the Prometheus
text format so a real Prometheus can scrape them (query them back with
``source.prometheus.preset: sandbox``). ``aiops bench prom-cycle`` and
``aiops bench webhook`` time a poll cycle over a real Prometheus and webhook ingestion.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from aiops.cli.app import app, bench_app
from aiops.config import Config, load_config
from aiops.errors import AiopsError


def _config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        return load_config(path)
    except AiopsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("sandbox-exporter")
def sandbox_exporter(
    port: Annotated[int, typer.Option("--port", "-p", help="Port to serve /metrics on.")] = 9465,
    listen: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Config whose source.sandbox is used.")
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second (60: an hour a minute).")
    ] = 1.0,
) -> None:
    """Serve the sandbox world's metrics for a real Prometheus to scrape."""
    from aiops.engines.clock import Clock
    from aiops.engines.exporter import ExpositionServer, SandboxExporter
    from aiops.sim import open_world

    if speed <= 0:
        raise typer.BadParameter("speed must be positive")
    cfg = _config(config)
    clock = Clock(origin=time.time(), speed=speed)
    world = open_world(cfg.source.sandbox, None, clock.now())
    exporter = SandboxExporter(world, clock.now)
    server = ExpositionServer(exporter.render, host=listen, port=port)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    typer.echo(f"serving sandbox metrics on {server.url} (speed {speed:g})", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@bench_app.command("prom-cycle")
def bench_prom_cycle(
    series: Annotated[int, typer.Option(help="Series served to Prometheus.")] = 10_000,
    cycles: Annotated[int, typer.Option(help="Measured cycles.")] = 5,
    out: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
) -> None:
    """A poll cycle over N series from a real Prometheus: query, parse, score, plan."""
    from aiops.bench.prometheus_cycle import run_bench
    from aiops.bench.realservers import ServerError
    from aiops.telemetry.logging import configure_logging

    configure_logging(level="warning")
    try:
        result = run_bench(series=series, cycles=cycles)
    except (ServerError, RuntimeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(result.render())
    if out is not None:
        out.write_text(json.dumps(result.as_dict(), indent=2))


@bench_app.command("webhook")
def bench_webhook(
    alerts: Annotated[int, typer.Option(help="Alerts to deliver.")] = 10_000,
    per_request: Annotated[int, typer.Option(help="Alerts per webhook body.")] = 1,
    concurrency: Annotated[int, typer.Option(help="Concurrent senders.")] = 8,
    out: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
) -> None:
    """Webhook ingestion rate and latency on loopback; checks that none is lost."""
    from aiops.bench.webhook_load import run_bench
    from aiops.telemetry.logging import configure_logging

    configure_logging(level="warning")
    result = run_bench(alerts=alerts, per_request=per_request, concurrency=concurrency)
    typer.echo(result.render())
    if out is not None:
        out.write_text(json.dumps(result.as_dict(), indent=2))
    if result.lost:
        raise typer.Exit(1)
