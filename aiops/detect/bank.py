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

import numpy as np
import numpy.typing as npt

from aiops.config.detect import DetectConfig
from aiops.detect.config import Params
from aiops.detect.ensemble import Ensemble
from aiops.detect.robust import KINDS, MAX_ABS, STATISTICS, Evidence, usable
from aiops.errors import PermanentError
from aiops.model import Sample, Score, SeriesKey

_SNAPSHOT_VERSION = 1


class DetectorStateChanged(PermanentError):
    """A snapshot was taken under another detector configuration; state starts fresh."""


class DetectorBank:
    """Scores many series per call; state keyed by series, serializable with a config hash."""

    def __init__(self, config: DetectConfig | None = None) -> None:
        self.config = config if config is not None else DetectConfig()
        self.params = Params.from_config(self.config)
        self.config_hash = self.params.state_hash()
        self._core = Ensemble(self.params)
        self._index: dict[SeriesKey, int] = {}
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

    def _row(self, key: SeriesKey) -> int:
        row = self._index.get(key)
        if row is None:
            row = len(self._keys)
            self._index[key] = row
            self._keys.append(key)
            self._core.grow(row + 1)
        return row

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
        """Score each valid sample (before learning it); invalid ones are skipped and counted."""
        out: list[Score] = []
        pending = list(samples)
        while pending:
            batch: dict[int, Sample] = {}
            later: list[Sample] = []
            for s in pending:
                if not (s.valid and abs(s.value) <= MAX_ABS):
                    self.skipped += 1
                    continue
                row = self._row(s.key)
                if row in batch:
                    later.append(s)  # same series twice in one call: next round
                else:
                    batch[row] = s
            if batch:
                out.extend(self._score_batch(batch))
            pending = later
        return out

    def _score_batch(self, batch: dict[int, Sample]) -> list[Score]:
        x = np.full(self._core.size, np.nan)
        t = np.zeros(self._core.size)
        rows = np.fromiter(batch.keys(), dtype=np.int64, count=len(batch))
        x[rows] = [s.value for s in batch.values()]
        t[rows] = [s.t for s in batch.values()]
        ev = self._core.step(x, t)
        shares = _contributions(batch, ev)
        return [self._explain(row, s, ev, shares.get(s.key.labels, ())) for row, s in batch.items()]

    def _explain(
        self, row: int, s: Sample, ev: Evidence, shares: tuple[tuple[str, float], ...] = ()
    ) -> Score:
        metric = s.key.metric
        if not bool(ev.warm[row]):
            n = int(self._core.learned(row))
            return Score(
                key=s.key, t=s.t, value=s.value, score=0.0, expected=s.value, lower=s.value,
                upper=s.value, warm=False, kind="none",
                why=f"{metric} warming up ({n}/{self.params.warmup} samples)",
            )
        score = float(ev.score[row])
        expected = float(ev.expected[row])
        lower, upper = float(ev.lower[row]), float(ev.upper[row])
        kind = KINDS[int(ev.kind[row])]
        fired = _fired(ev.z[:, row], ev.raw[row])
        if s.value > upper:
            where = f"above expected {expected:.3g}"
        elif s.value < lower:
            where = f"below expected {expected:.3g}"
        else:
            where = f"near expected {expected:.3g}"
        why = f"{metric} {s.value:.3g} {where} (band {lower:.3g}-{upper:.3g})"
        if kind != "none":
            why += f": {kind}, score {score:.2f}"
        return Score(
            key=s.key, t=s.t, value=s.value, score=score, expected=expected, lower=lower,
            upper=upper, warm=True, kind=kind, detectors=fired, why=why,
            contributions=shares if score >= _CONTRIB_FLOOR else (),
        )

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
        self._index = {k: i for i, k in enumerate(keys) if k is not None}
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
    batch: dict[int, Sample], ev: Evidence
) -> dict[tuple[tuple[str, str], ...], tuple[tuple[str, float], ...]]:
    """Per label set (a workload), each metric's share of the workload's evidence.

    Series with the same labels but different metrics form one workload; a metric's
    share is its score over the sum of the workload's scores this cycle (top 3).
    """
    groups: dict[tuple[tuple[str, str], ...], list[tuple[str, float]]] = {}
    for row, s in batch.items():
        if bool(ev.warm[row]):
            groups.setdefault(s.key.labels, []).append((s.key.metric, float(ev.raw[row])))
    out = {}
    for labels, items in groups.items():
        total = sum(v for _, v in items)
        if len(items) > 1 and total > 0:
            ranked = sorted(((m, v / total) for m, v in items if v > 0), key=lambda kv: -kv[1])
            out[labels] = tuple(ranked[:3])
    return out


def _times(t: npt.ArrayLike, size: int) -> npt.NDArray[np.float64]:
    arr = np.asarray(t, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(size, float(arr))
    if arr.shape[0] < size:
        arr = np.concatenate([arr, np.zeros(size - arr.shape[0])])
    return arr


def _fired(z: npt.NDArray[np.float64], raw: float) -> tuple[str, ...]:
    """Statistics that carry the score (|z| beyond 3, within 30% of the strongest)."""
    if raw < 0.5:
        return ()
    a = np.abs(z)
    order = np.argsort(-a)
    return tuple(STATISTICS[i] for i in order if a[i] > 3.0 and a[i] >= 0.7 * a[order[0]])
