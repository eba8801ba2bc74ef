"""Demand traces for the autoscaling benchmark: ``timestamp,value`` CSVs on their own step.

>>> import numpy as np
>>> interpolate_gaps(np.array([1.0, np.nan, 3.0])).tolist()
[1.0, 2.0, 3.0]
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, kw_only=True, slots=True)
class Trace:
    """A demand trace: values and the trace's own sampling step (seconds)."""

    name: str
    values: FloatArray
    native_step: float


def load_trace(path: Path) -> Trace:
    """Read a ``timestamp,value`` CSV onto its native step (the median spacing).

    A missing timestamp is a gap (NaN), so seasons stay aligned with the clock; rows
    closer together than the step keep the first. Errors name the file, line and field.
    """
    times: list[float] = []
    vals: list[float] = []
    with path.open(newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                times.append(datetime.fromisoformat(row["timestamp"]).timestamp())
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{path}:{line}: field 'timestamp' is not an ISO time") from None
            try:
                vals.append(float(row.get("value") or "nan"))
            except ValueError:
                vals.append(float("nan"))
    if len(vals) < 2:
        raise ValueError(f"{path}: need at least two rows")
    t = np.asarray(times)
    step = float(np.median(np.diff(t)))
    if step <= 0:
        raise ValueError(f"{path}: timestamps must increase")
    slot = np.rint((t - t[0]) / step).astype(np.int64)
    ok = np.concatenate(([True], np.diff(slot) > 0)) & (slot >= 0)
    grid = np.full(int(slot[ok].max()) + 1, np.nan)
    grid[slot[ok]] = np.asarray(vals)[ok]
    return Trace(name=path.stem, values=grid, native_step=step)


def interpolate_gaps(values: FloatArray) -> FloatArray:
    """``values`` with NaN gaps filled linearly (all-NaN becomes zeros)."""
    ok = np.isfinite(values)
    if not ok.any():
        return np.zeros_like(values)
    idx = np.arange(len(values))
    out: FloatArray = np.interp(idx, idx[ok], values[ok])
    return out
