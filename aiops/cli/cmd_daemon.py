"""``aiops run`` and ``aiops check``: the daemon and its configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, NoReturn

import typer
from rich.console import Console

from aiops.cli.app import app
from aiops.config import Config, load_config, parse_duration
from aiops.errors import AiopsError, ConfigError, ConfigErrors

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
            cfg, RunOptions(dry_run=dry_run, speed=spd, stepped=stepped or once, port=port)
        )
    except (ConfigError, ConfigErrors) as exc:
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
