"""``aiops world-server`` and ``aiops demo``: the sandbox world served, and the real loop.

``aiops world-server`` serves one sandbox world to Prometheus (``/metrics``) and to a
daemon with ``actuator.type: world`` (``/v1/actions``, ``/v1/clock``). ``aiops demo``
starts the world server, Debian Prometheus and Alertmanager with generated configs and
the daemon on the Prometheus source, prints where to look, and stops them all on
Ctrl-C or SIGTERM (docs/demo.md).
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from aiops.cli.app import app
from aiops.cli.clocks import stamp
from aiops.config import format_duration, load_config, parse_duration
from aiops.errors import AiopsError

err = Console(stderr=True, highlight=False, soft_wrap=True)


def _say(line: str) -> None:
    err.print(line, markup=False)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _positive(speed: float) -> float:
    if speed <= 0:
        raise typer.BadParameter("speed must be positive", param_hint="--speed")
    return speed


@app.command("world-server")
def world_server(
    port: Annotated[int, typer.Option("--port", "-p", help="Port to serve on.")] = 9470,
    listen: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    config: Annotated[Path, typer.Option(
        "--config", "-c", help="Config whose source.sandbox (trace, seed, faults) is used.")
    ] = Path("config/aiops.yaml"),
    speed: Annotated[float, typer.Option(
        help="Simulated seconds per real second (60: an hour a minute).")] = 60.0,
) -> None:
    """Serve one sandbox world: /metrics for Prometheus, /v1/actions for the daemon."""
    from aiops.daemon.world_server import WorldServer
    from aiops.http import Principals
    from aiops.telemetry.logging import configure_logging

    configure_logging("console")
    try:
        cfg = load_config(config)
    except AiopsError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(2) from None
    if listen not in ("127.0.0.1", "localhost", "::1"):
        _say("error: the world server takes actions without tokens: it listens on loopback "
             "only (--listen 127.0.0.1)")
        raise typer.Exit(2)
    server = WorldServer(cfg.source.sandbox, speed=_positive(speed), host=listen, port=port,
                         principals=Principals([], []))
    try:
        server.start()
    except RuntimeError:
        _say(f"error: port {port} on {listen} is in use: stop what holds it or pass --port N")
        raise typer.Exit(2) from None
    stop = threading.Event()
    _stop_on_signals(stop)
    _say(f"world server on {server.url}: /metrics (Prometheus), /v1/actions, /v1/clock; "
         f"speed {speed:g}x, world created at {stamp(server.clock.now(), 'sim')}")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()


@app.command()
def demo(
    config: Annotated[Path, typer.Option(
        "--config", "-c", help="The configuration the demo starts from (the embedded default).")
    ] = Path("config/aiops.yaml"),
    speed: Annotated[float, typer.Option(
        help="Clock speed of the whole run: 60 = a simulated hour per real minute.")] = 60.0,
    workdir: Annotated[Path, typer.Option(
        "--dir", help="Where generated configs, data and logs go (emptied at each start).")
    ] = Path("state/demo"),
    duration: Annotated[str | None, typer.Option(
        "--for", metavar="DURATION", help="Stop after this much simulated time (e.g. 2h).")
    ] = None,
) -> None:
    """The whole real loop: world server, Debian Prometheus + Alertmanager, the daemon."""
    from aiops.bench.realservers import ServerError
    from aiops.demo.stack import Demo, DemoError

    _positive(speed)
    try:
        span = parse_duration(duration) if duration else None
        load_config(config)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--for") from None
    except AiopsError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(2) from None
    stop = threading.Event()
    _stop_on_signals(stop)
    _say(f"==> [demo] starting in {workdir}: world server, Alertmanager, Prometheus, daemon "
         f"(speed {speed:g}x)")
    run = Demo(workdir=workdir, config=config, speed=speed, daemon_output=None)
    try:
        run.start()
    except (DemoError, ServerError, OSError) as exc:
        _say(f"error: demo did not start: {exc}")
        raise typer.Exit(1) from None
    failed = None
    try:
        _banner(run, speed)
        end = None if span is None else time.monotonic() + span / speed
        while not stop.wait(0.5):
            failed = run.exited()
            if failed or (end is not None and time.monotonic() >= end):
                break
    finally:
        _say("==> [demo] stopping the daemon, the world server, Prometheus and Alertmanager")
        run.stop()
    if failed:
        _say(f"error: {failed}")
        raise typer.Exit(1)


def _banner(run: object, speed: float) -> None:
    from aiops.demo.stack import Demo

    assert isinstance(run, Demo)
    u = run.urls
    hour = format_duration(3600 / speed)
    query = "aiops_sandbox_memory_usage"
    lines = [
        f"==> [demo] ready: one world at {speed:g}x (a simulated hour every {hour} (wall)); "
        "every duration given to Prometheus and Alertmanager is scaled to it",
        f"  page:          {u['daemon']}/",
        f"  prometheus:    {u['prometheus']}/graph?g0.expr={query}&g0.range_input=5m",
        f"  alertmanager:  {u['alertmanager']}/",
        f"  world server:  {u['world']}/metrics   (actions: POST {u['world']}/v1/actions)",
        f"  files:         {run.workdir}/ (generated configs, logs, demo.json)",
        "faults (start on the sim clock, then the real wait from now):",
    ]
    faults = run.faults()
    width = max((len(f["name"]) for f in faults), default=0)
    for f in faults:
        wait = (f["start"] - f["now"]) / speed
        when = f"in {format_duration(wait)} (wall)" if wait >= 1 else "under way"
        lines.append(f"  {f['name']:<{width}}  {f['workload']:<8}  at "
                     f"{stamp(f['start'], 'sim')}  {when}")
    lines.append(f"watch: aiops incidents -c {run.workdir}/aiops.yaml"
                 "   stop: Ctrl-C (stops everything it started)")
    for line in lines:
        _say(line)
