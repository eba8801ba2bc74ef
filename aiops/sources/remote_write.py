"""Prometheus pushes samples (remote-write 1.0); the scrape cycle scores them as columns.

The HTTP route (:mod:`aiops.http.remote_write`) decodes a request into columns
(:mod:`aiops.sources.remote_write_decode`) and :meth:`RemoteWriteSource.offer` s them:

- each series key (its encoded labels) is interned once: parsed, mapped to an aiops
  metric by ``__name__`` (``source.remote_write.metrics``), its kept labels frozen into a
  :class:`~aiops.model.SeriesKey` and a row of the :class:`~aiops.sources.base.SeriesTable`.
  Series of unmapped metrics are *ignored*, series of another shard's workloads
  *foreign* (Prometheus' ``hashmod`` should not send them; this is the backstop);
- the request's samples wait in a bounded queue; past ``max_pending_samples`` the request
  is refused (the route answers 503 and Prometheus retries it), never half taken.

The daemon's scrape cycle then pulls (:meth:`pull_batch`, or :meth:`pull`, the
per-sample form) every waiting sample as one :class:`~aiops.sources.base.SampleBatch`, in
arrival order, and reports back with :meth:`settle`: only then is each request answered
(2xx once its samples are scored, 503 if scoring failed), so an acknowledged sample was
scored and a crash loses nothing Prometheus will not resend. On the way:

- **out of order**: a sample not newer than its series' last scored one is dropped and
  counted (``duplicate`` when equal: a retried request);
- **staleness**: Prometheus' stale marker (a NaN with bit pattern 0x7ff0000000000002) is
  a gap, like a series silent for ``stale_after`` (one NaN sample, then nothing): the
  series' latest value is unknown, so verification is inconclusive and nothing acts;
- **late**: a sample older than ``stale_after`` (Prometheus catching up after an outage)
  is learned; the daemon raises no signal from it;
- no request for ``stale_after`` marks the source down.

``backfill`` warms detectors from the Prometheus HTTP API (``source.prometheus``) over
the same metrics, and records where each series' history ends, so samples Prometheus
pushes again are not learned twice.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from aiops.config.shard import ShardConfig
from aiops.config.sources import PrometheusQuery, RemoteWriteConfig, RemoteWriteMetric
from aiops.errors import SourceUnavailable
from aiops.model import Sample, SeriesKey, freeze_labels
from aiops.sources.base import SampleBatch, SeriesTable, Source
from aiops.sources.promql_defaults import remote_write_metrics
from aiops.sources.remote_write_decode import (
    DecodedWrite,
    LabelsInvalid,
    decode_write,
    parse_labels,
)
from aiops.sources.remote_write_order import NEVER, STALE_NAN_BITS, in_order
from aiops.telemetry.ingest import IngestMetrics

IntP = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
IGNORED, FOREIGN, OVER_LIMIT = -1, -2, -3


class Busy(Exception):
    """The queue of samples waiting to be scored is full: answer 503, Prometheus retries."""


class Ticket:
    """One accepted request: settled True once its samples are scored, False if not."""

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self.result: bool | None = None
        self._callback: Callable[[bool], None] | None = None
        self._lock = threading.Lock()

    def on_settled(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback(result)`` once settled (at once if it already is)."""
        with self._lock:
            if self.result is None:
                self._callback = callback
                return
            result = self.result
        callback(result)

    def settle(self, ok: bool) -> None:
        with self._lock:
            if self.result is not None:
                return
            self.result = ok
            callback = self._callback
        if callback is not None:
            callback(ok)


@dataclass(kw_only=True, slots=True)
class _Chunk:
    rows: IntP
    t_ms: I64
    value: F64
    ticket: Ticket


@dataclass(kw_only=True, slots=True)
class _Taken:
    """What the last pull handed out, applied by :meth:`RemoteWriteSource.settle`."""

    chunks: list[_Chunk] = field(default_factory=list)
    rows: IntP = field(default_factory=lambda: np.zeros(0, np.intp))
    t_ms: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    scored: SampleBatch | None = None
    silent: IntP = field(default_factory=lambda: np.zeros(0, np.intp))


