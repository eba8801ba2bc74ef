"""The bank's columnar path: a cycle's samples in as arrays, its scores out as arrays.

A source hands the bank a :class:`ColumnBatch`: an append-only table of interned series
keys (each key built once, when the series first appears), and per sample its row in
that table, its time and its value as numpy arrays. The bank maps table rows to its
own rows once per new key (an integer array it keeps per table), scores the cycle in
one step and returns a :class:`ScoreBatch` of arrays. Python objects
(:class:`~aiops.model.Score` with its sentence) are built only for the positions asked
for, typically the series that signal: :func:`explain` turns chosen positions into
Scores exactly as the per-sample ``update(samples)`` would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from aiops.detect.explain import (
    CONTRIB_FLOOR,
    KIND_NAMES,
    build_scores,
    fired,
    take,
    why_warm,
)
from aiops.detect.robust import Evidence
from aiops.model import Score, SeriesKey

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
IntP = npt.NDArray[np.intp]
Bool = npt.NDArray[np.bool_]


class KeyTable(Protocol):
    """Interned series keys: row ``i`` is ``keys[i]``; rows are only ever appended.

    ``token`` identifies the table (the bank caches its row mapping per token).
    """

    @property
    def token(self) -> int: ...

    @property
    def keys(self) -> Sequence[SeriesKey]: ...


class ColumnBatch(Protocol):
    """One cycle's samples as columns: table row, time and value per sample."""

    @property
    def table(self) -> KeyTable: ...

    @property
    def index(self) -> IntP: ...

    @property
    def t(self) -> F64: ...

    @property
    def value(self) -> F64: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class ScoreBatch:
    """Per sample of a batch (same order): the bank's judgement, as arrays.

    ``phase`` holds :class:`~aiops.detect.episodes.Phase` codes; ``start`` is the
    episode's start time, ``since`` the current run's (consecutive samples at the
    episode's open level; NaN after a calm one), ``peak`` the
    episode's highest score so far. Invalid samples have ``valid`` False, score 0
    and phase NONE.
    ``keys`` and ``index`` locate each sample's key; ``rows`` and ``group`` (one id per
    label set, i.e. workload) are the bank's.
    """

    keys: Sequence[SeriesKey]
    index: IntP
    rows: IntP
    group: IntP
    t: F64
    value: F64
    valid: Bool
    score: F64
    raw: F64
    expected: F64
    lower: F64
    upper: F64
    warm: Bool
    kind: I64
    phase: npt.NDArray[np.int8]
    start: F64
    since: F64
    peak: F64
    z: F64

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def key(self, position: int) -> SeriesKey:
        """The series key of the sample at ``position``."""
        return self.keys[int(self.index[position])]


def gather(ev: Evidence, rows: IntP) -> dict[str, npt.NDArray[np.generic]]:
    """The evidence columns at ``rows`` (one entry per sample)."""
    assert ev.phase is not None and ev.start is not None
    assert ev.since is not None and ev.peak is not None
    warm = ev.warm[rows]
    return {
        "valid": ev.valid[rows], "score": np.where(warm, ev.score[rows], 0.0),
        "raw": ev.raw[rows], "expected": ev.expected[rows], "lower": ev.lower[rows],
        "upper": ev.upper[rows], "warm": warm, "kind": np.where(warm, ev.kind[rows], 0),
        "phase": ev.phase[rows], "start": ev.start[rows], "since": ev.since[rows],
        "peak": ev.peak[rows], "z": ev.z[:, rows],
    }


