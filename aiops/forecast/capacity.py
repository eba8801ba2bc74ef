"""Capacity policy: the Kubernetes HPA rule, and the predictive rule layered on top of it.

Pure: the caller passes ``now``, the observation and the previous :class:`PolicyState`;
:func:`decide` returns a :class:`CapacityDecision` (the number, and the reasons as
data) and the next state. Semantics copied from the HPA controller:

* ``raw = ceil(ready * metric / target)``; no change while ``|metric/target - 1| <= 10%``;
* scale-down stabilization: never go below the highest recommendation of the last
  ``scale_down_window`` seconds (300 s); scale-up window 0 by default;
* rate policies: up by at most ``max(+4 pods, +100%)`` and down by at most 100% per
  decision (assumes the control interval is at least the 15 s policy period);
* bounded by ``min_replicas`` / ``max_replicas``.

The predictive rule computes ``ceil(upper forecast / (capacity * target))`` for the
demand expected when a pod started now would be ready (now + start-up + interval),
stabilizes it the same way, and takes the max with the reactive decision: the forecast
may add capacity, never remove it below what the reactive rule wants. Given a
:class:`ForecastPath` (upper forecasts for every step ahead), it is ramp-aware: steps
before the lead are held (a pod removed now cannot be back in time), and capacity
needed after the lead is brought forward through the inverse of the scale-up rate
limit, so a steep ramp starts early enough to be climbed at ``max(+4, +100%)`` per step.

>>> spec = HpaSpec(min_replicas=1, max_replicas=10, target_utilization=0.5)
>>> obs = Observation(demand=300.0, current_replicas=4, ready_replicas=4,
...                   capacity_per_replica=100.0)
>>> d, st = decide(spec, PolicyState(), obs, now=0.0, forecast_upper=700.0)
>>> (d.raw_reactive, d.raw_predictive, d.reactive, d.desired, d.source)
(6, 14, 6, 8, 'forecast')
>>> d.limited_by
'rate: up at most max(+4, +100%) from 4'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, kw_only=True, slots=True)
class HpaSpec:
    """The HPA's knobs (defaults are Kubernetes' own)."""

    min_replicas: int = 1
    max_replicas: int = 100
    target_utilization: float = 0.7
    tolerance: float = 0.1
    scale_down_window: float = 300.0
    scale_up_window: float = 0.0
    scale_up_pods: int = 4
    scale_up_percent: float = 100.0
    scale_down_percent: float = 100.0
    # Utilization the forecast term provisions for; None = target_utilization. The
    # reactive rule always uses target_utilization.
    forecast_utilization: float | None = None

    @property
    def forecast_target(self) -> float:
        """Utilization the forecast's upper bound is sized to."""
        return self.forecast_utilization or self.target_utilization

    def __post_init__(self) -> None:
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError("need 1 <= min_replicas <= max_replicas")
        if not 0 < self.target_utilization <= 1:
            raise ValueError("target_utilization must be in (0, 1]")


@dataclass(frozen=True, kw_only=True, slots=True)
class ForecastPath:
    """Upper forecasts of demand 1, 2, ... steps ahead; a pod created now serves ``lead``."""

    uppers: tuple[float, ...]
    lead: int

    def __post_init__(self) -> None:
        if not 1 <= self.lead <= len(self.uppers):
            raise ValueError("need 1 <= lead <= len(uppers)")

    @property
    def at_lead(self) -> float:
        """The upper forecast at the lead (what the plain predictive rule sizes to)."""
        return self.uppers[self.lead - 1]


@dataclass(frozen=True, kw_only=True, slots=True)
class Observation:
    """What the policy sees this cycle: total demand (req/s) and the workload's pods."""

    demand: float
    current_replicas: int
    ready_replicas: int
    capacity_per_replica: float


@dataclass(frozen=True, kw_only=True, slots=True)
class PolicyState:
    """Recent recommendations ``(t, replicas)`` kept for the stabilization windows."""

    reactive: tuple[tuple[float, int], ...] = ()
    predictive: tuple[tuple[float, int], ...] = ()

    def arrays(self) -> dict[str, NDArray[np.float64]]:
        """Both histories as ``(n, 2)`` arrays of ``(t, replicas)`` (for snapshots)."""
        return {
            "reactive": np.asarray(self.reactive, dtype=np.float64).reshape(-1, 2),
            "predictive": np.asarray(self.predictive, dtype=np.float64).reshape(-1, 2),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, NDArray[Any]]) -> PolicyState:
        """Inverse of :meth:`arrays`."""

        def pairs(arr: NDArray[Any]) -> tuple[tuple[float, int], ...]:
            return tuple((float(t), int(r)) for t, r in np.asarray(arr).reshape(-1, 2))

        return cls(reactive=pairs(arrays["reactive"]), predictive=pairs(arrays["predictive"]))


