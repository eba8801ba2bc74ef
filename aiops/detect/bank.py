"""The detector bank: every series scored per call, with reasons, state snapshots.

Series keys map to rows of the vectorized :class:`~aiops.detect.robust.RobustCore`;
arrays grow as new series appear. ``update(samples)`` is the daemon's entry point
(one :class:`~aiops.model.Score` per valid sample); ``update_arrays(values)`` is the
array API for aligned series (benchmarks, replay) on the same core.

>>> from aiops.config.detect import DetectConfig
>>> from aiops.model import Sample, SeriesKey
>>> bank = DetectorBank(DetectConfig(warmup=3))
>>> key = SeriesKey.of("latency_p99", workload="checkout")
>>> for i in range(40):
...     _ = bank.update([Sample(key=key, t=15.0 * i, value=0.2 + 0.01 * (i % 3))])
>>> [s] = bank.update([Sample(key=key, t=600.0, value=1.0)])
>>> s.score >= 0.9, s.kind
(True, 'spike')
>>> s.why.startswith("latency_p99 1 above expected 0.21")
True
>>> bank.update([Sample(key=key, t=615.0, value=float("nan"))]), bank.skipped
([], 1)
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from aiops.config.detect import DetectConfig
from aiops.detect.columns import ColumnBatch, ScoreBatch, explain, gather
from aiops.detect.config import Params
from aiops.detect.ensemble import Ensemble
from aiops.detect.robust import MAX_ABS, Evidence, usable
from aiops.detect.rows import with_room
from aiops.detect.series_rows import SeriesRows
from aiops.errors import PermanentError
from aiops.model import Labels, Sample, Score, SeriesKey

_SNAPSHOT_VERSION = 2
_ANONYMOUS = 1 << 40  # group ids of anonymous rows: row + this, never a label set's


class DetectorStateChanged(PermanentError):
    """A snapshot was taken under another detector configuration; state starts fresh."""


class DetectorBank:
    """Scores many series per call; state keyed by series, serializable with a config hash."""

    def __init__(self, config: DetectConfig | None = None) -> None:
        self.config = config if config is not None else DetectConfig()
        self.params = Params.from_config(self.config)
        self.config_hash = self.params.state_hash()
        self._core = Ensemble(self.params)
        self._rows_of = SeriesRows(max_series=None)
        # The workload of each row: one group per label set; an anonymous row is its own.
        self._groups: dict[Labels, int] = {}
        self._group = np.zeros(0, dtype=np.intp)
        self.skipped = 0

    # -- bookkeeping ------------------------------------------------------------
    def __len__(self) -> int:
        return self._core.size

    @property
    def keys(self) -> list[SeriesKey]:
        """Series known to the bank, in row order (anonymous array rows left out)."""
        return [k for k in self._rows_of.keys if k is not None]

    @property
    def nbytes(self) -> int:
        """Bytes of detector state allocated (excluding the key index)."""
        return self._core.nbytes

    # -- array API --------------------------------------------------------------
    def update_arrays(
        self, values: npt.ArrayLike, t: npt.ArrayLike | None = None
    ) -> npt.NDArray[np.float64]:
        """Score then learn one value per row (row i is the i-th series); NaN rows skipped.

        ``t`` (one time, or one per row) is required when seasons are configured.
        Returns the scores (NaN where the value was NaN/inf). Rows beyond the known
        series are created as anonymous series.
        """
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError("update_arrays takes a 1-D array, one value per series")
        self._anonymous(x.shape[0])
        n = x.shape[0]
        bad = int(n - np.count_nonzero(usable(x)))
        if n < self._core.size:
            x = np.concatenate([x, np.full(self._core.size - n, np.nan)])
        scores = self._core.step_scores(x, None if t is None else _times(t, self._core.size))
        self.skipped += bad
        return scores[:n]

    def _anonymous(self, size: int) -> None:
        """Rows up to ``size`` exist (new ones anonymous, each its own workload)."""
        if size > self._core.size:
            start = len(self._rows_of)
            self._rows_of.pad(size)
            self._added(start)

    def evidence(self, values: npt.ArrayLike, t: npt.ArrayLike | None = None) -> Evidence:
        """Like :meth:`update_arrays` but returns the full evidence (bands, z, kinds)."""
        x = np.asarray(values, dtype=np.float64)
        if x.shape[0] != self._core.size:
            raise ValueError(f"expected {self._core.size} values, got {x.shape[0]}")
        self.skipped += int(x.shape[0] - np.count_nonzero(usable(x)))
        return self._core.step(x, None if t is None else _times(t, self._core.size))

    # -- sample API -------------------------------------------------------------
    def update(self, samples: Sequence[Sample]) -> list[Score]:
        """Score each valid sample (before learning it); invalid ones are skipped and counted.

        Two samples of one series in one call are scored in turn, oldest first: the
        k-th sample of each series goes in the k-th step.
        """
        ok = [s for s in samples if abs(s.value) <= MAX_ABS]  # NaN and inf fail this too
        self.skipped += len(samples) - len(ok)
        if not ok:
            return []
        keys = [s.key for s in ok]
        rows = np.array(self._rows(keys), dtype=np.intp)
        t = np.array([s.t for s in ok], dtype=np.float64)
        x = np.array([s.value for s in ok], dtype=np.float64)
        out: list[Score] = []
        for members in _rounds(rows):
            sb = self._score_rows(keys, members, rows[members], t[members], x[members])
            out.extend(self.explain(sb, np.arange(len(sb))))
        return out

    # -- columnar API -----------------------------------------------------------
    def update_batch(self, batch: ColumnBatch) -> ScoreBatch:
        """Score a column batch (see :mod:`aiops.detect.columns`); arrays out, no objects.

        Invalid values are skipped and counted (score NaN, phase NONE). Two samples of one
        series are scored in turn, in batch order.
        """
        index = np.asarray(batch.index, dtype=np.intp)
        start = len(self._rows_of)
        rows, new = self._rows_of.rows_in(batch.table, index)
        if new.shape[0]:
            self._added(start)
        t = np.asarray(batch.t, dtype=np.float64)
        x = np.asarray(batch.value, dtype=np.float64)
        good = usable(x)
        self.skipped += int(x.shape[0] - np.count_nonzero(good))
        n = self._core.size
        if rows.shape[0] <= n and _distinct(rows, n):
            return self._score_rows(batch.table.keys, index, rows, t, x)
        parts = [(m, self._score_rows(batch.table.keys, index[m], rows[m], t[m], x[m]))
                 for m in _rounds(rows)]
        return _merge(parts, len(index))

    def explain(self, sb: ScoreBatch, positions: npt.ArrayLike) -> list[Score]:
        """Scores with reasons for the chosen positions of a batch (e.g. those that signal)."""
        return explain(sb, np.asarray(positions, dtype=np.intp), learned=self._core.learned,
                       warmup=self.params.warmup)

    def _score_rows(
        self, keys: Sequence[SeriesKey], index: npt.NDArray[np.intp],
        rows: npt.NDArray[np.intp], t: npt.NDArray[np.float64], x: npt.NDArray[np.float64],
    ) -> ScoreBatch:
        """One step with one sample per row (``rows`` distinct); the batch's columns."""
        size = self._core.size
        xs = np.full(size, np.nan)
        ts = np.zeros(size)
        xs[rows] = x
        ts[rows] = t
        ev = self._core.step(xs, ts)
        return ScoreBatch(keys=keys, index=index, rows=rows, group=self._group[rows], t=t,
                          value=x, **gather(ev, rows))  # type: ignore[arg-type]

    def _rows(self, keys: list[SeriesKey]) -> list[int]:
        """Row of each key, new keys getting new rows in order of first appearance."""
        found = self._rows_of.lookup(keys)
        if found.count(None) == 0:
            return cast("list[int]", found)
        start = len(self._rows_of)
        rows = [self._rows_of.find_or_add(key)[0] if row is None else row
                for key, row in zip(keys, found, strict=True)]
        self._added(start)
        return rows

    def _added(self, start: int) -> None:
        """Rows from ``start`` on are new: give each its workload group (its label set's;
        an anonymous row its own) and grow the detector state to hold them."""
        keys = self._rows_of.keys
        self._group = with_room(self._group, len(keys))
        for row in range(start, len(keys)):
            key = keys[row]
            self._group[row] = (row + _ANONYMOUS if key is None
                                else self._groups.setdefault(key.labels, len(self._groups)))
        self._core.grow(len(keys))

    # -- state ------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """Serialize all state (npz, no pickle) tagged with the config hash."""
        meta = {
            "version": _SNAPSHOT_VERSION,
            "config_hash": self.config_hash,
            "skipped": self.skipped,
            "keys": [None if k is None else [k.metric, [list(p) for p in k.labels]]
                     for k in self._rows_of.keys],
        }
        buf = io.BytesIO()
        arrays = self._core.state()
        np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                 **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    def restore(self, blob: bytes) -> None:
        """Load a snapshot; a different config hash raises :class:`DetectorStateChanged`.

        On a mismatch the bank is left empty (fresh state), and the error says so.
        """
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            meta = json.loads(bytes(z["__meta__"]).decode())
            same = meta.get("config_hash") == self.config_hash
            if meta.get("version") != _SNAPSHOT_VERSION or not same:
                self._reset()
                raise DetectorStateChanged(
                    f"detector config changed (snapshot {meta.get('config_hash')}, "
                    f"now {self.config_hash}): starting fresh"
                )
            state = {name: z[name] for name in z.files if name != "__meta__"}
        keys: list[SeriesKey | None] = [
            None if k is None else SeriesKey(metric=k[0], labels=tuple((a, b) for a, b in k[1]))
            for k in meta["keys"]
        ]
        self._core.load(state)
        self._rows_of = SeriesRows(max_series=None, keys=keys)
        self._groups = {}
        self._group = np.zeros(0, dtype=np.intp)
        self._added(0)
        self.skipped = int(meta["skipped"])

    def restore_or_fresh(self, blob: bytes | None) -> str:
        """Restore if possible; return one sentence saying what happened."""
        if not blob:
            return "no detector state: starting fresh"
        try:
            self.restore(blob)
        except DetectorStateChanged as e:
            return str(e)
        except (ValueError, KeyError, OSError) as e:
            self._reset()
            return f"detector state unreadable ({e}): starting fresh"
        return f"detector state restored: {self._rows_of.named} series"

    def _reset(self) -> None:
        self._core = Ensemble(self.params)
        self._rows_of = SeriesRows(max_series=None)
        self._groups = {}
        self._group = np.zeros(0, dtype=np.intp)
        self.skipped = 0


