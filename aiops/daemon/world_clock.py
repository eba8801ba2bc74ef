"""Whose clock the daemon runs on: its own, or the world server's.

The world (``actuator.type: world``) is the clock of the run, so the daemon's ``for:``,
cooldowns and verification windows count the same simulated seconds as the world and
Prometheus' scrapes of it. A Prometheus source is then read through
:class:`~aiops.sources.retimed.Retimed`: queried at wall time, stamped on the daemon's
clock. Same for any accelerated clock on Prometheus.
"""

from __future__ import annotations

import time

import structlog

from aiops.actuators.base import Actuator
from aiops.engines.clock import Clock
from aiops.errors import AiopsError
from aiops.sources.base import Source


def follow_world(
    *, actuator: Actuator, clock: Clock, source: Source, source_type: str, stepped: bool,
    speed: float | None, log: structlog.typing.FilteringBoundLogger,
) -> tuple[Clock, Source]:
    """The clock and source to run on (``speed``: the one asked on the command line)."""
    frame_of = getattr(actuator, "clock_frame", None)
    if frame_of is not None and not stepped:
        try:
            frame = frame_of()
        except AiopsError as exc:
            raise AiopsError(f"cannot read the world server's clock: {exc}") from None
        if speed is not None and speed != frame.speed:
            log.warning("speed_from_world", asked=speed, world=frame.speed)
        clock = Clock.following(frame, wall=time.time())
        log.info("clock_follows_world", speed=frame.speed)
    frame = clock.frame
    if source_type == "prometheus" and frame is not None and not frame.identity:
        from aiops.sources.retimed import Retimed

        source = Retimed(source, frame)
    return clock, source