@dataclass(frozen=True, kw_only=True, slots=True)
class CapacityDecision:
    """The replicas to run and why, as data."""

    t: float
    current: int
    desired: int
    reactive: int
    predictive: int | None
    raw_reactive: int
    raw_predictive: int | None
    forecast_upper: float | None
    limited_by: str = ""
    reasons: tuple[str, ...] = field(default=())

    @property
    def source(self) -> str:
        """``forecast`` when the forecast raised the count above the reactive rule."""
        return "forecast" if self.desired > self.reactive else "reactive"


def _stabilize(
    history: tuple[tuple[float, int], ...], raw: int, current: int, now: float, spec: HpaSpec
) -> tuple[int, tuple[tuple[float, int], ...]]:
    keep = max(spec.scale_down_window, spec.scale_up_window)
    hist = (*tuple((t, r) for t, r in history if now - t < keep), (now, raw))
    down = max(r for t, r in hist if now - t <= spec.scale_down_window)
    up = min(r for t, r in hist if now - t <= spec.scale_up_window)
    out = current
    if out < up:
        out = up
    if out > down:
        out = down
    return out, hist


def _limit(desired: int, current: int, spec: HpaSpec) -> tuple[int, str]:
    up_max = max(
        current + spec.scale_up_pods, math.ceil(current * (1 + spec.scale_up_percent / 100))
    )
    down_min = math.floor(current * (1 - spec.scale_down_percent / 100))
    why = ""
    if desired > up_max:
        rule = f"max(+{spec.scale_up_pods}, +{spec.scale_up_percent:g}%)"
        desired, why = up_max, f"rate: up at most {rule} from {current}"
    if desired < down_min:
        desired, why = down_min, f"rate: down at most {spec.scale_down_percent:g}% from {current}"
    if desired > spec.max_replicas:
        desired, why = spec.max_replicas, f"bounded by maxReplicas {spec.max_replicas}"
    if desired < spec.min_replicas:
        desired, why = spec.min_replicas, f"bounded by minReplicas {spec.min_replicas}"
    return desired, why


def reactive_raw(spec: HpaSpec, obs: Observation) -> tuple[int, str]:
    """The HPA's unstabilized recommendation and the sentence behind it."""
    per_pod_target = obs.capacity_per_replica * spec.target_utilization
    pods = max(obs.ready_replicas, 0)
    if pods == 0:
        raw = max(obs.current_replicas, math.ceil(obs.demand / per_pod_target))
        return raw, f"no ready pods; demand {obs.demand:.1f}/s needs {raw}"
    ratio = obs.demand / (pods * per_pod_target)
    if abs(ratio - 1.0) <= spec.tolerance:
        return (
            obs.current_replicas,
            f"usage ratio {ratio:.2f} within {spec.tolerance:.0%} tolerance",
        )
    raw = math.ceil(pods * ratio - 1e-9)
    return raw, (
        f"usage ratio {ratio:.2f} over {pods} ready pods at target "
        f"{spec.target_utilization:.0%} -> {raw}"
    )


def predictive_raw(
    spec: HpaSpec, capacity_per_replica: float, forecast_upper: float, current: int = 0
) -> int:
    """Replicas that keep the forecast's upper bound at the target utilization.

    Unlike the HPA's symmetric dead band, the tolerance only damps scale-down: a
    forecast that needs more than ``current`` replicas always asks for them (capacity
    that arrives late is the failure this rule exists to prevent), while one within the
    tolerance below ``current`` keeps it.

    >>> predictive_raw(HpaSpec(target_utilization=0.5), 100.0, 420.0)
    9
    >>> predictive_raw(HpaSpec(target_utilization=0.5), 100.0, 420.0, current=8)
    9
    >>> predictive_raw(HpaSpec(target_utilization=0.5), 100.0, 380.0, current=8)
    8
    """
    per_pod = capacity_per_replica * spec.forecast_target
    if current > 0 and 1.0 - spec.tolerance <= forecast_upper / (current * per_pod) <= 1.0:
        return current
    return max(0, math.ceil(forecast_upper / per_pod - 1e-9))


def reachable_from(target: int, steps: int, spec: HpaSpec) -> int:
    """Fewest replicas now from which ``target`` is reachable in ``steps`` rate-limited steps.

    The inverse of the scale-up policy ``max(+scale_up_pods, +scale_up_percent)``:

    >>> reachable_from(22, 1, HpaSpec()), reachable_from(22, 2, HpaSpec())
    (11, 6)
    >>> reachable_from(5, 1, HpaSpec())
    1
    """
    need = target
    grow = 1.0 + spec.scale_up_percent / 100.0
    for _ in range(steps):
        need = min(need - spec.scale_up_pods, math.ceil(need / grow - 1e-9))
    return max(need, 0)


