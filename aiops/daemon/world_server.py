"""``aiops world-server``: one sandbox world, served to Prometheus and to the daemon.

Composes a :class:`~aiops.sim.World` (the embedded sandbox: trace, seed, fault schedule
from the config's ``source.sandbox``), its clock (wall time at start, running ``speed``
times faster) and the routes of :mod:`aiops.http.world` on the HTTP edge. Prometheus
scrapes ``/metrics``; a daemon with ``actuator.type: world`` acts through
``/v1/actions`` and follows ``/v1/clock``. So there is one world: a restart the daemon
applies is the restart Prometheus sees, and every party counts the same simulated time.
The world lives as long as the process (it is not persisted).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiops.config.server import HttpLimits
from aiops.config.sources import SandboxConfig
from aiops.engines.clock import Clock
from aiops.engines.exporter import render_samples
from aiops.http import HttpServer, Principals, build_app
from aiops.http.world import world_endpoints
from aiops.model import Action, Outcome, Target, TargetState
from aiops.sim import World, open_world
from aiops.sim.timeframe import TimeFrame


class ServedWorld:
    """A world on its clock, as the routes need it (thread-safe: the world's lock)."""

    def __init__(self, world: World, clock: Clock) -> None:
        self.world = world
        self.clock = clock
        self.scrapes = 0

    def frame(self) -> TimeFrame:
        frame = self.clock.frame
        assert frame is not None, "the world server's clock is never stepped"
        return frame

    def now(self) -> float:
        return self.clock.now()

    def metrics(self) -> bytes:
        self.scrapes += 1
        return render_samples(self.world.samples(self.clock.now()))

    def faults(self) -> list[dict[str, Any]]:
        with self.world.lock:
            self.world.advance(self.clock.now())
            return [f.to_dict() for f in self.world.faults]

    def exists(self, target: Target) -> bool:
        return target in self.world.targets

    def apply(self, action: Action) -> Outcome:
        return self.world.apply(action, self.clock.now())

    def observe(self, target: Target) -> TargetState:
        return self.world.observe(target, self.clock.now())

    def applied(self, action_id: str) -> Mapping[str, Any] | None:
        return self.world.applied(action_id)


class WorldServer:
    """The world and its HTTP server; :meth:`start` returns once it listens."""

    def __init__(self, sandbox: SandboxConfig, *, speed: float, host: str = "127.0.0.1",
                 port: int = 9470, principals: Principals | None = None,
                 limits: HttpLimits | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        start = time.time()
        self.clock = Clock(origin=start, speed=speed, wall_origin=start)
        self.served = ServedWorld(open_world(sandbox, None, self.clock.now()), self.clock)
        app = build_app(endpoints=world_endpoints(world=self.served), principals=principals,
                        limits=limits)
        self.host = host
        self.http = HttpServer(app, host=host, port=port, limits=limits)

    @property
    def world(self) -> World:
        return self.served.world

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> WorldServer:
        self.http.start()
        return self

    def stop(self) -> None:
        self.http.stop()

    def __enter__(self) -> WorldServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
