"""The order rule of remote write: a sample counts only if newer than its series' last.

Prometheus sends a series' samples in order, from one queue shard; a sample that is not
newer is a resend (``duplicate``: a retried request that was scored after all) or out
of order, and is dropped. Its stale marker is a NaN with a bit pattern of its own.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntP = npt.NDArray[np.intp]
I64 = npt.NDArray[np.int64]
#: Prometheus' staleness marker (``value.StaleNaN``).
STALE_NAN_BITS = np.uint64(0x7FF0000000000002)
#: The last timestamp of a series never scored.
NEVER = np.iinfo(np.int64).min


def in_order(rows: IntP, t_ms: I64, last: I64) -> tuple[npt.NDArray[np.bool_], dict[str, int]]:
    """Which samples are newer than everything before them of their series.

    A sample must be newer than its series' last scored sample and than every earlier
    sample of the series in this batch; ``duplicate`` counts equal timestamps.

    >>> keep, c = in_order(np.array([0, 1, 0, 0]), np.array([5, 5, 4, 6]), np.array([3, 5]))
    >>> keep.tolist(), c
    ([True, False, False, True], {'out_of_order': 1, 'duplicate': 1})
    """
    n = rows.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool), {"out_of_order": 0, "duplicate": 0}
    before = last[rows]
    if np.bincount(rows).max() > 1:  # a series twice: the running max within the series
        order = np.lexsort((np.arange(n), rows))
        r, t = rows[order], t_ms[order]
        first = np.r_[True, r[1:] != r[:-1]]
        group = np.cumsum(first) - 1
        combined = (group.astype(np.int64) << 43) | np.clip(t, 0, (1 << 43) - 1)
        running = np.maximum.accumulate(combined)
        prev = np.where(first, NEVER, (np.r_[0, running[:-1]]) & ((1 << 43) - 1))
        before_sorted = np.maximum(before[order], prev)
        before = np.empty_like(before)
        before[order] = before_sorted
    keep = t_ms > before
    return keep, {"out_of_order": int(np.count_nonzero(t_ms < before)),
                  "duplicate": int(np.count_nonzero(t_ms == before))}
