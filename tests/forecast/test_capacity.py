"""The capacity policy: HPA semantics and the predictive rule's guarantees."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from aiops.forecast.capacity import (
    ForecastPath,
    HpaSpec,
    Observation,
    PolicyState,
    _limit,
    decide,
    learn_capacity,
    path_raw,
    predictive_raw,
    reachable_from,
)

SPEC = HpaSpec(min_replicas=2, max_replicas=30, target_utilization=0.7)


def obs(demand: float, current: int, ready: int | None = None) -> Observation:
    return Observation(
        demand=demand,
        current_replicas=current,
        ready_replicas=current if ready is None else ready,
        capacity_per_replica=100.0,
    )


def test_hpa_formula_scales_up() -> None:
    """Reactive replicas are ceil(ready * metric / target) when outside the tolerance."""
    d, _ = decide(SPEC, PolicyState(), obs(1000.0, 10), now=0.0)
    assert d.raw_reactive == math.ceil(1000.0 / 70.0)
    assert d.desired == 15


def test_tolerance_keeps_current() -> None:
    """A usage ratio within 10% of target proposes no change."""
    d, _ = decide(SPEC, PolicyState(), obs(10 * 70.0 * 1.09, 10), now=0.0)
    assert d.desired == 10
    d, _ = decide(SPEC, PolicyState(), obs(10 * 70.0 * 1.11, 10), now=0.0)
    assert d.desired == 12


def test_scale_down_waits_for_window() -> None:
    """After a high recommendation, scale-down waits out the 300 s window."""
    _, st_ = decide(SPEC, PolicyState(), obs(1400.0, 20), now=0.0)
    d, st_ = decide(SPEC, st_, obs(300.0, 20), now=60.0)
    assert d.desired == 20
    d, st_ = decide(SPEC, st_, obs(300.0, 20), now=299.0)
    assert d.desired == 20
    d, _ = decide(SPEC, st_, obs(300.0, 20), now=301.0)
    assert d.desired == math.ceil(300.0 / 70.0)


def test_rate_policy_limits_scale_up() -> None:
    """Scale-up is limited to max(+4 pods, +100%) per decision."""
    d, _ = decide(SPEC, PolicyState(), obs(2000.0, 3), now=0.0)
    assert d.desired == 7
    assert d.limited_by.startswith("rate")


def test_forecast_adds_capacity_with_reasons() -> None:
    """A higher forecast raises desired replicas above reactive and says so."""
    d, _ = decide(SPEC, PolicyState(), obs(700.0, 10), now=0.0, forecast_upper=1050.0)
    assert d.reactive == 10
    assert d.desired == 15
    assert d.source == "forecast"
    assert any("forecast adds 5" in r for r in d.reasons)


def test_learn_capacity_ignores_saturated_samples() -> None:
    """Learnt capacity is the median of demand/(ready*util), skipping saturated points."""
    assert learn_capacity([140.0, 70.0, 500.0], [2, 1, 2], [0.7, 0.7, 1.0]) == 100.0
    assert learn_capacity([1.0], [0], [0.5]) is None


cycle = st.tuples(
    st.floats(min_value=0.0, max_value=5000.0),  # demand
    st.floats(min_value=0.0, max_value=8000.0) | st.none(),  # forecast upper
    st.integers(min_value=0, max_value=4),  # pods not yet ready
    st.floats(min_value=1.0, max_value=200.0),  # seconds to next cycle
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(cycle, min_size=1, max_size=25),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=0, max_value=40),
    st.floats(min_value=0.3, max_value=1.0),
)
def test_policy_properties(
    cycles: list[tuple[float, float | None, int, float]],
    start: int,
    lo: int,
    span: int,
    target: float,
) -> None:
    """Predictive >= reactive, within min/max, and no scale-down inside the window."""
    spec = HpaSpec(min_replicas=lo, max_replicas=lo + span, target_utilization=target)
    state, current, now = PolicyState(), start, 0.0
    raws: list[tuple[float, int]] = []  # (t, highest raw recommendation) of every cycle
    for demand, upper, unready, dt in cycles:
        o = obs(demand, current, max(0, current - unready))
        reactive_only, _ = decide(spec, PolicyState(reactive=state.reactive), o, now=now)
        d, state = decide(spec, state, o, now=now, forecast_upper=upper)
        assert d.desired >= d.reactive == reactive_only.desired
        assert spec.min_replicas <= d.desired <= spec.max_replicas
        raws.append((now, max(d.raw_reactive, d.raw_predictive or 0)))
        recent = max(r for t, r in raws if now - t <= spec.scale_down_window)
        floor = max(spec.min_replicas, min(current, recent, spec.max_replicas))
        assert d.desired >= floor, "scaled down below a recommendation inside the window"
        current = d.desired
        now += dt


@given(target=st.integers(1, 500), steps=st.integers(0, 4))
def test_reachable_from_is_the_least_start_that_climbs_in_time(target: int, steps: int) -> None:
    """From reachable_from(n, k) the rate limit climbs to n in k steps; from one less it cannot."""
    spec = HpaSpec(max_replicas=10_000)

    def climb(start: int) -> int:
        cur = start
        for _ in range(steps):
            cur, _ = _limit(10_000, cur, spec)
        return cur

    start = reachable_from(target, steps, spec)
    assert climb(start) >= target
    if start > 1:
        assert climb(start - 1) < target


def test_ramp_aware_path_starts_a_steep_ramp_early() -> None:
    """A spike two steps past the lead is started now, at what the rate limit needs."""
    spec = HpaSpec(max_replicas=200, forecast_utilization=0.85)
    flat = ForecastPath(uppers=(100.0, 100.0, 100.0), lead=3)
    spike = ForecastPath(uppers=(100.0, 100.0, 100.0, 100.0, 2000.0), lead=3)
    need = predictive_raw(spec, 100.0, 2000.0)
    assert path_raw(spec, 100.0, flat) == predictive_raw(spec, 100.0, 100.0)
    assert path_raw(spec, 100.0, spike) == reachable_from(need, 2, spec) > 2
    d, _ = decide(spec, PolicyState(), obs(100.0, 2), now=0.0, forecast_upper=spike)
    assert d.desired == path_raw(spec, 100.0, spike) and d.source == "forecast"


def test_path_holds_steps_before_the_lead() -> None:
    """Capacity needed before the lead is kept: a pod removed now could not be back in time."""
    spec = HpaSpec(max_replicas=200, forecast_utilization=0.85)
    falling = ForecastPath(uppers=(1000.0, 500.0, 100.0), lead=3)
    assert path_raw(spec, 100.0, falling) == predictive_raw(spec, 100.0, 1000.0)


@settings(max_examples=60, deadline=None)
@given(
    demand=st.floats(0, 5000),
    current=st.integers(1, 60),
    uppers=st.lists(st.floats(0, 8000), min_size=3, max_size=6),
)
def test_a_path_never_goes_below_reactive(demand: float, current: int, uppers: list[float]) -> None:
    """With a whole forecast path, desired is still never below the reactive decision."""
    path = ForecastPath(uppers=tuple(uppers), lead=3)
    d, _ = decide(SPEC, PolicyState(), obs(demand, current), now=0.0, forecast_upper=path)
    assert d.desired >= d.reactive
    assert SPEC.min_replicas <= d.desired <= SPEC.max_replicas


def test_policy_state_arrays_round_trip() -> None:
    """Stabilization histories survive the array round trip used by snapshots."""
    _, st_ = decide(SPEC, PolicyState(), obs(1400.0, 20), now=0.0, forecast_upper=2000.0)
    _, st_ = decide(SPEC, st_, obs(300.0, 20), now=60.0, forecast_upper=900.0)
    assert PolicyState.from_arrays(st_.arrays()) == st_
