"""The host source: this machine's CPU, memory and load through psutil.

Series are keyed ``{namespace="host", workload=<hostname>}`` so runbooks written for
workloads apply to a host too; systemd units can be watched by ``unit`` label through
the systemd actuator's ``observe``.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

import psutil

from aiops.errors import SourceUnavailable
from aiops.model import Sample, SeriesKey


class HostSource:
    """Samples ``cpu_usage`` (cores busy), ``memory_usage`` (bytes), ``load1``, ``swap_usage``."""

    name = "host"

    def __init__(self, hostname: str | None = None) -> None:
        self.hostname = hostname or socket.gethostname()
        psutil.cpu_percent(None)  # prime the counter: the first call always returns 0

    def _key(self, metric: str) -> SeriesKey:
        return SeriesKey.of(metric, namespace="host", workload=self.hostname)

    def pull(self, now: float) -> Sequence[Sample]:
        try:
            cores = psutil.cpu_count() or 1
            cpu = psutil.cpu_percent(None) / 100.0 * cores
            mem = psutil.virtual_memory()
            swap = psutil.swap_memory()
            load1 = psutil.getloadavg()[0]
        except (OSError, RuntimeError) as exc:
            raise SourceUnavailable(f"psutil failed: {exc}") from exc
        values = {
            "cpu_usage": cpu,
            "memory_usage": float(mem.total - mem.available),
            "swap_usage": float(swap.used),
            "load1": float(load1),
        }
        return [Sample(key=self._key(m), t=now, value=v) for m, v in values.items()]

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        return []

    def close(self) -> None:
        return None
