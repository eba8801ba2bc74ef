"""The ensemble the bank runs: the robust detector on raw values and on seasonal residuals.

View 0 scores the raw value; each configured season (e.g. a day in 24 bins, a week in
336) adds a view scoring the residual from that season's profile. The combined score
is the strongest view's; its band and explanation come from that view (seasonal
bands are shifted by the profile level). Each view learns by its own verdict: a point
a view finds anomalous is not learnt by that view (nor by its seasonal profile), while
views that find it normal keep adapting. Optional stages, each off by default: the
recurring-pattern envelope and the recurring-anomaly memory discount what was seen at
this phase before; range records raise a value beyond anything the series has shown;
Page-Hinkley adoption of a confirmed new level. Last, every row's anomaly episode
advances (:mod:`aiops.detect.episodes`): one start per burst, which a record breaks
through.

>>> import numpy as np
>>> ens = Ensemble(Params(warmup=5, seasons=((86400.0, 24, 0.2),)))
>>> ens.grow(1)
>>> for i in range(24 * 12 * 4):  # four days of 5-minute samples, a daily square wave
...     t = np.array([i * 300.0])
...     hour = (i * 300.0 % 86400.0) / 3600.0
...     _ = ens.step(np.array([10.0 if 8 <= hour < 20 else 1.0]), t)
>>> ev = ens.step(np.array([1.0]), np.array([4 * 86400.0 + 12 * 3600.0]))  # night level at noon
>>> bool(ev.score[0] >= 0.9)
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from aiops.detect.calibration import to_decades, to_score
from aiops.detect.config import Params
from aiops.detect.drift import DriftParams, PageHinkleyBank
from aiops.detect.envelope import PhaseEnvelope
from aiops.detect.episodes import EpisodeTracker
from aiops.detect.records import RangeRecords
from aiops.detect.robust import KINDS, Evidence, RobustCore, blocks, concat, usable
from aiops.detect.seasonal import SeasonalProfile

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]


class Ensemble:
    """Raw plus seasonal views over the same rows, combined per row."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.cores = [RobustCore(params) for _ in range(1 + len(params.seasons))]
        self.profiles = [
            SeasonalProfile(period=period, bins=bins, alpha=alpha)
            for period, bins, alpha in params.seasons
        ]
        self.envelope = (
            PhaseEnvelope(
                period=params.recurring_period, bins=params.recurring_bins,
                halflife=params.recurring_halflife_periods, neighbours=params.recurring_neighbours,
            )
            if params.recurring_period > 0
            else None
        )
        # Anomalies that recur at the same phase: the envelope of anomalous values only.
        self.repeats = (
            PhaseEnvelope(
                period=params.recurring_period, bins=params.recurring_bins,
                halflife=params.recurring_halflife_periods, neighbours=params.recurring_neighbours,
                margin=params.repeat_margin,
            )
            if params.recurring_period > 0 and params.repeat_discount < 1.0
            else None
        )
        self.records = (
            RangeRecords(tolerance=params.record_tolerance) if params.records else None
        )
        self.drift = (
            PageHinkleyBank(DriftParams(threshold=params.drift_threshold))
            if params.drift_threshold > 0
            else None
        )
        self.episodes = EpisodeTracker(
            open_level=params.episode_open, min_length=params.episode_min,
            calm=params.episode_calm, renew_level=params.episode_renew,
            # A renewal beyond earlier anomalies by as much as a record beyond the range.
            renew_margin=params.record_tolerance if params.records else 0.0,
        )
        self.size = 0

    def grow(self, size: int) -> None:
        """Make room for ``size`` series."""
        if size <= self.size:
            return
        for core in self.cores:
            core.grow(size)
        for prof in self.profiles:
            prof.grow(size)
        for extra in (self.envelope, self.repeats, self.records, self.drift):
            if extra is not None:
                extra.grow(size)
        self.episodes.grow(size)
        self.size = size

    def learned(self, row: int) -> int:
        """Points row ``row`` has learnt (raw view)."""
        return self.cores[0].learned(row)

    @property
    def nbytes(self) -> int:
        """Bytes of state allocated."""
        return (
            sum(c.nbytes for c in self.cores)
            + sum(p.nbytes for p in self.profiles)
            + sum(e.nbytes for e in (self.envelope, self.repeats, self.records, self.drift)
                  if e is not None)
            + self.episodes.nbytes
        )

    def step(self, values: F64, t: F64 | None = None) -> Evidence:
        """Score every row in every view, combine, then learn (``t`` needed with seasons)."""
        parts: list[Evidence] = []
        self._run(values, t, lambda rows, ev: parts.append(ev))
        return concat(parts)

    def step_scores(self, values: F64, t: F64 | None = None) -> F64:
        """Like :meth:`step`, returning only the scores (the array API's fast path)."""
        out = np.empty(self.size)

        def keep(rows: slice, ev: Evidence) -> None:
            out[rows] = ev.score

        self._run(values, t, keep)
        return out

    def _run(
        self, values: F64, t: F64 | None, sink: Callable[[slice, Evidence], None]
    ) -> None:
        x = np.asarray(values, dtype=np.float64)
        if x.shape[0] != self.size:
            raise ValueError(f"expected {self.size} values, got {x.shape[0]}")
        if (self.profiles or self.envelope is not None) and t is None:
            raise ValueError("seasonal views need the samples' times")
        tt = np.zeros(self.size) if t is None else np.broadcast_to(
            np.asarray(t, dtype=np.float64), (self.size,))
        p = self.params
        for core in self.cores:
            core.begin_step()
        spread0 = np.zeros(self.size) if self.drift is not None else None
        # Rows go in cache-sized blocks. Each view learns by its own verdict: a point a
        # view finds anomalous is not learnt by that view (its seasonal profile
        # included), while views that find it normal keep adapting.
        for rows in blocks(self.size):
            xb, tb = x[rows], tt[rows]
            evs: list[Evidence] = []
            shifts = [np.zeros(len(xb))]
            for k, core in enumerate(self.cores):
                prof = self.profiles[k - 1] if k else None
                v = xb
                seen = None
                if prof is not None:
                    pb = prof.bin_of(tb)
                    level, seen = prof.expected(tb, rows, pb)
                    v = np.where(seen, xb - level, np.where(usable(xb), 0.0, np.nan))
                    shifts.append(level)
                e = core.score(v, rows)
                core.learn(v, e, None, rows)
                if prof is not None and core.adopted.size:
                    # An adopted residual level moves into the profile (the residual
                    # baseline returns to 0, so the two never chase each other): into every
                    # phase if the raw view shifted too (the whole series moved), else
                    # into this phase only (a holiday afternoon is not a new day).
                    local = core.adopted
                    offset = core.recentre(local)
                    moved = ~self.cores[0].settled(rows)[local]
                    prof.shift(tb[local], local + rows.start, offset, moved)
                if prof is not None and seen is not None:
                    # A phase seen before learns by its own view's verdict; an unseen one
                    # (no opinion yet) by the raw view's, so a spike cannot become its level.
                    normal = np.where(seen, e.raw, evs[0].raw) < p.threshold
                    prof.learn(xb, tb, e.valid & normal, rows, pb)
                evs.append(e)
            if spread0 is not None:
                spread0[rows] = (evs[0].upper - evs[0].lower) / 6.0
            ev = evs[0] if len(evs) == 1 else _combine(evs, shifts, p.decades)
            if self.envelope is not None:
                ev = self._recurring(ev, xb, tb, rows)
            record = None
            if self.records is not None:
                ev, record = self._record(ev, xb, rows)
            sink(rows, self._episode(ev, xb, tb, rows, record))
        if self.drift is not None and spread0 is not None:
            self._adopt_on_drift(x, spread0)

    def _adopt_on_drift(self, x: F64, spread: F64) -> None:
        """A lasting shift confirmed by Page-Hinkley ends an anomaly: adopt the new level."""
        assert self.drift is not None
        change = self.drift.update(x, scale=spread)
        rows = np.nonzero(change.drift & (self.cores[0].streaks() > 0))[0]
        if len(rows):
            self.cores[0].adopt(rows, change.level[rows])

    def _recurring(self, ev: Evidence, x: F64, t: F64, rows: slice) -> Evidence:
        """Discount values the envelope has seen at this phase before, then widen it."""
        assert self.envelope is not None
        p = self.params
        center = self.envelope.center[rows].copy() if self.repeats is not None else None
        b = self.envelope.bin_of(t)  # the repeats envelope has the same period and bins
        run = self.episodes.run(rows)  # a value is not "seen" by its own run's start
        seen = self.envelope.inside(x, t, rows, b=b, run=run) & ev.valid
        self.envelope.learn(x, t, ev.valid, rows, b=b)
        factor = np.where(seen, p.recurring_discount, 1.0)
        ev = replace(ev, score=ev.score * factor, raw=ev.raw * factor)
        if self.repeats is None or center is None:
            return ev
        # An anomaly within reach of one seen at this phase before is a repeat.
        again = self.repeats.inside(x, t, rows, center=center, b=b, run=run) & ev.valid
        self.repeats.learn(x, t, ev.valid & (ev.raw >= p.repeat_level), rows, center=center,
                           b=b)
        factor = np.where(again, p.repeat_discount, 1.0)
        return replace(ev, score=ev.score * factor, raw=ev.raw * factor)

    def _record(self, ev: Evidence, x: F64, rows: slice) -> tuple[Evidence, Bool]:
        """Score a warm value beyond the series' whole range by its record evidence.

        Returns the evidence and which rows set a record strong enough to open an
        episode (those start a new episode even inside one).
        """
        assert self.records is not None
        spread = (ev.upper - ev.lower) / 6.0
        d = np.where(ev.valid & ev.warm, self.records.decades(x, spread, rows), 0.0)
        self.records.learn(x, ev.valid, rows)
        record = d > 0
        if not record.any():
            return ev, record
        rec = to_score(d, self.params.decades)
        raw = np.fmax(ev.raw, np.where(record, rec, 0.0))
        kind = np.where(record & (rec > ev.raw), KINDS.index("record"), ev.kind)
        strong = record & (raw >= self.params.episode_open)
        return replace(ev, score=np.where(ev.valid, raw, np.nan), raw=raw, kind=kind), strong

    def _episode(
        self, ev: Evidence, x: F64, t: F64, rows: slice, record: Bool | None
    ) -> Evidence:
        """Advance each row's episode (a record starts a new one) and attach it."""
        rec = np.zeros(len(t), dtype=np.bool_) if record is None else record
        span = None if self.records is None else (self.records.lo[rows], self.records.hi[rows])
        step = self.episodes.step(ev.raw, ev.valid & ev.warm, rec, t, rows, value=x, span=span)
        return replace(ev, phase=step.code, start=step.start, since=step.since, peak=step.peak)

    def state(self) -> dict[str, npt.NDArray[np.generic]]:
        """All state arrays, namespaced by view (for snapshots)."""
        out: dict[str, npt.NDArray[np.generic]] = {
            f"e.{k}": a for k, a in self.episodes.state().items()
        }
        for k, core in enumerate(self.cores):
            out.update({f"v{k}.{name}": a for name, a in core.state().items()})
        for k, prof in enumerate(self.profiles):
            out[f"s{k}.level"] = prof.level[:, : self.size].copy()
            out[f"s{k}.count"] = prof.count[:, : self.size].copy()
        for prefix, env in (("r", self.envelope), ("a", self.repeats)):
            if env is not None:
                out[f"{prefix}.hi"] = env.hi[:, : self.size].copy()
                out[f"{prefix}.lo"] = env.lo[:, : self.size].copy()
                out[f"{prefix}.center"] = env.center[: self.size].copy()
                out[f"{prefix}.count"] = env.count[: self.size].copy()
                out[f"{prefix}.visit"] = env.visit[:, : self.size].copy()
                out[f"{prefix}.recent"] = env.recent[:, :, : self.size].copy()
        if self.records is not None:
            out["x.lo"] = self.records.lo[: self.size].copy()
            out["x.hi"] = self.records.hi[: self.size].copy()
            out["x.count"] = self.records.count[: self.size].copy()
            out["x.records"] = self.records.records[: self.size].copy()
        if self.drift is not None:
            out.update({f"d.{k}": a for k, a in self.drift.state().items()})
        return out

    def load(self, state: dict[str, npt.NDArray[np.generic]]) -> None:
        """Replace the state with arrays produced by :meth:`state`."""
        size = int(state["e.open"].shape[0])
        for k, core in enumerate(self.cores):
            prefix = f"v{k}."
            core.load({n[len(prefix):]: a for n, a in state.items() if n.startswith(prefix)})
        for k, prof in enumerate(self.profiles):
            level = np.asarray(state[f"s{k}.level"], dtype=np.float64)
            if level.shape != (prof.bins, size):
                raise ValueError("seasonal state does not match the configured bins")
            prof.level = level.copy()
            prof.count = np.asarray(state[f"s{k}.count"], dtype=np.float64).copy()
            prof.size = size
        for prefix, env in (("r", self.envelope), ("a", self.repeats)):
            if env is None:
                continue
            hi = np.asarray(state[f"{prefix}.hi"], dtype=np.float64)
            if hi.shape != (env.bins, size):
                raise ValueError("envelope state does not match the configured bins")
            env.hi = hi.copy()
            env.lo = np.asarray(state[f"{prefix}.lo"], dtype=np.float64).copy()
            env.center = np.asarray(state[f"{prefix}.center"], dtype=np.float64).copy()
            env.count = np.asarray(state[f"{prefix}.count"], dtype=np.float64).copy()
            env.visit = np.asarray(state[f"{prefix}.visit"], dtype=np.float64).copy()
            # A snapshot from before the recent visits were kept: none recent.
            none = env.no_recent(size)
            env.recent = np.asarray(state.get(f"{prefix}.recent", none), dtype=np.float64).copy()
            if env.recent.shape != none.shape:
                raise ValueError("envelope state does not match the configured neighbours")
            env.size = size
        if self.records is not None:
            self.records.lo = np.asarray(state["x.lo"], dtype=np.float64).copy()
            self.records.hi = np.asarray(state["x.hi"], dtype=np.float64).copy()
            self.records.count = np.asarray(state["x.count"], dtype=np.float64).copy()
            # A snapshot from before records were counted: as many as exchangeable values
            # would have set (ln n), so the cap on chances does not bind until new ones come.
            self.records.records = np.asarray(
                state.get("x.records", np.log(np.maximum(self.records.count, 1.0))),
                dtype=np.float64).copy()
            if self.records.lo.shape != (size,) or self.records.records.shape != (size,):
                raise ValueError("record state does not match the series")
            self.records.size = size
        if self.drift is not None:
            self.drift.load({n[2:]: a for n, a in state.items() if n.startswith("d.")})
            if self.drift.size != size:
                raise ValueError("drift state does not match the series")
        self.episodes.load({n[2:]: a for n, a in state.items() if n.startswith("e.")})
        if self.episodes.size != size:
            raise ValueError("episode state does not match the series")
        self.size = size


