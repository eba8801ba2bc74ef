"""The start-up banner of ``aiops run``: what will happen, when, and where to look.

Printed once before the loops start: the backends, the clock (simulated or wall, and its
speed), for the sandbox its fault schedule in simulated time *and* in real seconds from
now, the URL of the HTTP page/API, and the commands to watch. Every time says which clock
it is on. Pure: it takes ``now`` and returns lines.

>>> lines = banner(version="0.1.0", source="sandbox", actuator="sandbox", runbooks=5,
...     config="config/aiops.yaml", now=0.0, speed=60.0, clock="sim", url=None,
...     faults=[FaultInfo(name="leak", workload="cart", start=1500.0)])
>>> [line for line in lines if "leak" in line]
['  leak  cart      at 1970-01-01 00:25:00 UTC (sim)  in 25s (wall)']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiops.cli.clocks import ClockName, stamp
from aiops.config import format_duration


@dataclass(frozen=True, kw_only=True)
class FaultInfo:
    """A scheduled sandbox fault, as the banner shows it."""

    name: str
    workload: str
    start: float  # simulated Unix seconds
    end: float | None = None
    healed_at: float | None = None


def _wait(seconds: float, speed: float | None) -> str:
    if speed is None:
        return "as soon as the stepped clock gets there"
    real = seconds / speed
    return f"in {format_duration(real) if real >= 1 else '<1s'} (wall)"


def _fault_line(f: FaultInfo, *, now: float, speed: float | None, clock: ClockName,
                width: int) -> str:
    when = f"at {stamp(f.start, clock)}"
    if f.healed_at is not None:
        status = f"healed at {stamp(f.healed_at, clock)}"
    elif f.start <= now:
        status = "under way" if f.end is None or now < f.end else "over"
    else:
        status = _wait(f.start - now, speed)
    return f"  {f.name:<{width}}  {f.workload:<8}  {when}  {status}"


def banner(
    *,
    version: str,
    source: str,
    actuator: str,
    runbooks: int,
    config: str,
    now: float,
    speed: float | None,
    clock: ClockName,
    url: str | None,
    faults: Sequence[FaultInfo] = (),
    listen: str | None = None,
    program: str = "aiops",
) -> list[str]:
    """The banner's lines (no trailing newlines)."""
    lines = [f"aiops {version}: source {source}, actuator {actuator}, {runbooks} runbook(s)"
             f" from {config}"]
    if speed is None:
        pace = "stepped: as fast as the machine goes"
    elif speed == 1:
        pace = "real time"
    else:
        pace = f"{speed:g}x: one simulated hour every {format_duration(3600 / speed)} (wall)"
    lines.append(f"clock: {clock}, {pace}; now {stamp(now, clock)}")
    if faults:
        width = max(len(f.name) for f in faults)
        lines.append(f"faults (start on the {clock} clock, then the real wait from now):")
        lines += [_fault_line(f, now=now, speed=speed, clock=clock, width=width)
                  for f in faults]
    if url is not None:
        where = f" (listening on {listen})" if listen not in (None, "127.0.0.1", "localhost") \
            else ""
        lines.append(f"page/API: {url}/{where}  incidents: {url}/v1/incidents"
                     f"  metrics: {url}/metrics")
    lines.append(f"watch: {program} incidents -c {config}   (then: {program} explain ID)")
    lines.append("log lines below carry wall-clock times; incident and fault times are on "
                 f"the {clock} clock")
    return lines
