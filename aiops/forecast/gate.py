"""The capacity gate: predictive capacity is earned per workload, never assumed.

Every workload's predictive policy starts in **shadow**. Each cycle the gate replays the
reactive HPA rule and the predictive rule at each rung of a quantile ladder (the
configured quantile first, then cheaper ones) on simulated pods driven by the demand
actually observed (:class:`~aiops.forecast.replay.SimulatedPods`: same start-up time,
same capacity per pod). For each it keeps the under-provisioned seconds over the last
``window`` steps (in :data:`BUCKETS` partial sums, so memory does not grow with the
window), replica-seconds as sums that forget with time constant ``cost_window``, and
the coverage of the rung's upper band over the last ``coverage_window`` points.

A rung is *eligible* when its band's coverage has not decayed below ``quantile -
coverage_tolerance``, its replica-hours are within ``1 + budget`` times the reactive
policy's and its under-provisioned time is no worse. The predictive policy takes
control (**active**) on the eligible rung with the least under-provisioned time, once
that beats the reactive policy (less under-provisioned time, or the same for fewer
replica-hours); it moves to another rung when its own stops being eligible or another
does better, and hands control back to the reactive rule (with the reason) when no
rung qualifies. A transition holds for ``dwell`` steps, except a hand-back for decayed
coverage or worse under-provisioning, which is immediate.

Decisions are data: :meth:`CapacityGate.step` returns a :class:`GateDecision` with the
mode, the event, a :class:`GateReason` code, the rung and the replay scores. Modes and
events have one transition table (:data:`TRANSITIONS`). No I/O, no clock.

>>> from aiops.forecast.capacity import ForecastPath, HpaSpec
>>> gate = CapacityGate(GateSpec(window=8, coverage_window=4, quantiles=(0.9,)),
...                     reactive=HpaSpec(), predictive=HpaSpec(scale_down_window=60.0),
...                     startup=90.0, lead=1)
>>> d = gate.step(now=0.0, demand=100.0, capacity=100.0,
...               paths=(ForecastPath(uppers=(120.0,), lead=1),))
>>> (d.mode.value, d.reason.value, d.rung)
('shadow', 'warming-up', None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aiops.forecast.capacity import ForecastPath, HpaSpec, Observation, decide
from aiops.forecast.replay import PolicyReplay, ReplayScore

BUCKETS = 48  # the replay window is kept as this many partial sums


class GateMode(StrEnum):
    """Who controls the workload's replicas."""

    SHADOW = "shadow"  # the reactive rule; the predictive one is only replayed
    ACTIVE = "active"  # the predictive rule, at one rung of the quantile ladder


class GateEvent(StrEnum):
    """What one evaluation does to the mode."""

    PROMOTE = "promote"
    SWITCH = "switch"  # active, onto another rung
    DEMOTE = "demote"
    STAY = "stay"


class GateReason(StrEnum):
    """Why the gate decided what it did (stable codes; never parse the prose)."""

    WARMING_UP = "warming-up"  # fewer than the evidence steps replayed
    BEATS_REACTIVE = "beats-reactive"  # promoted: better on the replay window
    HOLDS_LEAD = "holds-lead"  # active, its rung still eligible
    BETTER_RUNG = "better-rung"  # switched to a rung with less under-provisioning
    NOT_BETTER = "not-better"  # shadow: no rung has less under-provisioned time
    OVER_BUDGET = "over-budget"  # replica-hours above (1 + budget) x reactive
    WORSE_THAN_REACTIVE = "worse-than-reactive"  # more under-provisioned time
    COVERAGE_DECAYED = "coverage-decayed"  # upper band covers too few recent points
    DWELL = "dwell"  # a recent transition is held for dwell steps
    UNGATED = "ungated"  # the gate is off: the predictive policy always controls


