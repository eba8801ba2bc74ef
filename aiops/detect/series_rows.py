"""A table of series to row numbers, for per-series state kept in numpy arrays.

Rows are handed out in the order series are first seen; past ``max_series`` (None: no
bound) a new series gets no row and is counted in ``overflow``. :meth:`SeriesRows.rows_in`
maps a column batch's key-table rows to these rows with one integer array kept per key
table, so a cycle costs a key lookup only for series it has not met before. The detector
bank, the drift watch and the series-health model all keep their rows here.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from aiops.detect.columns import KeyTable
from aiops.model import Labels, SeriesKey

IntP = npt.NDArray[np.intp]
#: Key tables whose row mapping is kept (a source starts a new table rarely).
TABLES = 8
_UNSEEN = -2
# (metric, labels): hashed and compared in C, unlike SeriesKey's generated __hash__ and
# __eq__ (the daemon's keys are new objects every cycle).
_IDENTITY = attrgetter("metric", "labels")


class SeriesRows:
    """Series key -> row, at most ``max_series`` rows (None: any number).

    >>> rows = SeriesRows(max_series=1)
    >>> rows.find_or_add(SeriesKey.of("cpu")), rows.find_or_add(SeriesKey.of("cpu"))
    ((0, True), (0, False))
    >>> rows.find_or_add(SeriesKey.of("mem")), rows.overflow
    ((-1, False), 1)
    """

    def __init__(self, *, max_series: int | None, keys: Sequence[SeriesKey | None] = ()
                 ) -> None:
        self.max_series = max_series
        #: The key of every row, in row order (None: an anonymous row, see :meth:`pad`).
        self.keys: list[SeriesKey | None] = list(keys)
        self.overflow = 0
        self._index: dict[tuple[str, Labels], int] = {
            _IDENTITY(k): i for i, k in enumerate(self.keys) if k is not None}
        self._tables: dict[int, IntP] = {}

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def named(self) -> int:
        """Rows that have a key (all but the anonymous ones)."""
        return len(self._index)

    def get(self, key: SeriesKey) -> int | None:
        """The row of ``key``, if it has one."""
        return self._index.get(_IDENTITY(key))

    def key(self, row: int) -> SeriesKey:
        """The key of ``row`` (an anonymous row has none: ValueError)."""
        key = self.keys[row]
        if key is None:
            raise ValueError(f"row {row} is anonymous")
        return key

    def lookup(self, keys: Sequence[SeriesKey]) -> list[int | None]:
        """The row of each key (None: no row yet), one C-level pass over the index."""
        return list(map(self._index.get, map(_IDENTITY, keys)))

    def pad(self, size: int) -> None:
        """Rows up to ``size`` exist; new ones are anonymous (rows by position only)."""
        self.keys.extend([None] * (size - len(self.keys)))

    def find_or_add(self, key: SeriesKey) -> tuple[int, bool]:
        """``(row, True)`` for a series seen first now, ``(row, False)`` for a known one,
        ``(-1, False)`` when the table is full."""
        row = self._index.get(_IDENTITY(key))
        if row is not None:
            return row, False
        row = self._add(key)
        if row < 0:
            self.overflow += 1
        return row, row >= 0

    def _add(self, key: SeriesKey) -> int:
        """A new row for ``key`` (not in the table), or -1 when the table is full."""
        if self.max_series is not None and len(self.keys) >= self.max_series:
            return -1
        row = self._index[_IDENTITY(key)] = len(self.keys)
        self.keys.append(key)
        return row

    def rows_in(self, table: KeyTable, index: IntP) -> tuple[IntP, IntP]:
        """Row of each sample (``-1``: no room) given its ``table`` row, and the positions
        of the samples whose series got its row now (first sample of each, in order).

        Same rows and ``overflow`` as :meth:`find_or_add` called on each sample in turn.

        >>> from aiops.sources.base import SeriesTable
        >>> t = SeriesTable()
        >>> idx = t.rows([SeriesKey.of("a"), SeriesKey.of("b"), SeriesKey.of("a")])
        >>> rows = SeriesRows(max_series=1)
        >>> [x.tolist() for x in rows.rows_in(t, idx)], rows.overflow
        ([[0, -1, 0], [0]], 1)
        """
        known = self._mapping(table)
        rows = known[index]
        unseen = rows == _UNSEEN
        new: list[int] = []
        if unseen.any():
            at = np.flatnonzero(unseen)
            first = np.unique(index[at], return_index=True)[1]
            keys = table.keys
            for p in sorted(at[first].tolist()):
                key = keys[int(index[p])]
                row = self._index.get(_IDENTITY(key))
                if row is None:
                    row = self._add(key)
                    if row >= 0:
                        new.append(p)
                known[int(index[p])] = row
            rows = known[index]
        self.overflow += int(np.count_nonzero(rows < 0))
        return rows, np.array(new, dtype=np.intp)

    def _mapping(self, table: KeyTable) -> IntP:
        """The table-row -> row array of ``table``, grown to the table's size."""
        known = self._tables.get(table.token)
        size = len(table.keys)
        if known is None or known.shape[0] < size:
            grown = np.full(max(size, 2 * (0 if known is None else known.shape[0]), 16),
                            _UNSEEN, dtype=np.intp)
            if known is not None:
                grown[: known.shape[0]] = known
            else:
                while len(self._tables) >= TABLES:
                    del self._tables[next(iter(self._tables))]
            known = self._tables[table.token] = grown
        return known