def path_raw(
    spec: HpaSpec, capacity_per_replica: float, path: ForecastPath, current: int = 0
) -> int:
    """Replicas the forecast path needs now (ramp-aware :func:`predictive_raw`).

    Steps up to the lead need their own capacity (held, since removing a pod is
    instant and adding one takes the lead); a step ``k`` after the lead needs
    :func:`reachable_from` its capacity in ``k - lead`` steps. Unknown (NaN) steps are
    skipped.

    >>> spec = HpaSpec(target_utilization=0.5)
    >>> path_raw(spec, 100.0, ForecastPath(uppers=(100.0, 150.0, 400.0), lead=2))
    4
    >>> path_raw(spec, 100.0, ForecastPath(uppers=(100.0, 150.0, 2000.0), lead=2))
    20
    >>> path_raw(spec, 100.0, ForecastPath(uppers=(100.0, 150.0, 4000.0), lead=2))
    40
    """
    need = 0
    for k, upper in enumerate(path.uppers, start=1):
        if not math.isfinite(upper):
            continue
        raw = predictive_raw(spec, capacity_per_replica, upper, current)
        if k > path.lead:
            raw = reachable_from(raw, k - path.lead, spec)
        need = max(need, raw)
    return need


def decide(
    spec: HpaSpec,
    state: PolicyState,
    obs: Observation,
    *,
    now: float,
    forecast_upper: float | ForecastPath | None = None,
) -> tuple[CapacityDecision, PolicyState]:
    """One control cycle: reactive HPA decision, then the forecast's addition if given.

    ``forecast_upper`` is the upper forecast at the lead, or a whole
    :class:`ForecastPath` (ramp-aware, see :func:`path_raw`).
    """
    path = forecast_upper if isinstance(forecast_upper, ForecastPath) else None
    upper: float | None = None
    if path is not None:
        upper = path.at_lead if math.isfinite(path.at_lead) else None
        if not any(math.isfinite(u) for u in path.uppers):
            path = None
    elif isinstance(forecast_upper, float | int):
        upper = float(forecast_upper)
    cur = obs.current_replicas
    raw_r, why_r = reactive_raw(spec, obs)
    stab_r, hist_r = _stabilize(state.reactive, raw_r, cur, now, spec)
    reactive, lim_r = _limit(stab_r, cur, spec)
    reasons = [f"reactive: {why_r}"]
    if stab_r < raw_r or stab_r > raw_r:
        reasons.append(
            f"reactive: stabilized to {stab_r} (highest in {spec.scale_down_window:g}s window)"
        )
    if lim_r:
        reasons.append(f"reactive: {lim_r}")
    desired, limited_by = reactive, lim_r
    raw_p: int | None = None
    pred: int | None = None
    hist_p = state.predictive
    has_fc = path is not None or (upper is not None and math.isfinite(upper))
    if has_fc or hist_p:
        # A cycle without a forecast still feeds the predictive track (with the reactive
        # recommendation), so capacity a recent forecast asked for is held for the window.
        if path is not None:
            fc_raw = path_raw(spec, obs.capacity_per_replica, path, cur)
        elif upper is not None and has_fc:
            fc_raw = predictive_raw(spec, obs.capacity_per_replica, upper, cur)
        else:
            fc_raw = 0
        track = max(raw_r, fc_raw)
        stab_p, hist_p = _stabilize(state.predictive, track, cur, now, spec)
        pred, lim_p = _limit(stab_p, cur, spec)
        if has_fc:
            raw_p = track
            ramp = f" (path of {len(path.uppers)} steps, lead {path.lead})" if path else ""
            upper_txt = f"{upper:.1f}/s" if upper is not None else "n/a"
            reasons.append(
                f"forecast: upper {upper_txt}{ramp} at capacity "
                f"{obs.capacity_per_replica:.1f}/s per pod and target "
                f"{spec.forecast_target:.0%} -> {track}"
            )
        else:
            reasons.append("forecast: none this cycle; holding recent forecast recommendations")
        if pred > reactive:
            desired, limited_by = pred, lim_p
            reasons.append(f"forecast adds {pred - reactive} above reactive {reactive}")
        else:
            reasons.append(f"forecast adds nothing above reactive {reactive}")
    reasons.append(f"desired {desired} (current {cur})")
    decision = CapacityDecision(
        t=now,
        current=cur,
        desired=desired,
        reactive=reactive,
        predictive=pred,
        raw_reactive=raw_r,
        raw_predictive=raw_p,
        forecast_upper=upper,
        limited_by=limited_by,
        reasons=tuple(reasons),
    )
    return decision, PolicyState(reactive=hist_r, predictive=hist_p)


def learn_capacity(
    demand: Sequence[float], ready: Sequence[int], utilization: Sequence[float]
) -> float | None:
    """Per-replica capacity (req/s at 100% utilization) from observed utilization.

    The median of ``demand / (ready * utilization)`` over samples with ready pods and
    utilization in (5%, 95%] (saturated samples understate capacity); None if none.

    >>> learn_capacity([100.0, 200.0, 50.0], [2, 2, 1], [0.5, 1.0, 0.5])
    100.0
    """
    d = np.asarray(demand, dtype=np.float64)
    r = np.asarray(ready, dtype=np.float64)
    u = np.asarray(utilization, dtype=np.float64)
    ok = (r > 0) & (u > 0.05) & (u <= 0.95) & np.isfinite(d) & (d > 0)
    if not ok.any():
        return None
    return float(np.median(d[ok] / (r[ok] * u[ok])))