TRANSITIONS: Mapping[tuple[GateMode, GateEvent], GateMode] = {
    (GateMode.SHADOW, GateEvent.STAY): GateMode.SHADOW,
    (GateMode.SHADOW, GateEvent.PROMOTE): GateMode.ACTIVE,
    (GateMode.ACTIVE, GateEvent.STAY): GateMode.ACTIVE,
    (GateMode.ACTIVE, GateEvent.SWITCH): GateMode.ACTIVE,
    (GateMode.ACTIVE, GateEvent.DEMOTE): GateMode.SHADOW,
}


def transition(mode: GateMode, event: GateEvent) -> GateMode:
    """The next mode; an event that the table does not allow raises ``ValueError``."""
    try:
        return TRANSITIONS[(mode, event)]
    except KeyError:
        raise ValueError(f"no transition from {mode.value} on {event.value}") from None


@dataclass(frozen=True, kw_only=True, slots=True)
class GateSpec:
    """How much evidence the gate wants, and what "beating the reactive policy" means."""

    window: int  # steps of replay whose under-provisioned time is compared
    coverage_window: int  # points over which each rung's band coverage is checked
    quantiles: tuple[float, ...]  # the ladder: upper-band quantile of each rung
    budget: float = 0.05  # replica-hours allowed above the reactive policy's
    coverage_tolerance: float = 0.15
    cost_window: int | None = None  # time constant of the replica-hour sums; None: 4 x window
    evidence: int | None = None  # steps replayed before taking control; None: window
    dwell: int | None = None  # steps a transition holds; None: window / 7
    enabled: bool = True  # False: always active on the first rung (replays still scored)

    def __post_init__(self) -> None:
        if self.window < 1 or self.coverage_window < 1:
            raise ValueError("window and coverage_window must be >= 1")
        if not self.quantiles or not all(0.0 < q < 1.0 for q in self.quantiles):
            raise ValueError("need at least one quantile, each in (0, 1)")
        if self.budget < 0.0:
            raise ValueError("budget must be >= 0")

    @property
    def cost_steps(self) -> int:
        """Time constant (steps) of the forgetting replica-second sums."""
        return max(1, 4 * self.window if self.cost_window is None else self.cost_window)

    @property
    def bucket(self) -> int:
        """Steps per bucket of the replay window."""
        return max(1, -(-self.window // BUCKETS))

    @property
    def min_evidence(self) -> int:
        """Steps of replay needed before the predictive policy may take control."""
        return min(self.window, self.window if self.evidence is None else self.evidence)

    @property
    def hold(self) -> int:
        """Steps a transition stands before another (safety hand-backs aside)."""
        return max(1, self.window // 7) if self.dwell is None else self.dwell


@dataclass(frozen=True, kw_only=True, slots=True)
class GateDecision:
    """The gate's verdict this cycle, as data."""

    t: float
    mode: GateMode
    previous: GateMode
    event: GateEvent
    reason: GateReason
    rung: int | None  # index into the ladder of the rung in control (None: reactive)
    reactive: ReplayScore
    rungs: tuple[ReplayScore, ...]
    detail: str

    @property
    def changed(self) -> bool:
        """Whether this cycle moved the workload between reactive and predictive control."""
        return self.mode is not self.previous

    @property
    def quantile(self) -> float | None:
        """Upper-band quantile of the rung in control (None: reactive)."""
        return None if self.rung is None else self.rungs[self.rung].quantile

    @property
    def predictive(self) -> ReplayScore:
        """Score of the rung in control, else of the first rung."""
        return self.rungs[self.rung or 0]


class CapacityGate:
    """Replays the policies on observed demand and decides who controls one workload."""

    def __init__(
        self,
        spec: GateSpec,
        *,
        reactive: HpaSpec,
        predictive: HpaSpec,
        startup: float,
        lead: int = 1,
    ) -> None:
        self.spec = spec
        self.reactive_spec, self.predictive_spec = reactive, predictive
        self.lead = max(1, lead)
        floor = reactive.min_replicas
        self.tracks = [
            PolicyReplay(buckets=-(-spec.window // spec.bucket),
                         coverage_window=spec.coverage_window, startup=startup,
                         min_replicas=floor)
            for _ in range(1 + len(spec.quantiles))
        ]
        self.steps = 0  # intervals replayed
        self.mode = GateMode.SHADOW
        self.rung: int | None = None
        self.since = -1  # value of ``steps`` at the last transition; -1: none yet
        self.last_t = math.nan

    # -- one cycle --------------------------------------------------------------------
    def step(
        self,
        *,
        now: float,
        demand: float,
        capacity: float,
        paths: Sequence[ForecastPath | None],
    ) -> GateDecision:
        """Replay the interval that just ended on ``demand``, decide every shadow, judge.

        ``demand`` is the demand observed over the interval since the last call;
        ``paths`` the forecast made now at each rung's quantile (its upper at the lead
        is checked against the demand observed ``lead`` cycles later).
        """
        if len(paths) != len(self.spec.quantiles):
            raise ValueError("need one forecast path per rung")
        if math.isfinite(self.last_t) and now > self.last_t and math.isfinite(demand):
            bucket = self.spec.bucket
            decay = 1.0 - 1.0 / self.spec.cost_steps
            for tr in self.tracks:
                slot = (self.steps // bucket) % len(tr.under)
                if self.steps % bucket == 0:
                    tr.under[slot] = 0.0
                tr.under[slot] += tr.pods.serve(demand, self.last_t, now, capacity)[0]
                tr.replica = tr.replica * decay + len(tr.pods) * (now - self.last_t)
            self.steps += 1
        for tr, path in zip(self.tracks[1:], paths, strict=True):
            tr.check(demand, path.at_lead if path is not None else math.nan, self.lead)
        if math.isfinite(demand) and capacity > 0:
            for i, tr in enumerate(self.tracks):
                obs = Observation(
                    demand=demand,
                    current_replicas=len(tr.pods),
                    ready_replicas=tr.pods.ready(now),
                    capacity_per_replica=capacity,
                )
                spec = self.reactive_spec if i == 0 else self.predictive_spec
                fc = paths[i - 1] if i > 0 else None
                d, tr.policy = decide(spec, tr.policy, obs, now=now, forecast_upper=fc)
                tr.pods.scale_to(d.desired, now)
        self.last_t = now
        return self._judge(now)

    # -- the verdict ------------------------------------------------------------------
    def scores(self) -> tuple[ReplayScore, tuple[ReplayScore, ...]]:
        """The reactive replay and every rung's."""
        n = min(self.steps, len(self.tracks[0].under) * self.spec.bucket)
        react = self.tracks[0].score(n, None)
        rungs = tuple(
            tr.score(n, q)
            for tr, q in zip(self.tracks[1:], self.spec.quantiles, strict=True)
        )
        return react, rungs

    def _faults(self, r: ReplayScore, p: ReplayScore) -> list[GateReason]:
        """What keeps rung ``p`` from controlling (empty: eligible)."""
        spec, eps = self.spec, _eps(r)
        out = []
        if p.coverage is not None and p.quantile is not None and (
            p.coverage < p.quantile - spec.coverage_tolerance
        ):
            out.append(GateReason.COVERAGE_DECAYED)
        if p.under_seconds > r.under_seconds + eps:
            out.append(GateReason.WORSE_THAN_REACTIVE)
        if p.replica_seconds > (1.0 + spec.budget) * r.replica_seconds + eps:
            out.append(GateReason.OVER_BUDGET)
        return out

    def _judge(self, now: float) -> GateDecision:
        spec = self.spec
        r, rungs = self.scores()
        eps = _eps(r)
        faults = [self._faults(r, p) for p in rungs]
        eligible = [i for i, f in enumerate(faults) if not f]
        best = min(eligible, key=lambda i: (rungs[i].under_seconds, rungs[i].replica_seconds),
                   default=None)
        beats = best is not None and (
            rungs[best].under_seconds < r.under_seconds - eps
            or (abs(rungs[best].under_seconds - r.under_seconds) <= eps
                and rungs[best].replica_seconds < r.replica_seconds - eps)
        )
        held = self.since >= 0 and self.steps - self.since < spec.hold
        mode, rung = self.mode, self.rung
        event, reason, new_rung = GateEvent.STAY, GateReason.HOLDS_LEAD, rung
        if not spec.enabled:
            event = GateEvent.PROMOTE if mode is GateMode.SHADOW else GateEvent.STAY
            reason, new_rung = GateReason.UNGATED, 0
        elif mode is GateMode.SHADOW:
            if r.steps < spec.min_evidence:
                reason = GateReason.WARMING_UP
            elif not beats:
                reason = _first_fault(faults) if best is None else GateReason.NOT_BETTER
            elif held:
                reason = GateReason.DWELL
            else:
                event, reason, new_rung = GateEvent.PROMOTE, GateReason.BEATS_REACTIVE, best
        else:
            assert rung is not None
            own = faults[rung]
            urgent = {GateReason.COVERAGE_DECAYED, GateReason.WORSE_THAN_REACTIVE} & set(own)
            if own and (urgent or not held):
                cause = own[0]
                if best is not None and beats:
                    event, reason, new_rung = GateEvent.SWITCH, cause, best
                else:
                    event, reason, new_rung = GateEvent.DEMOTE, cause, None
            elif (not held and best is not None and best != rung
                  and rungs[best].under_seconds < rungs[rung].under_seconds - eps):
                event, reason, new_rung = GateEvent.SWITCH, GateReason.BETTER_RUNG, best
        self.mode = transition(mode, event)
        self.rung = new_rung if self.mode is GateMode.ACTIVE else None
        if event is not GateEvent.STAY:
            self.since = self.steps
        return GateDecision(t=now, mode=self.mode, previous=mode, event=event, reason=reason,
                            rung=self.rung, reactive=r, rungs=rungs,
                            detail=self._detail(reason, r, rungs))

    def _detail(
        self, reason: GateReason, r: ReplayScore, rungs: tuple[ReplayScore, ...]
    ) -> str:
        p = rungs[self.rung or 0]
        who = "reactive" if self.rung is None else f"predictive q={p.quantile:g}"
        cov = "" if p.coverage is None else f", band coverage {p.coverage:.0%}"
        return (
            f"gate {self.mode.value} ({reason.value}): {who} in control; over the last "
            f"{r.steps} steps replayed, predictive q={p.quantile:g} under-provisioned "
            f"{p.under_seconds:.0f}s vs reactive {r.under_seconds:.0f}s at "
            f"{_ratio(p.replica_seconds, r.replica_seconds)} its replica-hours (budget "
            f"{1 + self.spec.budget:.2f}){cov}"
        )

    # -- state ------------------------------------------------------------------------
    def state(self) -> dict[str, NDArray[Any]]:
        """All learnt state as named arrays (no objects)."""
        out = {
            "counters": np.array([self.steps, self.since, -1 if self.rung is None else self.rung],
                                 dtype=np.int64),
            "mode": np.array(list(GateMode).index(self.mode), dtype=np.int64),
            "last_t": np.array(self.last_t),
        }
        for i, tr in enumerate(self.tracks):
            out.update({f"track{i}.{k}": v for k, v in tr.state().items()})
        return out

    def load_state(self, state: Mapping[str, NDArray[Any]]) -> None:
        """Load :meth:`state` (same window sizes and ladder)."""
        if f"track{len(self.tracks) - 1}.under" not in state:
            raise ValueError("gate state was saved with another ladder")
        for i, tr in enumerate(self.tracks):
            pre = f"track{i}."
            tr.load_state({k[len(pre) :]: v for k, v in state.items() if k.startswith(pre)})
        self.steps, self.since, rung = (int(v) for v in state["counters"])
        self.rung = None if rung < 0 else rung
        self.mode = list(GateMode)[int(state["mode"])]
        self.last_t = float(state["last_t"])


def _eps(r: ReplayScore) -> float:
    return 1e-6 * max(r.replica_seconds, 1.0) / max(r.steps, 1) + 1e-9


def _first_fault(faults: list[list[GateReason]]) -> GateReason:
    """The fault of the first rung (the configured quantile) for the shadow's reason."""
    return faults[0][0] if faults and faults[0] else GateReason.NOT_BETTER


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}x" if b > 0 else "n/a"
