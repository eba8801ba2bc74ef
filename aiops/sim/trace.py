"""Demand traces: a ``timestamp,value`` series, read from CSV and looked up by time.

A :class:`Trace` answers "what was the demand level at this trace position", linearly
interpolated between points and wrapping around at the end so a long run never runs
out of trace.

>>> tr = parse_trace_csv("timestamp,value\\n2014-07-01 00:00:00,10\\n2014-07-01 00:30:00,30\\n")
>>> tr.level(tr.start + 900.0)
20.0
>>> tr.level(tr.start + 3600.0)  # wraps: one period is two 30-minute steps
10.0
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aiops.errors import ConfigError

BUILTIN_PREFIX = "builtin:"
BUILTIN_TRACES = {"nyc_taxi": "nyc_taxi.csv"}


def parse_time(text: str) -> float:
    """Unix seconds of an ISO 8601 time (naive means UTC) or of a plain number.

    >>> parse_time("1970-01-01T00:01:00")
    60.0
    >>> parse_time("120")
    120.0
    """
    try:
        return float(text)
    except ValueError:
        pass
    stamp = datetime.fromisoformat(text.strip())
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


@dataclass(frozen=True, kw_only=True, eq=False)
class Trace:
    """A demand series with strictly increasing ``times`` (Unix seconds)."""

    spec: str
    times: npt.NDArray[np.float64] = field(repr=False)
    values: npt.NDArray[np.float64] = field(repr=False)

    @property
    def start(self) -> float:
        return float(self.times[0])

    @cached_property
    def step(self) -> float:
        """Typical spacing of the points (the median gap)."""
        return float(np.median(np.diff(self.times))) if len(self.times) > 1 else 1.0

    @cached_property
    def period(self) -> float:
        """Span after which lookups wrap around: last - first + one step."""
        return float(self.times[-1] - self.times[0]) + self.step

    @cached_property
    def reference(self) -> float:
        """The median value: the level at which a workload sees its ``base_rps``."""
        return float(np.median(self.values))

    @cached_property
    def fingerprint(self) -> str:
        """Short identity used to check a restored world runs on the same trace."""
        return f"{len(self.values)}:{float(np.sum(self.values)):.3f}:{self.start:.0f}"

    def level(self, position: float) -> float:
        """Value at trace time ``position``, linearly interpolated, wrapping at the end."""
        x = self.start + (position - self.start) % self.period
        last = float(self.times[-1])
        if x <= last:
            return float(np.interp(x, self.times, self.values))
        frac = (x - last) / (self.period - (last - self.start))
        return float(self.values[-1] + frac * (self.values[0] - self.values[-1]))


def parse_trace_csv(text: str, *, spec: str = "inline") -> Trace:
    """Parse ``timestamp,value`` rows (a header row is skipped) into a :class:`Trace`."""
    times: list[float] = []
    values: list[float] = []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2:
            raise ConfigError("expected timestamp,value", file=spec, line=n)
        try:
            value = float(row[1])
            t = parse_time(row[0])
        except ValueError:
            if not times:  # a header
                continue
            raise ConfigError(f"unreadable row {row!r}", file=spec, line=n) from None
        if times and t <= times[-1]:
            raise ConfigError("timestamps must increase", file=spec, line=n)
        times.append(t)
        values.append(value)
    if len(times) < 2:
        raise ConfigError("a trace needs at least two rows", file=spec)
    return Trace(spec=spec, times=np.asarray(times), values=np.asarray(values))


def load_trace(spec: str) -> Trace:
    """Read the trace named by ``spec``: ``builtin:nyc_taxi`` or a path to a CSV file.

    This and :mod:`aiops.sim.store` are the only places the sandbox reads files.
    """
    if spec.startswith(BUILTIN_PREFIX):
        name = spec.removeprefix(BUILTIN_PREFIX)
        if name not in BUILTIN_TRACES:
            raise ConfigError(
                f"unknown builtin trace {name!r}; known: {', '.join(sorted(BUILTIN_TRACES))}",
                field="source.sandbox.trace",
            )
        text = resources.files("aiops").joinpath("data", BUILTIN_TRACES[name]).read_text()
        return parse_trace_csv(text, spec=spec)
    try:
        text = Path(spec).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read trace: {exc}", field="source.sandbox.trace") from exc
    return parse_trace_csv(text, spec=spec)
