"""The ensemble the bank runs: the robust detector on raw values and on seasonal residuals.

View 0 scores the raw value; each configured season (e.g. a day in 24 bins, a week in
336) adds a view scoring the residual from that season's profile. The combined score
is the strongest view's; its band and explanation come from that view (seasonal
bands are shifted by the profile level). Each view learns by its own verdict: a point
a view finds anomalous is not learnt by that view (nor by its seasonal profile), while
views that find it normal keep adapting. Optionally, after a reported
crossing the ensemble stays quiet for ``suppress`` samples (one report per burst).

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

import numpy as np
import numpy.typing as npt

from aiops.detect.config import Params
from aiops.detect.envelope import PhaseEnvelope
from aiops.detect.robust import Evidence, RobustCore, blocks, concat, usable
from aiops.detect.seasonal import SeasonalProfile

F64 = npt.NDArray[np.float64]


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
                halflife=params.recurring_halflife, neighbours=params.recurring_neighbours,
            )
            if params.recurring_period > 0
            else None
        )
        self.quiet = np.zeros(0, dtype=np.int64)
        self.size = 0

    def grow(self, size: int) -> None:
        """Make room for ``size`` series."""
        if size <= self.size:
            return
        for core in self.cores:
            core.grow(size)
        for prof in self.profiles:
            prof.grow(size)
        if self.envelope is not None:
            self.envelope.grow(size)
        self.quiet = np.concatenate([self.quiet, np.zeros(size - self.size, dtype=np.int64)])
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
            + (self.envelope.nbytes if self.envelope is not None else 0)
            + int(self.quiet.nbytes)
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
        # Rows go in cache-sized blocks. Each view learns by its own verdict: a point a
        # view finds anomalous is not learnt by that view (its seasonal profile
        # included), while views that find it normal keep adapting.
        for rows in blocks(self.size):
            xb, tb = x[rows], tt[rows]
            evs = []
            shifts = [np.zeros(len(xb))]
            for k, core in enumerate(self.cores):
                prof = self.profiles[k - 1] if k else None
                v = xb
                if prof is not None:
                    level, seen = prof.expected(tb, rows)
                    v = np.where(seen, xb - level, np.where(usable(xb), 0.0, np.nan))
                    shifts.append(level)
                e = core.score(v, rows)
                core.learn(v, e, None, rows)
                if prof is not None:
                    prof.learn(xb, tb, e.valid & (e.raw < p.threshold), rows)
                evs.append(e)
            ev = evs[0] if len(evs) == 1 else _combine(evs, shifts)
            if self.envelope is not None:
                ev = self._recurring(ev, xb, tb, rows)
            if p.suppress > 0:
                ev = self._suppress(ev, rows)
            sink(rows, ev)

    def _recurring(self, ev: Evidence, x: F64, t: F64, rows: slice) -> Evidence:
        """Discount values the envelope has seen at this phase before, then widen it."""
        assert self.envelope is not None
        seen = self.envelope.inside(x, t, rows) & ev.valid
        self.envelope.learn(x, t, ev.valid, rows)
        factor = np.where(seen, self.params.recurring_discount, 1.0)
        return replace(ev, score=ev.score * factor, raw=ev.raw * factor)

    def _suppress(self, ev: Evidence, rows: slice) -> Evidence:
        """One report per burst: zero the score during a quiet period after a report."""
        p = self.params
        q = self.quiet[rows]
        quiet = q > 0
        score = np.where(quiet & ev.valid, 0.0, ev.score)
        above = p.suppress_above if p.suppress_above > 0 else p.threshold
        reported = ev.valid & (ev.raw >= above) & ~quiet
        q = np.where(ev.valid & quiet, q - 1, q)
        q[reported] = p.suppress
        self.quiet[rows] = q
        return Evidence(
            score=score, raw=ev.raw, expected=ev.expected, lower=ev.lower, upper=ev.upper,
            z=ev.z, warm=ev.warm, valid=ev.valid, kind=ev.kind,
        )

    def state(self) -> dict[str, npt.NDArray[np.generic]]:
        """All state arrays, namespaced by view (for snapshots)."""
        out: dict[str, npt.NDArray[np.generic]] = {"quiet": self.quiet[: self.size].copy()}
        for k, core in enumerate(self.cores):
            out.update({f"v{k}.{name}": a for name, a in core.state().items()})
        for k, prof in enumerate(self.profiles):
            out[f"s{k}.level"] = prof.level[:, : self.size].copy()
            out[f"s{k}.count"] = prof.count[:, : self.size].copy()
        env = self.envelope
        if env is not None:
            out["r.hi"] = env.hi[:, : self.size].copy()
            out["r.lo"] = env.lo[:, : self.size].copy()
            out["r.center"] = env.center[: self.size].copy()
            out["r.count"] = env.count[: self.size].copy()
        return out

    def load(self, state: dict[str, npt.NDArray[np.generic]]) -> None:
        """Replace the state with arrays produced by :meth:`state`."""
        size = int(state["quiet"].shape[0])
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
        env = self.envelope
        if env is not None:
            hi = np.asarray(state["r.hi"], dtype=np.float64)
            if hi.shape != (env.bins, size):
                raise ValueError("envelope state does not match the configured bins")
            env.hi = hi.copy()
            env.lo = np.asarray(state["r.lo"], dtype=np.float64).copy()
            env.center = np.asarray(state["r.center"], dtype=np.float64).copy()
            env.count = np.asarray(state["r.count"], dtype=np.float64).copy()
            env.size = size
        self.quiet = np.asarray(state["quiet"], dtype=np.int64).copy()
        self.size = size


def _combine(evs: list[Evidence], shifts: list[F64]) -> Evidence:
    """Per row, the view with the strongest evidence; seasonal bands shifted by level."""
    raw = np.stack([e.raw for e in evs])
    best = np.argmax(raw, axis=0)
    idx = np.arange(raw.shape[1])
    shift = np.stack(shifts)

    def pick(name: str) -> F64:
        stacked = np.stack([getattr(e, name) for e in evs])
        out: F64 = stacked[best, idx]
        return out

    off = shift[best, idx]
    base = evs[0]
    z = np.stack([e.z for e in evs])[best, :, idx].T
    kind = np.stack([e.kind for e in evs])[best, idx]
    score = np.where(base.valid, raw[best, idx], np.nan)
    return Evidence(
        score=score, raw=raw[best, idx], expected=pick("expected") + off,
        lower=pick("lower") + off, upper=pick("upper") + off, z=z, warm=base.warm,
        valid=base.valid, kind=np.where(base.warm, kind, 0),
    )