def _rounds(rows: npt.NDArray[np.intp]) -> list[npt.NDArray[np.intp]]:
    """Positions split into rounds so no round holds a row twice (k-th repeat, k-th round)."""
    if rows.shape[0] == 0:
        return []
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    first = np.r_[True, sorted_rows[1:] != sorted_rows[:-1]]
    starts = np.flatnonzero(first)
    rank = np.arange(rows.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, rows.shape[0]]))
    occurrence = np.empty_like(rank)
    occurrence[order] = rank
    return [np.flatnonzero(occurrence == k) for k in range(int(occurrence.max()) + 1)]


def _distinct(rows: npt.NDArray[np.intp], size: int) -> bool:
    """Whether no row appears twice (a bincount, cheaper than sorting)."""
    return bool(np.bincount(rows, minlength=size).max(initial=0) <= 1)


def _merge(parts: list[tuple[npt.NDArray[np.intp], ScoreBatch]], n: int) -> ScoreBatch:
    """One ScoreBatch in batch order from the rounds' batches."""
    first = parts[0][1]
    fields: dict[str, npt.NDArray[np.generic]] = {}
    for name in ("index", "rows", "group", "t", "value", "valid", "score", "raw", "expected",
                 "lower", "upper", "warm", "kind", "phase", "start", "since", "peak"):
        col = getattr(first, name)
        out = np.empty(n, dtype=col.dtype)
        for members, sb in parts:
            out[members] = getattr(sb, name)
        fields[name] = out
    z = np.empty((first.z.shape[0], n))
    for members, sb in parts:
        z[:, members] = sb.z
    return ScoreBatch(keys=first.keys, z=z, **fields)  # type: ignore[arg-type]


def _times(t: npt.ArrayLike, size: int) -> npt.NDArray[np.float64]:
    arr = np.asarray(t, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(size, float(arr))
    if arr.shape[0] < size:
        arr = np.concatenate([arr, np.zeros(size - arr.shape[0])])
    return arr
