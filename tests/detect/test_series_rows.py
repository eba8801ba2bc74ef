"""The one series -> row table the bank, the drift watch and series health share."""

from __future__ import annotations

import numpy as np
import pytest

from aiops.detect.series_rows import SeriesRows
from aiops.model import SeriesKey
from aiops.sources.base import SeriesTable


def test_an_unbounded_table_never_refuses_a_series() -> None:
    """With no max_series every new series gets the next row and nothing overflows."""
    rows = SeriesRows(max_series=None)
    keys = [SeriesKey.of("cpu", pod=str(i)) for i in range(50)]
    table = SeriesTable()
    got, new = rows.rows_in(table, table.rows(keys))
    assert got.tolist() == list(range(50))
    assert new.tolist() == list(range(50))
    assert rows.overflow == 0


def test_anonymous_rows_keep_their_positions_and_have_no_key() -> None:
    """Padded rows are anonymous; keyed rows are numbered after them."""
    rows = SeriesRows(max_series=None)
    rows.pad(3)
    assert rows.find_or_add(SeriesKey.of("mem")) == (3, True)
    assert (len(rows), rows.named) == (4, 1)
    assert rows.key(3) == SeriesKey.of("mem")
    with pytest.raises(ValueError, match="row 1 is anonymous"):
        rows.key(1)


def test_a_table_built_from_saved_keys_finds_them_by_lookup_and_by_batch() -> None:
    """Rows restored from a key list are found by both paths at their old positions."""
    saved = [SeriesKey.of("a"), None, SeriesKey.of("b")]
    rows = SeriesRows(max_series=None, keys=saved)
    assert rows.lookup([SeriesKey.of("b"), SeriesKey.of("z"), SeriesKey.of("a")]) == [2, None, 0]
    table = SeriesTable()
    got, new = rows.rows_in(table, table.rows([SeriesKey.of("b"), SeriesKey.of("c")]))
    assert got.tolist() == [2, 3]
    assert new.tolist() == [1]
    assert np.array_equal(rows.rows_in(table, np.array([1, 0]))[0], np.array([3, 2]))
