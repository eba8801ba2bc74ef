"""A bounded table of series to row numbers, for per-series state kept in numpy arrays.

Rows are handed out in the order series are first seen; past ``max_series`` a new series
gets no row and is counted in ``overflow``.
"""

from __future__ import annotations

from aiops.model import Labels, SeriesKey


class SeriesRows:
    """Series key -> row, at most ``max_series`` rows.

    >>> rows = SeriesRows(max_series=1)
    >>> rows.find_or_add(SeriesKey.of("cpu")), rows.find_or_add(SeriesKey.of("cpu"))
    ((0, True), (0, False))
    >>> rows.find_or_add(SeriesKey.of("mem")), rows.overflow
    ((-1, False), 1)
    """

    def __init__(self, *, max_series: int) -> None:
        self.max_series = max_series
        self.keys: list[SeriesKey] = []
        self.overflow = 0
        self._index: dict[tuple[str, Labels], int] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, key: SeriesKey) -> int | None:
        """The row of ``key``, if it has one."""
        return self._index.get((key.metric, key.labels))

    def find_or_add(self, key: SeriesKey) -> tuple[int, bool]:
        """``(row, True)`` for a series seen first now, ``(row, False)`` for a known one,
        ``(-1, False)`` when the table is full."""
        ident = (key.metric, key.labels)
        row = self._index.get(ident)
        if row is not None:
            return row, False
        if len(self.keys) >= self.max_series:
            self.overflow += 1
            return -1, False
        row = self._index[ident] = len(self.keys)
        self.keys.append(key)
        return row, True