class RemoteWriteSource:
    """A :class:`~aiops.sources.base.Source` fed by remote-write requests."""

    name = "remote_write"

    def __init__(
        self,
        config: RemoteWriteConfig,
        *,
        shard: ShardConfig | None = None,
        history: Source | None = None,
        metrics: IngestMetrics | None = None,
        clock: Callable[[], float] | None = None,
        max_label_value_bytes: int = 4096,
    ) -> None:
        self.config = config
        self.shard = shard or ShardConfig()
        self.history = history
        self.metrics = metrics or IngestMetrics()
        self._clock = clock
        self.max_label_value_bytes = max_label_value_bytes
        self._mapping: dict[str, RemoteWriteMetric] = {
            m.match: m for m in (config.metrics or remote_write_metrics(config.preset))}
        self.table = SeriesTable(limit=config.max_series)
        self._raw: dict[bytes, int] = {}
        self._last_t = np.zeros(0, np.int64)  # last scored timestamp (ms) per row
        self._seen = np.zeros(0)  # daemon time a sample of the row last arrived
        self._gap = np.zeros(0, dtype=bool)  # a gap was emitted since the last sample
        self._departed = 0  # rows with a gap emitted: series that stopped arriving
        self._pending: deque[_Chunk] = deque()
        self._pending_samples = 0
        self._lock = threading.Lock()
        self._taken = _Taken()
        self._last_request: float | None = None
        self._oldest_pending = 0.0
        self._stopping = False
        self.counts: Counter[str] = Counter()
        #: Called with each batch once it is scored (benchmarks, tests).
        self.on_scored: Callable[[SampleBatch], None] | None = None

    # -- the receiving side (the HTTP route, on the server's event loop) ---------------------

    def receive(self, data: bytes, now: float) -> Ticket:
        """Decode a (decompressed) WriteRequest and :meth:`offer` its samples.

        The column fast path's key of a series is validated when first interned; if one
        is not a pure label sequence the request is decoded again on the general path.
        Raises ``DecodeError`` (not a WriteRequest), :class:`LabelsInvalid` (a series'
        labels are not valid) or :class:`Busy`.
        """
        decoded = decode_write(data)
        try:
            return self.offer(decoded, now)
        except LabelsInvalid:
            if decoded.general == decoded.series:
                raise
            return self.offer(decode_write(data, general=True), now)

    def offer(self, decoded: DecodedWrite, now: float) -> Ticket:
        """Queue a request's samples for scoring; :class:`Busy` when the queue is full.

        Raises :class:`LabelsInvalid` (a 400) for a series whose labels are not valid.
        """
        n = len(decoded)
        with self._lock:
            if self._stopping:
                raise Busy("the daemon is stopping")
            if n and self._pending_samples + n > self.config.max_pending_samples:
                raise Busy(f"{self._pending_samples} samples waiting to be scored "
                           f"(limit {self.config.max_pending_samples})")
            rows = self._intern(decoded.keys)
            self._last_request = now
            mine = rows >= 0
            ticket = Ticket(int(np.count_nonzero(mine)))
            if not mine.all():
                self._count({"ignored": int(np.count_nonzero(rows == IGNORED)),
                             "foreign": int(np.count_nonzero(rows == FOREIGN)),
                             "series_limit": int(np.count_nonzero(rows == OVER_LIMIT))})
            if ticket.samples == 0:
                ticket.settle(True)
                return ticket
            chunk = _Chunk(rows=rows[mine], t_ms=decoded.t_ms[mine], value=decoded.value[mine],
                           ticket=ticket)
            self.metrics.arrival.observe(now - chunk.t_ms / 1000.0)
            if not self._pending:
                self._oldest_pending = now
            self._pending.append(chunk)
            self._pending_samples += ticket.samples
            self.metrics.pending.set(self._pending_samples)
        return ticket

    def _intern(self, keys: list[bytes]) -> IntP:
        """Row of each series key (negative: ignored, foreign, over the limit)."""
        found = list(map(self._raw.get, keys))
        if None in found:
            if len(self._raw) > 2 * self.config.max_series:
                self._raw.clear()  # keys of departed series; live ones come back at once
            for i, row in enumerate(found):
                if row is None:
                    found[i] = self._raw.get(keys[i])
                    if found[i] is None:
                        found[i] = self._raw[keys[i]] = self._new_row(keys[i])
        return np.array(found, dtype=np.intp)

    def _new_row(self, key: bytes) -> int:
        labels = parse_labels(key, max_value_bytes=self.max_label_value_bytes)
        metric = self._mapping.get(labels["__name__"])
        if metric is None:
            return IGNORED
        if not self.shard.owns(labels):
            return FOREIGN
        series = SeriesKey(metric=metric.name, labels=freeze_labels(
            {k: labels[k] for k in metric.keep_labels if k in labels}))
        return self._row_of(series)

    def _row_of(self, series: SeriesKey) -> int:
        known = self.table.find(series)
        if known is not None:
            return known
        if len(self.table) >= self.table.limit:
            return OVER_LIMIT
        row = self.table.row(series)
        if row >= self._last_t.shape[0]:
            size = max(1024, 2 * (row + 1))
            self._last_t = _grown(self._last_t, size, NEVER)
            self._seen = _grown(self._seen, size, math.inf)
            self._gap = _grown(self._gap, size, False)
        self.metrics.series.set(len(self.table))
        return row

    # -- the scoring side (the daemon's cycle, under its lock) -------------------------------

    def pending(self) -> int:
        """Samples waiting to be scored."""
        return self._pending_samples

    def due(self, now: float) -> bool:
        """Whether to score now: ``flush_samples`` wait, or one waited ``flush_interval``.

        A scoring step costs about the same for any number of samples (the bank steps
        every series), so by default a step waits for a whole round of the series still
        arriving (a departed series, one given a gap, is not waited for).
        """
        if not self._pending_samples:
            return False
        target = self.config.flush_samples or max(2000, len(self.table) - self._departed)
        return (self._pending_samples >= target
                or now - self._oldest_pending >= self.config.flush_interval)

    def pull_batch(self, now: float) -> SampleBatch:
        """Every waiting sample in arrival order (out-of-order ones dropped), and gaps."""
        stale = self.config.stale_after
        with self._lock:
            if self._taken.chunks:
                self._settle_locked(False)  # a pull without settle: nothing was confirmed
            chunks = list(self._pending)
            self._pending.clear()
            self._pending_samples = 0
            self.metrics.pending.set(0)
            if not chunks and (self._last_request is None or now - self._last_request > stale):
                since = ("yet" if self._last_request is None
                         else f"for {now - self._last_request:.0f} s")
                raise SourceUnavailable(f"remote_write: no request received {since}")
            rows, t_ms, value = _concat(chunks)
            keep, counts = in_order(rows, t_ms, self._last_t)
            bits = value.view(np.uint64)
            marker = bits == STALE_NAN_BITS
            counts["stale"] = int(np.count_nonzero(keep & marker))
            counts["nan"] = int(np.count_nonzero(keep & np.isnan(value) & ~marker))
            t_s = t_ms / 1000.0
            future = keep & (t_s > now + stale)
            counts["future"] = int(np.count_nonzero(future))
            keep &= ~future
            late = keep & (t_s < now - stale)
            counts["late"] = int(np.count_nonzero(late & ~np.isnan(value)))
            self._count(counts)
            rows, t_ms, t_s, value = rows[keep], t_ms[keep], t_s[keep], value[keep]
            n = len(self.table)
            self._seen[rows] = now
            silent = np.flatnonzero((self._seen[:n] < now - stale) & ~self._gap[:n])
            index = np.concatenate([rows, silent]).astype(np.intp)
            times = np.concatenate([t_s, np.full(silent.shape[0], now)])
            values = np.concatenate([value, np.full(silent.shape[0], math.nan)])
            values[np.isnan(values)] = math.nan  # the marker's payload is not a value
            batch = SampleBatch(table=self.table, index=index, t=times, value=values)
            self._taken = _Taken(chunks=chunks, rows=rows, t_ms=t_ms, scored=batch,
                                 silent=silent)
        return batch

    def pull(self, now: float) -> Sequence[Sample]:
        """:meth:`pull_batch` as one :class:`~aiops.model.Sample` per sample."""
        return self.pull_batch(now).samples()

    def settle(self, ok: bool, now: float | None = None) -> None:
        """The last pull's samples were scored (``ok``) or not: answer their requests."""
        with self._lock:
            scored = self._settle_locked(ok)
        if scored is not None and ok:
            stamp = now if now is not None else (self._clock() if self._clock else None)
            if stamp is not None:
                valid = np.isfinite(scored.value)
                self.metrics.lag.observe(stamp - scored.t[valid])
            if self.on_scored is not None:
                self.on_scored(scored)

    def _settle_locked(self, ok: bool) -> SampleBatch | None:
        taken, self._taken = self._taken, _Taken()
        if ok:
            np.maximum.at(self._last_t, taken.rows, taken.t_ms)
            self._gap[taken.rows] = False
            self._gap[taken.silent] = True
            self._departed = int(np.count_nonzero(self._gap))
            if taken.scored is not None:
                self.counts["scored"] += int(np.count_nonzero(np.isfinite(taken.scored.value)))
                self.metrics.samples.labels("scored").inc(
                    int(np.count_nonzero(np.isfinite(taken.scored.value))))
        for chunk in taken.chunks:
            chunk.ticket.settle(ok)
        return taken.scored

    def drain(self, *, stopping: bool = False) -> None:
        """Refuse everything still waiting (graceful stop): Prometheus will resend it.

        ``stopping``: every later request is refused too (503) until the process exits.
        """
        with self._lock:
            self._stopping = self._stopping or stopping
            chunks = list(self._pending)
            self._pending.clear()
            self._pending_samples = 0
            if self._taken.chunks:
                self._settle_locked(False)
        for chunk in chunks:
            chunk.ticket.settle(False)

    # -- Source -------------------------------------------------------------------------------

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        """History from ``source.prometheus`` (empty without one); marks where it ends."""
        if self.history is None or not self.config.backfill:
            return []
        history = [s for s in self.history.backfill(start, end)
                   if self.shard.owns(s.key.label_map)]
        with self._lock:
            for s in history:
                row = self._row_of(s.key)
                if row >= 0:
                    self._last_t[row] = max(int(self._last_t[row]), round(s.t * 1000))
        return history

    def close(self) -> None:
        self.drain(stopping=True)
        if self.history is not None:
            self.history.close()

    def _count(self, counts: dict[str, int]) -> None:
        for result, n in counts.items():
            if n:
                self.counts[result] += n
                self.metrics.samples.labels(result).inc(n)


def history_queries(config: RemoteWriteConfig) -> list[PrometheusQuery]:
    """The instant/range queries reading back what remote write receives (backfill)."""
    return [PrometheusQuery(name=m.name, query=m.match, keep_labels=m.keep_labels)
            for m in (config.metrics or remote_write_metrics(config.preset))]


def _grown(arr: npt.NDArray[Any], size: int, fill: object) -> npt.NDArray[Any]:
    out: npt.NDArray[Any] = np.full(size, fill, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


def _concat(chunks: list[_Chunk]) -> tuple[IntP, I64, F64]:
    if not chunks:
        return np.zeros(0, np.intp), np.zeros(0, np.int64), np.zeros(0)
    if len(chunks) == 1:
        c = chunks[0]
        return c.rows, c.t_ms, c.value
    return (np.concatenate([c.rows for c in chunks]), np.concatenate([c.t_ms for c in chunks]),
            np.concatenate([c.value for c in chunks]))
