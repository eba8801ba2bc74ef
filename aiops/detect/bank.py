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

import dataclasses
import gc
import io
import json
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from operator import attrgetter
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt

from aiops.config.detect import DetectConfig
from aiops.detect.config import Params
from aiops.detect.ensemble import Ensemble
from aiops.detect.robust import KINDS, MAX_ABS, STATISTICS, Evidence, usable
from aiops.errors import PermanentError
from aiops.model import Labels, Sample, Score, SeriesKey

_SNAPSHOT_VERSION = 1
_IDENTITY = attrgetter("metric", "labels")
_T = TypeVar("_T")


class DetectorStateChanged(PermanentError):
    """A snapshot was taken under another detector configuration; state starts fresh."""


class DetectorBank:
    """Scores many series per call; state keyed by series, serializable with a config hash."""

    def __init__(self, config: DetectConfig | None = None) -> None:
        self.config = config if config is not None else DetectConfig()
        self.params = Params.from_config(self.config)
        self.config_hash = self.params.state_hash()
        self._core = Ensemble(self.params)
        # Keyed by (metric, labels): hashed and compared in C, unlike SeriesKey's
        # generated __hash__/__eq__ (the daemon's keys are new objects every cycle).
        self._index: dict[tuple[str, Labels], int] = {}
        self._keys: list[SeriesKey | None] = []
        self.skipped = 0

    # -- bookkeeping ------------------------------------------------------------
    def __len__(self) -> int:
        return self._core.size

    @property
    def keys(self) -> list[SeriesKey]:
        """Series known to the bank, in row order (anonymous array rows left out)."""
        return [k for k in self._keys if k is not None]

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
        if x.shape[0] > self._core.size:
            self._keys.extend([None] * (x.shape[0] - self._core.size))
            self._core.grow(x.shape[0])
        n = x.shape[0]
        bad = int(n - np.count_nonzero(usable(x)))
        if n < self._core.size:
            x = np.concatenate([x, np.full(self._core.size - n, np.nan)])
        scores = self._core.step_scores(x, None if t is None else _times(t, self._core.size))
        self.skipped += bad
        return scores[:n]

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
        with _gc_paused():
            return self._update(samples)

    def _update(self, samples: Sequence[Sample]) -> list[Score]:
        ok = [s for s in samples if abs(s.value) <= MAX_ABS]  # NaN and inf fail this too
        self.skipped += len(samples) - len(ok)
        if not ok:
            return []
        rows = self._rows([s.key for s in ok])
        if len(set(rows)) == len(rows):
            return self._score_batch(ok, rows)
        rounds: list[list[int]] = []
        seen: dict[int, int] = {}
        for i, row in enumerate(rows):
            k = seen.get(row, 0)
            seen[row] = k + 1
            if k == len(rounds):
                rounds.append([])
            rounds[k].append(i)
        out: list[Score] = []
        for members in rounds:
            out.extend(self._score_batch([ok[i] for i in members], [rows[i] for i in members]))
        return out

    def _rows(self, keys: list[SeriesKey]) -> list[int]:
        """Row of each key, new keys getting new rows in order of first appearance."""
        found = list(map(self._index.get, map(_IDENTITY, keys)))
        if found.count(None) == 0:
            return cast("list[int]", found)
        rows: list[int] = []
        for key, row in zip(keys, found, strict=True):
            if row is None:
                ident = (key.metric, key.labels)
                row = self._index.get(ident)
                if row is None:
                    row = len(self._keys)
                    self._index[ident] = row
                    self._keys.append(key)
            rows.append(row)
        self._core.grow(len(self._keys))
        return rows

    def _score_batch(self, batch: list[Sample], rows: list[int]) -> list[Score]:
        """One step over the batch (one sample per row), then a Score per sample.

        Everything is computed column-wise from the evidence arrays; only rows that
        are warming up, carry a score >= 0.5 or have a kind get per-row Python work.
        """
        idx = np.array(rows, dtype=np.intp)
        values = [s.value for s in batch]
        times = [s.t for s in batch]
        x = np.full(self._core.size, np.nan)
        t = np.zeros(self._core.size)
        x[idx] = values
        t[idx] = times
        ev = self._core.step(x, t)
        keys = [s.key for s in batch]
        metrics = [k.metric for k in keys]
        warm = ev.warm[idx]
        score = np.where(warm, ev.score[idx], 0.0)
        raw = ev.raw[idx]
        code = np.where(warm, ev.kind[idx], 0)
        expected, lower = ev.expected[idx].tolist(), ev.lower[idx].tolist()
        upper = ev.upper[idx].tolist()
        kinds: list[str] = _KIND_NAMES[code].tolist()
        detectors: list[tuple[str, ...]] = [()] * len(batch)
        contributions: list[tuple[tuple[str, float], ...]] = [()] * len(batch)
        why = self._why(rows, warm, metrics, values, expected, lower, upper, x[idx])
        carried = np.flatnonzero(warm & ~(raw < 0.5))  # a score worth naming detectors for
        if carried.size:
            for i, names in zip(carried.tolist(), _fired(ev.z[:, idx[carried]]), strict=True):
                detectors[i] = names
        hot = np.flatnonzero(warm & (score >= _CONTRIB_FLOOR)).tolist()
        if hot:
            shares = _contributions(keys, raw.tolist(), warm, {keys[i].labels for i in hot})
            for i in hot:
                contributions[i] = shares.get(keys[i].labels, ())
        scores = score.tolist()
        for i in np.flatnonzero(code != 0).tolist():
            why[i] += f": {kinds[i]}, score {scores[i]:.2f}"
        for i in np.flatnonzero(~warm).tolist():
            expected[i] = lower[i] = upper[i] = values[i]
        return _build_scores(
            len(batch), key=keys, t=times, value=values, score=scores, expected=expected,
            lower=lower, upper=upper, warm=warm.tolist(), kind=kinds, detectors=detectors,
            contributions=contributions, why=why,
        )

    def _why(
        self, rows: list[int], warm: npt.NDArray[np.bool_], metrics: list[str],
        values: list[float], expected: list[float], lower: list[float], upper: list[float],
        x: npt.NDArray[np.float64],
    ) -> list[str]:
        """Each row's sentence: value against the band when warm, warm-up progress if not."""
        cold = np.flatnonzero(~warm).tolist()
        if not cold:
            return _why_warm(metrics, values, expected, lower, upper, x)
        why = [""] * len(rows)
        for i in cold:
            n = int(self._core.learned(rows[i]))
            why[i] = f"{metrics[i]} warming up ({n}/{self.params.warmup} samples)"
        at = np.flatnonzero(warm)
        texts = _why_warm(_take(metrics, at), _take(values, at), _take(expected, at),
                          _take(lower, at), _take(upper, at), x[at])
        for i, text in zip(at.tolist(), texts, strict=True):
            why[i] = text
        return why

    # -- state ------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """Serialize all state (npz, no pickle) tagged with the config hash."""
        meta = {
            "version": _SNAPSHOT_VERSION,
            "config_hash": self.config_hash,
            "skipped": self.skipped,
            "keys": [None if k is None else [k.metric, [list(p) for p in k.labels]]
                     for k in self._keys],
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
        self._keys = keys
        self._index = {(k.metric, k.labels): i for i, k in enumerate(keys) if k is not None}
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
        return f"detector state restored: {len(self._index)} series"

    def _reset(self) -> None:
        self._core = Ensemble(self.params)
        self._index = {}
        self._keys = []
        self.skipped = 0


_CONTRIB_FLOOR = 0.5


def _contributions(
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
_KIND_NAMES = np.array(KINDS, dtype=object)


def _take(column: list[_T], positions: npt.NDArray[np.intp]) -> list[_T]:
    return [column[i] for i in positions.tolist()]


def _why_warm(
    metrics: list[str], values: list[float], expected: list[float], lower: list[float],
    upper: list[float], x: npt.NDArray[np.float64],
) -> list[str]:
    """``"<metric> <value> above|below|near expected <e> (band <lo>-<hi>)"`` per row.

    All rows are formatted in one ``%`` call over one long template (then split), which
    costs a third of formatting each row on its own. ``x`` holds ``values`` as floats.

    >>> _why_warm(["cpu"], [2.0], [1.0], [0.5], [1.5], np.array([2.0]))
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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a cycle's Scores are built.

    A 10,000-sample cycle allocates 10,000 Scores that outlive the call; with the
    collector on, that sets off ~14 young passes, a middle one and now and then a full
    pass over the daemon's heap: about a third of the scoring time, measured. Paused,
    the same objects cost one young pass afterwards. Nothing becomes garbage any later;
    a collector someone else turned off stays off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_SCORE_FIELDS = frozenset(f.name for f in dataclasses.fields(Score))
_SCORE_SETTERS = {name: getattr(Score, name).__set__ for name in _SCORE_FIELDS}


def _build_scores(n: int, **columns: Sequence[object]) -> list[Score]:
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


def _times(t: npt.ArrayLike, size: int) -> npt.NDArray[np.float64]:
    arr = np.asarray(t, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(size, float(arr))
    if arr.shape[0] < size:
        arr = np.concatenate([arr, np.zeros(size - arr.shape[0])])
    return arr


def _fired(z: npt.NDArray[np.float64]) -> list[tuple[str, ...]]:
    """Per column of ``z`` (one row of statistics each), the statistics carrying the score.

    Those with |z| beyond 3 and within 30% of the strongest, strongest first; each
    column's order and picks are coded as one integer and looked up in a table.

    >>> _fired(np.array([[4.0, 1.0], [-9.0, 0.5], [7.0, 0.2]]))
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
