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
from operator import attrgetter
from typing import cast

import numpy as np
import numpy.typing as npt

from aiops.config.detect import DetectConfig
from aiops.detect.config import Params
from aiops.detect.ensemble import Ensemble
from aiops.detect.explain import (
    CONTRIB_FLOOR,
    KIND_NAMES,
    build_scores,
    contributions,
    fired,
    take,
    why_warm,
)
from aiops.detect.robust import MAX_ABS, Evidence, usable
from aiops.errors import PermanentError
from aiops.model import Labels, Sample, Score, SeriesKey

_SNAPSHOT_VERSION = 1
_IDENTITY = attrgetter("metric", "labels")


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
        kinds: list[str] = KIND_NAMES[code].tolist()
        detectors: list[tuple[str, ...]] = [()] * len(batch)
        shares_of: list[tuple[tuple[str, float], ...]] = [()] * len(batch)
        why = self._why(rows, warm, metrics, values, expected, lower, upper, x[idx])
        carried = np.flatnonzero(warm & ~(raw < 0.5))  # a score worth naming detectors for
        if carried.size:
            for i, names in zip(carried.tolist(), fired(ev.z[:, idx[carried]]), strict=True):
                detectors[i] = names
        hot = np.flatnonzero(warm & (score >= CONTRIB_FLOOR)).tolist()
        if hot:
            shares = contributions(keys, raw.tolist(), warm, {keys[i].labels for i in hot})
            for i in hot:
                shares_of[i] = shares.get(keys[i].labels, ())
        scores = score.tolist()
        for i in np.flatnonzero(code != 0).tolist():
            why[i] += f": {kinds[i]}, score {scores[i]:.2f}"
        for i in np.flatnonzero(~warm).tolist():
            expected[i] = lower[i] = upper[i] = values[i]
        return build_scores(
            len(batch), key=keys, t=times, value=values, score=scores, expected=expected,
            lower=lower, upper=upper, warm=warm.tolist(), kind=kinds, detectors=detectors,
            contributions=shares_of, why=why,
        )

    def _why(
        self, rows: list[int], warm: npt.NDArray[np.bool_], metrics: list[str],
        values: list[float], expected: list[float], lower: list[float], upper: list[float],
        x: npt.NDArray[np.float64],
    ) -> list[str]:
        """Each row's sentence: value against the band when warm, warm-up progress if not."""
        cold = np.flatnonzero(~warm).tolist()
        if not cold:
            return why_warm(metrics, values, expected, lower, upper, x)
        why = [""] * len(rows)
        for i in cold:
            n = int(self._core.learned(rows[i]))
            why[i] = f"{metrics[i]} warming up ({n}/{self.params.warmup} samples)"
        at = np.flatnonzero(warm)
        texts = why_warm(take(metrics, at), take(values, at), take(expected, at),
                          take(lower, at), take(upper, at), x[at])
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


def _times(t: npt.ArrayLike, size: int) -> npt.NDArray[np.float64]:
    arr = np.asarray(t, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(size, float(arr))
    if arr.shape[0] < size:
        arr = np.concatenate([arr, np.zeros(size - arr.shape[0])])
    return arr
