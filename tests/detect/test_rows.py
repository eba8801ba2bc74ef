"""Binned row state: reading and writing each row's phase bin, one bin or many."""

from __future__ import annotations

import numpy as np
import pytest

from aiops.detect.rows import gather_bins, phase_bins, scatter_bins


@pytest.mark.parametrize("mixed", [False, True], ids=["one-bin", "mixed-bins"])
def test_gather_and_scatter_touch_exactly_each_rows_bin(mixed: bool) -> None:
    """A block's rows read and write a[b[i], row i] only, whether or not they share a bin."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(24, 40))
    rows = slice(5, 25)
    t = np.full(20, 7 * 3600.0 + 60.0)
    if mixed:
        t += rng.integers(0, 5, 20) * 3600.0
    b = phase_bins(t, 86400.0, 24)
    assert (len(set(b.tolist())) > 1) is mixed
    cols = np.arange(5, 25)
    np.testing.assert_array_equal(gather_bins(a, b, rows), a[b, cols])
    want = a.copy()
    want[b, cols] = -1.0 - np.arange(20)
    scatter_bins(a, b, rows, -1.0 - np.arange(20))
    np.testing.assert_array_equal(a, want)


def test_gathered_values_are_a_copy() -> None:
    """Changing what gather_bins returned leaves the state alone."""
    a = np.zeros((4, 6))
    got = gather_bins(a, np.array([1, 1, 1]), slice(0, 3))
    got += 5.0
    assert not a.any()
