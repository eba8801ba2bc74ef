"""The Source protocol (where samples come from) and its column batch hand-off.

A source returns each cycle's samples either one object per sample (``pull``) or as a
:class:`SampleBatch`: an append-only :class:`SeriesTable` of interned keys (a key is
built once, when its series first appears) and per sample the key's row, its time and
its value as numpy arrays. The detector bank scores a batch without building a Python
object per sample (:meth:`aiops.detect.bank.DetectorBank.update_batch`).
:class:`BatchReader` gives every source the batch form: natively when the source has
``pull_batch``, else by interning ``pull``'s samples.

>>> table = SeriesTable()
>>> a, b = SeriesKey.of("cpu", workload="a"), SeriesKey.of("cpu", workload="b")
>>> batch = SampleBatch.of([Sample(key=a, t=1.0, value=0.5), Sample(key=b, t=1.0, value=2.0)],
...                        table)
>>> batch.index.tolist(), batch.value.tolist(), len(table)
([0, 1], [0.5, 2.0], 2)
>>> SampleBatch.of([Sample(key=b, t=2.0, value=3.0)], table).index.tolist()
[1]
>>> [s.value for s in batch.samples()]
[0.5, 2.0]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from aiops.model import Sample, SeriesKey

F64 = npt.NDArray[np.float64]
IntP = npt.NDArray[np.intp]

_TOKENS = itertools.count(1)


@runtime_checkable
class Source(Protocol):
    """Pulls the current value of every series it knows.

    ``pull`` returns all samples for time ``now`` (a sample with a NaN value marks a
    known series with no data this cycle). It raises
    :class:`aiops.errors.SourceUnavailable` when the backend cannot be reached, so the
    caller can report "source down" and act on nothing. A source may also offer
    ``pull_batch(now) -> SampleBatch`` (same samples, as columns); see :class:`BatchReader`.
    """

    name: str

    def pull(self, now: float) -> Sequence[Sample]: ...

    def backfill(self, start: float, end: float) -> Sequence[Sample]:
        """History in ``[start, end)`` to warm detectors; may be empty."""
        ...

    def close(self) -> None: ...


class SeriesTable:
    """Interned series keys: row ``i`` is ``keys[i]``; rows are only ever appended.

    ``token`` is unique per table, so a consumer can cache what it derives per row.
    Holds at most ``limit`` keys: past it, a new key raises ``OverflowError`` (a source
    whose series churn without end should start a new table).
    """

    def __init__(self, limit: int = 10_000_000) -> None:
        self.token = next(_TOKENS)
        self.limit = limit
        self.keys: list[SeriesKey] = []
        self._rows: dict[SeriesKey, int] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def row(self, key: SeriesKey) -> int:
        """The row of ``key``, appended if new."""
        row = self._rows.get(key)
        if row is None:
            if len(self.keys) >= self.limit:
                raise OverflowError(f"series table full ({self.limit} keys)")
            row = self._rows[key] = len(self.keys)
            self.keys.append(key)
        return row

    def find(self, key: SeriesKey) -> int | None:
        """The row of ``key`` if it is in the table."""
        return self._rows.get(key)

    def rows(self, keys: Sequence[SeriesKey]) -> IntP:
        """Rows of ``keys``, in order (new keys appended)."""
        out = list(map(self._rows.get, keys))
        if out.count(None):
            out = [self.row(k) if r is None else r for k, r in zip(keys, out, strict=True)]
        return np.array(out, dtype=np.intp)


@dataclass(frozen=True, kw_only=True, slots=True)
class SampleBatch:
    """One cycle's samples as columns: key row in ``table``, time and value per sample."""

    table: SeriesTable
    index: IntP
    t: F64
    value: F64

    def __post_init__(self) -> None:
        n = self.index.shape[0]
        if self.t.shape != (n,) or self.value.shape != (n,):
            raise ValueError("a sample batch needs one time and one value per key row")

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @classmethod
    def of(cls, samples: Sequence[Sample], table: SeriesTable) -> SampleBatch:
        """The batch of ``samples``, their keys interned in ``table``."""
        return cls(
            table=table,
            index=table.rows([s.key for s in samples]),
            t=np.array([s.t for s in samples], dtype=np.float64),
            value=np.array([s.value for s in samples], dtype=np.float64),
        )

    def samples(self) -> list[Sample]:
        """The per-sample form (one :class:`Sample` each, in batch order)."""
        keys = self.table.keys
        return [Sample(key=keys[i], t=t, value=v) for i, t, v in
                zip(self.index.tolist(), self.t.tolist(), self.value.tolist(), strict=True)]

    def key(self, position: int) -> SeriesKey:
        """The key of the sample at ``position``."""
        return self.table.keys[int(self.index[position])]


class BatchReader:
    """Pulls a source as column batches, natively when it can, else from ``pull``."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.table = SeriesTable()
        self._native = getattr(source, "pull_batch", None)

    def read(self, now: float) -> SampleBatch:
        """This cycle's batch (raises what the source's pull raises)."""
        if self._native is not None:
            batch: SampleBatch = self._native(now)
            return batch
        return SampleBatch.of(list(self.source.pull(now)), self.table)
