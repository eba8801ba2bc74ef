"""``aiops run`` and ``aiops check``: the daemon and its configuration."""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from aiops.cli.app import app
from aiops.cli.banner import FaultInfo, banner
from aiops.cli.clocks import daemon_clock
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


def _fail(exc: AiopsError, code: int = 2) -> NoReturn:
    lines = [e.render() for e in exc.errors] if isinstance(exc, ConfigErrors) else [str(exc)]
    for line in lines:
        # The prefix is markup, the message is not (paths and labels may hold brackets).
        err.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


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
        typer.Option(metavar="N|max",
                     help="Clock speed: 60 = one simulated hour per minute; 'max' = no waiting."),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option("--for", metavar="DURATION",
                     help="Stop after this much simulated time (e.g. 2h)."),
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", metavar="console|json",
                          help="console (humans) or json (machines).")
    ] = "console",
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="HTTP port, overriding the config "
                                 "(0 picks a free one).")
    ] = None,
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
    serving = cfg.http.enabled and not (once or stepped)
    if serving:
        port = _free_port_or_fail(cfg.http.listen, cfg.http.port if port is None else port,
                                  config)
    try:
        daemon = Daemon(
            cfg, RunOptions(dry_run=dry_run, speed=spd, stepped=stepped or once, port=port,
                            new_journal=new_journal)
        )
    except AiopsError as exc:
        _fail(exc)
    try:
        if once:
            report = daemon.run_once()
            raise typer.Exit(0 if report.ok else 1)
        _print_banner(daemon, config, port if serving else None)
        if stepped:
            assert span is not None
            daemon.run_stepped(span)
            return
        daemon.run_forever(span)
    except AiopsError as exc:
        _fail(exc, code=1)
    except OSError as exc:  # the HTTP port taken between the check and the bind, a full disk
        err.print(f"[red]error:[/red] {exc.strerror or exc} ({exc.filename or 'start-up'})",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _free_port_or_fail(host: str, port: int, config: Path) -> int:
    """The port to serve on (a free one for 0); a taken port is one line with the fix."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc})"
            err.print(
                f"[red]error:[/red] http port {port} on {host} {reason} (another aiops "
                f"running?): stop it, or pass --port N (0 picks a free port), or change "
                f"http.port in {config}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        return int(sock.getsockname()[1])


def _ip(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return "127.0.0.1"  # a host name: shown as configured


def _print_banner(daemon: Any, config: Path, port: int | None) -> None:
    """What will happen and where to look, before the first log line."""
    from aiops import __version__

    cfg = daemon.config
    world = getattr(daemon.source, "world", None)
    faults = [
        FaultInfo(name=f.name, workload=f.workload, start=f.start, end=f.end,
                  healed_at=f.healed_at)
        for f in getattr(world, "faults", [])
    ]
    # A wildcard address is reached locally through loopback.
    host = "127.0.0.1" if ipaddress.ip_address(_ip(cfg.http.listen)).is_unspecified \
        else cfg.http.listen
    url = f"http://{host}:{port}" if port is not None else None
    lines = banner(
        version=__version__, source=cfg.source.type, actuator=cfg.actuator.type,
        runbooks=len(daemon.runbooks), config=str(config), now=daemon.clock.now(),
        program=sys.argv[0] if Path(sys.argv[0]).name == "aiops" else "aiops",
        speed=daemon.clock.speed, clock=daemon_clock(cfg, daemon.clock.speed or 0.0),
        url=url, faults=faults, listen=cfg.http.listen,
    )
    for line in lines:
        err.print(line, highlight=False, soft_wrap=True, markup=False)


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
