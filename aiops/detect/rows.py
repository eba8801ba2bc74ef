"""Row storage for per-series state: one column per series, grown by doubling.

Every vectorized state class (robust core, drift, records, envelopes, seasonal
profiles) keeps arrays whose last axis is the series. New series arrive one cycle at a
time, so arrays are grown with spare capacity (at least double) and only the used
columns are meaningful; each class fills the columns of its new series itself.
Binned state (seasonal profiles, envelopes) is ``(bins, series)``: each row reads and
writes the bin of its sample's phase (:func:`phase_bins`, :func:`gather_bins`,
:func:`scatter_bins`).

>>> a = with_room(np.ones((2, 3)), 5)
>>> a.shape, a[:, :3].tolist()
((2, 16), [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
>>> with_room(a, 10) is a
True
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

_A = TypeVar("_A", bound=np.ndarray)


def with_room(a: _A, size: int) -> _A:
    """``a`` if its last axis holds ``size`` columns, else a larger copy (zeros after)."""
    cap = a.shape[-1]
    if size <= cap:
        return a
    out = np.zeros((*a.shape[:-1], max(size, 2 * cap, 16)), dtype=a.dtype)
    out[..., :cap] = a
    return out  # type: ignore[return-value]


IntP = npt.NDArray[np.intp]


def phase_bins(t: npt.NDArray[np.float64], period: float, bins: int) -> IntP:
    """The phase bin (of ``bins`` per ``period``) of each time; non-finite times go to bin 0.

    >>> phase_bins(np.array([0.0, 3600.0, 86399.0, np.nan]), 86400.0, 24).tolist()
    [0, 1, 23, 0]
    """
    if t.shape[0] > 1 and t[0] == t[-1] and t.min() == t.max():
        # One time for every row (one scrape, one query's evaluation time): one bin.
        return np.full(t.shape[0], phase_bins(t[:1], period, bins)[0], dtype=np.intp)
    phase = np.mod(np.where(np.isfinite(t), t, 0.0), period)
    phase /= period
    phase *= bins
    out: IntP = phase.astype(np.intp)
    out %= bins
    return out


def gather_bins(a: npt.NDArray[np.float64], b: IntP, rows: slice) -> npt.NDArray[np.float64]:
    """``a[b[i], rows.start + i]`` for each row of ``rows`` (a copy).

    Binned state is ``(bins, series)``; when every row sits in one bin (one scrape time
    for all) this is a plain slice of that bin's row.

    >>> a = np.arange(12.0).reshape(3, 4)
    >>> gather_bins(a, np.array([2, 2]), slice(1, 3)).tolist()
    [9.0, 10.0]
    >>> gather_bins(a, np.array([0, 2]), slice(1, 3)).tolist()
    [1.0, 10.0]
    """
    one = one_bin(b)
    if one is not None:
        return a[one, rows].copy()
    out: npt.NDArray[np.float64] = a[b, np.arange(rows.start, rows.stop)]
    return out


def one_bin(b: IntP) -> int | None:
    """The bin every row sits in, when they all share one (else None).

    >>> one_bin(np.array([3, 3])), one_bin(np.array([3, 4])), one_bin(np.zeros(0, np.intp))
    (3, None, None)
    """
    if b.shape[0] and b[0] == b[-1] and b.min() == b.max():
        return int(b[0])
    return None


def scatter_bins(
    a: npt.NDArray[np.float64], b: IntP, rows: slice, values: npt.NDArray[np.float64]
) -> None:
    """Set ``a[b[i], rows.start + i] = values[i]`` for each row of ``rows``, in place."""
    one = one_bin(b)
    if one is not None:
        a[one, rows] = values
    else:
        a[b, np.arange(rows.start, rows.stop)] = values
