"""Metrics of the remote-write receiver: samples by result, requests, backlog, lag.

The scrape-to-score lag (time from a sample's timestamp, the scrape, to the moment its
score is computed) is observed for every scored sample, 100,000 at a time, so its
histogram is kept in numpy (:class:`ArrayHistogram`) and exported as an ordinary
Prometheus histogram: ``prometheus_client``'s own costs a Python call per observation.

>>> h = ArrayHistogram("lag_seconds", "lag", buckets=(0.5, 1.0))
>>> import numpy as np
>>> h.observe(np.array([0.2, 0.7, 3.0]))
>>> h.counts.tolist(), h.quantile(0.5)
([1, 1, 1], 0.75)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

#: Results of ``aiops_remote_write_samples_total``.
SAMPLE_RESULTS = ("scored", "stale", "nan", "out_of_order", "duplicate", "late", "future",
                  "ignored", "foreign", "series_limit")
LAG_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0,
               4.0, 5.0, 7.5, 10.0, 20.0, 30.0, 60.0, 120.0)


class ArrayHistogram(Collector):
    """A Prometheus histogram fed whole arrays at a time (thread-safe)."""

    def __init__(self, name: str, documentation: str, *,
                 buckets: Sequence[float] = LAG_BUCKETS) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = np.asarray(buckets, dtype=np.float64)
        self.counts = np.zeros(len(buckets) + 1, dtype=np.int64)  # last: above every bound
        self.total = 0.0
        self._lock = threading.Lock()

    def observe(self, values: npt.NDArray[np.float64]) -> None:
        """Count every value (NaN ignored)."""
        v = values[np.isfinite(values)]
        if v.shape[0] == 0:
            return
        idx = np.searchsorted(self.bounds, v, side="left")
        binned = np.bincount(idx, minlength=self.counts.shape[0])
        with self._lock:
            self.counts += binned
            self.total += float(v.sum())

    def quantile(self, q: float) -> float:
        """``histogram_quantile`` over the counts (linear within a bucket), NaN if empty."""
        with self._lock:
            counts = self.counts.copy()
        return quantile(self.bounds, counts, q)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            cum = np.cumsum(self.counts).tolist()
            total = self.total
        family = HistogramMetricFamily(self.name, self.documentation)
        buckets = [(f"{b:g}", float(c)) for b, c in zip(self.bounds.tolist(), cum, strict=False)]
        buckets.append(("+Inf", float(cum[-1])))
        family.add_metric([], buckets, total)
        yield family


def quantile(bounds: npt.NDArray[np.float64], counts: npt.NDArray[np.int64], q: float) -> float:
    """``histogram_quantile(q)``: ``counts[i]`` below ``bounds[i]`` (the last: above all)."""
    n = int(counts.sum())
    if n == 0:
        return float("nan")
    rank = q * n
    cum = np.cumsum(counts)
    i = int(np.searchsorted(cum, rank, side="left"))
    if i >= bounds.shape[0]:
        return float(bounds[-1])
    lower = 0.0 if i == 0 else float(bounds[i - 1])
    below = 0 if i == 0 else int(cum[i - 1])
    return lower + (float(bounds[i]) - lower) * (rank - below) / int(counts[i])


class IngestMetrics:
    """The receiver's metrics, on the daemon's registry (or a private one)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.samples = Counter(
            "aiops_remote_write_samples_total",
            "Remote-write samples by result: scored, stale (marker), nan, out_of_order, "
            "duplicate, late (learned, never signal), future, ignored (unmapped metric), "
            "foreign (another shard's workload), series_limit.", ["result"], registry=r)
        for result in SAMPLE_RESULTS:
            self.samples.labels(result)
        self.requests = Counter(
            "aiops_remote_write_requests_total", "Remote-write requests by HTTP status.",
            ["code"], registry=r)
        for code in ("204", "400", "413", "415", "503"):
            self.requests.labels(code)
        self.pending = Gauge(
            "aiops_remote_write_pending_samples",
            "Samples received and not yet scored (backpressure past max_pending_samples).",
            registry=r)
        self.series = Gauge(
            "aiops_remote_write_series", "Distinct series received by remote write.", registry=r)
        self.lag = ArrayHistogram(
            "aiops_ingest_lag_seconds",
            "Scrape-to-score lag: from a sample's timestamp to its score being computed.")
        self.arrival = ArrayHistogram(
            "aiops_remote_write_arrival_lag_seconds",
            "From a sample's timestamp to its request reaching aiops (Prometheus' share of "
            "the scrape-to-score lag).")
        r.register(self.lag)
        r.register(self.arrival)
