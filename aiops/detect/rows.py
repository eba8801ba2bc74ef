"""Row storage for per-series state: one column per series, grown by doubling.

Every vectorized state class (robust core, drift, records, envelopes, seasonal
profiles) keeps arrays whose last axis is the series. New series arrive one cycle at a
time, so arrays are grown with spare capacity (at least double) and only the used
columns are meaningful; each class fills the columns of its new series itself.

>>> a = with_room(np.ones((2, 3)), 5)
>>> a.shape, a[:, :3].tolist()
((2, 16), [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
>>> with_room(a, 10) is a
True
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

_A = TypeVar("_A", bound=np.ndarray)


def with_room(a: _A, size: int) -> _A:
    """``a`` if its last axis holds ``size`` columns, else a larger copy (zeros after)."""
    cap = a.shape[-1]
    if size <= cap:
        return a
    out = np.zeros((*a.shape[:-1], max(size, 2 * cap, 16)), dtype=a.dtype)
    out[..., :cap] = a
    return out  # type: ignore[return-value]
