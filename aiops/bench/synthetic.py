"""Synthetic workloads for the benchmarks: four gauges per workload, served fast.

Each scrape draws fresh noise for every series (3% around the metric's level), with a
10x latency spike on the workloads :meth:`SyntheticWorkloads.spike` chose. The text
exposition is rendered from line prefixes built once, so 100,000 series render in a
few tens of milliseconds (``prometheus_client``'s generic renderer took seconds, past
Prometheus' scrape timeout, which then closed the connection mid-body).

>>> w = SyntheticWorkloads(2)
>>> text = w.render().decode()
>>> text.splitlines()[1].startswith('bench_cpu_usage{namespace="bench",workload="w00000"} ')
True
>>> len(w.keys), text.count("# TYPE")
(8, 4)
"""

from __future__ import annotations

import threading

import numpy as np

from aiops.model import SeriesKey

METRICS = {"cpu_usage": 0.5, "memory_usage": 3e8, "latency_p99": 0.2, "request_rate": 50.0}
PREFIX = "bench_"


class SyntheticWorkloads:
    """Four gauges per workload with fresh noise per scrape; some latencies can spike."""

    def __init__(self, workloads: int, seed: int = 7, *, namespace: str = "bench") -> None:
        self.namespace = namespace
        # Grouped by metric (the exposition format wants a family's lines together).
        self.keys = [
            SeriesKey.of(m, namespace=namespace, workload=f"w{i:05d}")
            for m in METRICS
            for i in range(workloads)
        ]
        self.base = np.array([METRICS[k.metric] for k in self.keys])
        self.spiked = np.zeros(len(self.keys), dtype=bool)
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._head = {m: f"# TYPE {PREFIX}{m} gauge\n" for m in METRICS}
        self._prefixes = [
            (self._head[k.metric] if i % workloads == 0 else "")
            + f'{PREFIX}{k.metric}{{namespace="{namespace}",workload="{k.label("workload")}"}} '
            for i, k in enumerate(self.keys)
        ]
        self.scrapes = 0

    def spike(self, share: float) -> int:
        """Multiply the latency of ``share`` of the workloads by 10; returns how many."""
        idx = [i for i, k in enumerate(self.keys) if k.metric == "latency_p99"]
        chosen = idx[: max(1, int(len(idx) * share))]
        with self._lock:
            self.spiked[chosen] = True
        return len(chosen)

    def values(self) -> np.ndarray:
        """One scrape's values (fresh noise)."""
        with self._lock:
            noise = 1.0 + 0.03 * self._rng.standard_normal(len(self.keys))
            return np.asarray(self.base * noise * np.where(self.spiked, 10.0, 1.0))

    def render(self) -> bytes:
        """The text exposition of one scrape."""
        self.scrapes += 1
        values = self.values().tolist()
        return ("\n".join([p + repr(v) for p, v in zip(self._prefixes, values, strict=True)])
                + "\n").encode()
