"""The latest sample of every series, kept as columns and read as a mapping.

Verification and the forecaster look up "the latest value of this series"; the scrape
engine receives a column batch per cycle. :class:`LatestSamples` stores the batch's
values and times per row of its key table (arrays, no object per sample) and is a
read-only ``Mapping[SeriesKey, Sample]`` whose Samples are built only when read: the
scrape engine hands the mapping itself to its readers (no copy per remediate tick), and
:meth:`LatestSamples.items` walks the columns without a key lookup per series.

>>> from aiops.sources.base import SampleBatch, SeriesTable
>>> from aiops.model import Sample, SeriesKey
>>> key = SeriesKey.of("cpu", workload="a")
>>> latest = LatestSamples()
>>> latest.update(SampleBatch.of([Sample(key=key, t=15.0, value=0.5)], SeriesTable()))
>>> latest[key].value, len(latest), dict(latest) == {key: Sample(key=key, t=15.0, value=0.5)}
(0.5, 1, True)
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping

import numpy as np

from aiops.model import Sample, SeriesKey
from aiops.sources.base import SampleBatch, SeriesTable


class LatestSamples(Mapping[SeriesKey, Sample]):
    """Last value and time per series of one key table (a new table starts afresh)."""

    def __init__(self) -> None:
        self._table: SeriesTable | None = None
        self._t = np.zeros(0)
        self._v = np.zeros(0)
        self._seen = np.zeros(0, dtype=np.bool_)

    def update(self, batch: SampleBatch) -> None:
        """Take every sample of ``batch`` as its series' latest (NaN values included)."""
        if self._table is not batch.table:
            self._table = batch.table
            self._seen = np.zeros(0, dtype=np.bool_)
        n = len(batch.table)
        if self._seen.shape[0] < n:
            grow = n - self._seen.shape[0]
            self._t = np.concatenate([self._t[: self._seen.shape[0]], np.zeros(grow)])
            self._v = np.concatenate([self._v[: self._seen.shape[0]], np.zeros(grow)])
            self._seen = np.concatenate([self._seen, np.zeros(grow, dtype=np.bool_)])
        self._t[batch.index] = batch.t
        self._v[batch.index] = batch.value
        self._seen[batch.index] = True

    def clear(self) -> None:
        """Forget everything (the source went down)."""
        self._seen[:] = False

    def _row(self, key: SeriesKey) -> int | None:
        if self._table is None:
            return None
        row = self._table.find(key)
        if row is None or row >= self._seen.shape[0] or not self._seen[row]:
            return None
        return row

    def __getitem__(self, key: SeriesKey) -> Sample:
        row = self._row(key)
        if row is None:
            raise KeyError(key)
        return Sample(key=key, t=float(self._t[row]), value=float(self._v[row]))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, SeriesKey) and self._row(key) is not None

    def __iter__(self) -> Iterator[SeriesKey]:
        if self._table is None:
            return iter(())
        keys = self._table.keys
        return (keys[i] for i in np.flatnonzero(self._seen).tolist())

    def __len__(self) -> int:
        return int(np.count_nonzero(self._seen))

    def items(self) -> ItemsView[SeriesKey, Sample]:
        """Every (key, latest Sample), read from the columns in row order."""
        return _Items(self)

    def _pairs(self) -> Iterator[tuple[SeriesKey, Sample]]:
        if self._table is None:
            return
        keys = self._table.keys
        rows = np.flatnonzero(self._seen)
        for i, t, v in zip(rows.tolist(), self._t[rows].tolist(), self._v[rows].tolist(),
                           strict=True):
            key = keys[i]
            yield key, Sample(key=key, t=t, value=v)


class _Items(ItemsView[SeriesKey, Sample]):
    """The items view of :class:`LatestSamples` (iterates its columns directly)."""

    _mapping: LatestSamples

    def __iter__(self) -> Iterator[tuple[SeriesKey, Sample]]:
        return self._mapping._pairs()
