"""Explanations of scores, built column-wise for a whole cycle at once.

Every :class:`~aiops.model.Score` carries a sentence (value against its band), the
statistics that carried it and, for a high score, each metric's share of its workload's
evidence. A 10,000-series cycle needs all of that 10,000 times, so it is formatted in
one call, the fired statistics looked up in a table and the Scores filled column by
column; the bank calls these helpers once per step.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Sequence
from itertools import repeat
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from aiops.detect.robust import KINDS, STATISTICS
from aiops.model import Labels, Score, SeriesKey

_T = TypeVar("_T")

CONTRIB_FLOOR = 0.5


def contributions(
    keys: list[SeriesKey], raw: list[float], warm: npt.NDArray[np.bool_], wanted: set[Labels]
) -> dict[Labels, tuple[tuple[str, float], ...]]:
    """Per wanted label set (a workload), each metric's share of the workload's evidence.

    Series with the same labels but different metrics form one workload; a metric's
    share is its raw score over the sum of the workload's raw scores this cycle (top 3).
    """
    groups: dict[Labels, list[tuple[str, float]]] = {}
    for i in np.flatnonzero(warm).tolist():
        labels = keys[i].labels
        if labels in wanted:
            groups.setdefault(labels, []).append((keys[i].metric, raw[i]))
    out = {}
    for labels, items in groups.items():
        total = sum(v for _, v in items)
        if len(items) > 1 and total > 0:
            ranked = sorted(((m, v / total) for m, v in items if v > 0), key=lambda kv: -kv[1])
            out[labels] = tuple(ranked[:3])
    return out


_WHY = "%s %.3g %s expected %.3g (band %.3g-%.3g)"
_SEP = "\0"
_WHERE = np.array(["near", "above", "below"], dtype=object)
KIND_NAMES = np.array(KINDS, dtype=object)


def take(column: list[_T], positions: npt.NDArray[np.intp]) -> list[_T]:
    return [column[i] for i in positions.tolist()]


def why_warm(
    metrics: list[str], values: list[float], expected: list[float], lower: list[float],
    upper: list[float], x: npt.NDArray[np.float64],
) -> list[str]:
    """``"<metric> <value> above|below|near expected <e> (band <lo>-<hi>)"`` per row.

    All rows are formatted in one ``%`` call over one long template (then split), which
    costs a third of formatting each row on its own. ``x`` holds ``values`` as floats.

    >>> why_warm(["cpu"], [2.0], [1.0], [0.5], [1.5], np.array([2.0]))
    ['cpu 2 above expected 1 (band 0.5-1.5)']
    """
    n = len(metrics)
    up = np.asarray(upper)
    where = _WHERE[np.where(x > up, 1, np.where(x < np.asarray(lower), 2, 0))].tolist()
    args: list[object] = [None] * (6 * n)
    args[0::6], args[1::6], args[2::6] = metrics, values, where
    args[3::6], args[4::6], args[5::6] = expected, lower, upper
    parts = ((_WHY + _SEP) * n % tuple(args)).split(_SEP)
    if len(parts) == n + 1:
        return parts[:n]
    # A metric name holding the separator: format row by row instead.
    return [_WHY % tuple(args[6 * i : 6 * i + 6]) for i in range(n)]


_SCORE_FIELDS = frozenset(f.name for f in dataclasses.fields(Score))
_SCORE_SETTERS = {name: getattr(Score, name).__set__ for name in _SCORE_FIELDS}


def build_scores(n: int, **columns: Sequence[object]) -> list[Score]:
    """``n`` Scores from one column per field, equal to ``Score(**row)`` for each row.

    The frozen dataclass's ``__init__`` calls ``object.__setattr__`` once per field
    (about 4 us a Score, the bulk of a 10,000-series cycle); this sets the same slots
    column by column through the slot descriptors instead, in a third of the time.
    Every field must be given, so a new field on Score fails here rather than going unset.
    """
    if columns.keys() != _SCORE_FIELDS:
        raise TypeError(f"Score columns {sorted(columns)} != fields {sorted(_SCORE_FIELDS)}")
    out = list(map(object.__new__, repeat(Score, n)))
    for name, column in columns.items():
        deque(map(_SCORE_SETTERS[name], out, column), maxlen=0)
    return out


def fired(z: npt.NDArray[np.float64]) -> list[tuple[str, ...]]:
    """Per column of ``z`` (one row of statistics each), the statistics carrying the score.

    Those with |z| beyond 3 and within 30% of the strongest, strongest first; each
    column's order and picks are coded as one integer and looked up in a table.

    >>> fired(np.array([[4.0, 1.0], [-9.0, 0.5], [7.0, 0.2]]))
    [('level', 'trend'), ()]
    """
    a = np.abs(z)
    order = np.argsort(-a, axis=0)  # the sort a single column would get
    top = np.take_along_axis(a, order[:1], axis=0)
    keep = np.take_along_axis((a > 3.0) & (a >= 0.7 * top), order, axis=0)
    n = len(STATISTICS)
    code = np.zeros(a.shape[1], dtype=np.intp)
    for j in range(n):
        code = code * n + order[j]
    for j in range(n):
        code = code * 2 + keep[j]
    picked: list[tuple[str, ...]] = _FIRED_TABLE[code].tolist()
    return picked


def _fired_table() -> npt.NDArray[np.object_]:
    """Every (order, picks) code mapped to its tuple of statistic names."""
    n = len(STATISTICS)
    out = np.empty(n**n * 2**n, dtype=object)
    for code in range(out.shape[0]):
        picks, rest = code % 2**n, code // 2**n
        order = [(rest // n ** (n - 1 - j)) % n for j in range(n)]
        out[code] = tuple(STATISTICS[order[j]] for j in range(n)
                          if (picks >> (n - 1 - j)) & 1)
    return out


_FIRED_TABLE = _fired_table()