def _combine(evs: list[Evidence], shifts: list[F64], decades: float) -> Evidence:
    """Per row, the view with the strongest evidence; seasonal bands shifted by level.

    The best of ``k`` views is tested ``k`` times over: its tail probability is
    multiplied by ``k`` (Bonferroni across views, as across statistics within one).
    """
    # The first view with the highest raw score (argmax over the views, without stacking
    # them or a strided reduction; raw scores are never NaN).
    best = np.zeros(len(evs[0].raw), dtype=np.intp)
    high = evs[0].raw
    for k in range(1, len(evs)):
        np.copyto(best, k, where=evs[k].raw > high)
        high = np.maximum(high, evs[k].raw)
    chosen = [best == k for k in range(len(evs) - 1)]

    def pick(arrays: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        # Per row, the best view's entry (a mask per view is cheaper than fancy indexing;
        # for the z-scores, (statistics, rows), a mask broadcast up front is ~3x cheaper
        # than letting np.where broadcast it).
        out = arrays[-1]
        for k in range(len(arrays) - 2, -1, -1):
            mask = chosen[k] if out.ndim == 1 else np.broadcast_to(chosen[k], out.shape)
            out = np.where(mask, arrays[k], out)
        return out

    top = high  # the best view's raw score
    adjusted = to_score(np.maximum(to_decades(top, decades) - np.log10(len(evs)), 0.0), decades)
    top = np.where(top > 0, adjusted, 0.0)
    off = pick(shifts)
    base = evs[0]
    score = np.where(base.valid, top, np.nan)
    return Evidence(
        score=score, raw=top, expected=pick([e.expected for e in evs]) + off,
        lower=pick([e.lower for e in evs]) + off, upper=pick([e.upper for e in evs]) + off,
        z=pick([e.z for e in evs]), warm=base.warm, valid=base.valid,
        kind=np.where(base.warm, pick([e.kind for e in evs]), 0),
    )
