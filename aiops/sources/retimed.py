"""A wall-clock source (Prometheus) read by a daemon whose clock is accelerated.

Prometheus stamps samples with wall time and answers queries at wall times; a daemon at
60x lives on a simulated clock. :class:`Retimed` maps between them through the daemon's
:class:`~aiops.sim.timeframe.TimeFrame`: a pull at simulated ``now`` queries the source at
``frame.wall_at(now)`` and stamps what it returns with ``now``; a backfill maps its range
the same way and each sample's time back. So detectors, ``for:`` durations, cooldowns and
verification windows all count simulated seconds, while the source's own settings
(``timeout``, ``stale_after``, ``step``) stay in wall seconds.

>>> from aiops.model import Sample, SeriesKey
>>> class Wall:
...     name = "prometheus"
...     def pull(self, now): return [Sample(key=SeriesKey.of("x"), t=now, value=1.0)]
...     def backfill(self, start, end): return [Sample(key=SeriesKey.of("x"), t=start, value=1.0)]
...     def close(self): pass
>>> src = Retimed(Wall(), TimeFrame(wall=1000.0, sim=0.0, speed=60.0))
>>> src.pull(600.0)[0].t, src.backfill(60.0, 120.0)[0].t
(600.0, 60.0)
"""

from __future__ import annotations

from collections.abc import Sequence

from aiops.model import Sample
from aiops.sim.timeframe import TimeFrame
from aiops.sources.base import Source


class Retimed:
    """``source`` (on wall time) seen on the simulated clock of ``frame``."""

    def __init__(self, source: Source, frame: TimeFrame) -> None:
        self.source = source
        self.frame = frame
        self.name = source.name

    def pull(self, now: float) -> Sequence[Sample]:
        """The source's samples at the wall time of ``now``, stamped ``now``."""
        return [Sample(key=s.key, t=now, value=s.value)
                for s in self.source.pull(self.frame.wall_at(now))]

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        """History between the wall times of ``start`` and ``end``, on simulated time."""
        return [Sample(key=s.key, t=self.frame.sim_at(s.t), value=s.value)
                for s in self.source.backfill(self.frame.wall_at(start),
                                              self.frame.wall_at(end))]

    def close(self) -> None:
        self.source.close()