def explain(
    sb: ScoreBatch, positions: IntP, *, learned: Callable[[int], int], warmup: int
) -> list[Score]:
    """A :class:`Score` (band, kind, fired statistics, contributions, sentence) per position.

    Contributions compare a hot sample's raw score with the other samples of its
    workload (same labels) in the whole batch, so they do not depend on ``positions``.
    """
    pos = np.asarray(positions, dtype=np.intp)
    n = int(pos.shape[0])
    if n == 0:
        return []
    keys = [sb.keys[i] for i in sb.index[pos].tolist()]
    metrics = [k.metric for k in keys]
    values: list[float] = sb.value[pos].tolist()
    times: list[float] = sb.t[pos].tolist()
    warm = sb.warm[pos]
    score = sb.score[pos]
    code = sb.kind[pos]
    expected, lower = sb.expected[pos].tolist(), sb.lower[pos].tolist()
    upper = sb.upper[pos].tolist()
    kinds: list[str] = KIND_NAMES[code].tolist()
    detectors: list[tuple[str, ...]] = [()] * n
    shares_of: list[tuple[tuple[str, float], ...]] = [()] * n
    why = _why(sb, pos, warm, metrics, values, expected, lower, upper, learned, warmup)
    raw = sb.raw[pos]
    carried = np.flatnonzero(warm & ~(raw < 0.5))
    if carried.size:
        for i, names in zip(carried.tolist(), fired(sb.z[:, pos[carried]]), strict=True):
            detectors[i] = names
    hot = np.flatnonzero(warm & (score >= CONTRIB_FLOOR))
    if hot.size:
        shares = workload_shares(sb, np.unique(sb.group[pos[hot]]))
        for i in hot.tolist():
            shares_of[i] = shares.get(int(sb.group[pos[i]]), ())
    scores: list[float] = score.tolist()
    for i in np.flatnonzero(code != 0).tolist():
        why[i] += f": {kinds[i]}, score {scores[i]:.2f}"
    for i in np.flatnonzero(~warm).tolist():
        expected[i] = lower[i] = upper[i] = values[i]
    return build_scores(
        n, key=keys, t=times, value=values, score=scores, expected=expected,
        lower=lower, upper=upper, warm=warm.tolist(), kind=kinds, detectors=detectors,
        contributions=shares_of, why=why,
    )


def workload_shares(
    sb: ScoreBatch, groups: IntP
) -> dict[int, tuple[tuple[str, float], ...]]:
    """Per workload id, each metric's share of the workload's raw evidence (top 3).

    Only workloads with more than one warm sample and some evidence get shares. Column
    by column: each workload's total is summed in batch order (one vectorised pass per
    member rank, so it equals a running sum), shares ranked largest first (ties in batch
    order); Python tuples are built for the top three of each workload only.
    """
    member = np.flatnonzero(np.isin(sb.group, groups) & sb.warm)
    if member.shape[0] == 0:
        return {}
    order = np.argsort(sb.group[member], kind="stable")
    member = member[order]
    g = sb.group[member]
    raw = sb.raw[member]
    first = np.r_[True, g[1:] != g[:-1]]
    starts = np.flatnonzero(first)
    seg = np.cumsum(first) - 1
    rank = np.arange(g.shape[0]) - starts[seg]
    counts = np.diff(np.r_[starts, g.shape[0]])
    total = np.zeros(starts.shape[0])
    for k in range(int(counts.max())):
        at = rank == k
        total[seg[at]] += raw[at]
    keep = np.flatnonzero((counts[seg] > 1) & (total[seg] > 0) & (raw > 0))
    if keep.shape[0] == 0:
        return {}
    share = raw[keep] / total[seg[keep]]
    ranked = keep[np.lexsort((rank[keep], -share, seg[keep]))]
    share = raw[ranked] / total[seg[ranked]]
    lead = np.r_[True, seg[ranked][1:] != seg[ranked][:-1]]
    place = np.arange(ranked.shape[0]) - np.maximum.accumulate(
        np.where(lead, np.arange(ranked.shape[0]), 0))
    top = np.flatnonzero(place < 3)
    by: dict[int, list[tuple[str, float]]] = {}
    keys, index = sb.keys, sb.index
    for i, gid, v in zip(member[ranked[top]].tolist(), g[ranked[top]].tolist(),
                         share[top].tolist(), strict=True):
        by.setdefault(gid, []).append((keys[int(index[i])].metric, v))
    return {gid: tuple(items) for gid, items in by.items()}


def _why(
    sb: ScoreBatch, pos: IntP, warm: Bool, metrics: list[str], values: list[float],
    expected: list[float], lower: list[float], upper: list[float],
    learned: Callable[[int], int], warmup: int,
) -> list[str]:
    """Each sample's sentence: value against the band when warm, warm-up progress if not."""
    x = sb.value[pos]
    cold = np.flatnonzero(~warm).tolist()
    if not cold:
        return why_warm(metrics, values, expected, lower, upper, x)
    why = [""] * len(metrics)
    for i in cold:
        n = learned(int(sb.rows[pos[i]]))
        why[i] = f"{metrics[i]} warming up ({n}/{warmup} samples)"
    at = np.flatnonzero(warm)
    texts = why_warm(take(metrics, at), take(values, at), take(expected, at),
                     take(lower, at), take(upper, at), x[at])
    for i, text in zip(at.tolist(), texts, strict=True):
        why[i] = text
    return why
