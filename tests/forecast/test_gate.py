"""The capacity gate: shadow first, control only when earned, hand-back with a reason."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aiops.forecast.capacity import ForecastPath, HpaSpec
from aiops.forecast.gate import (
    TRANSITIONS,
    CapacityGate,
    GateEvent,
    GateMode,
    GateReason,
    GateSpec,
    transition,
)

STEP = 60.0
LEAD = 3
REACTIVE = HpaSpec(max_replicas=200)
PREDICTIVE = HpaSpec(max_replicas=200, scale_down_window=60.0, forecast_utilization=0.85)


def ramps(n: int, period: int = 24) -> np.ndarray:
    """A daily wave from 200 to 1200 req/s: ramps steeper than the HPA can follow."""
    t = np.arange(n) % period
    return 200.0 + 1000.0 * (0.5 - 0.5 * np.cos(2 * np.pi * t / period))


def gate(quantiles: tuple[float, ...] = (0.9,), **kw: object) -> CapacityGate:
    spec = GateSpec(window=96, coverage_window=48, quantiles=quantiles,
                    evidence=48, dwell=24, **kw)  # type: ignore[arg-type]
    return CapacityGate(spec, reactive=REACTIVE, predictive=PREDICTIVE, startup=90.0,
                        lead=LEAD)


def exact(demand: np.ndarray, k: int, scale: float = 1.0) -> ForecastPath:
    """A forecast path made at step ``k`` (after seeing demand[k-1]): scaled truth ahead."""
    ahead = [float(demand[min(k + h, len(demand) - 1)]) * scale for h in range(LEAD + 2)]
    return ForecastPath(uppers=tuple(ahead), lead=LEAD)


def drive(g: CapacityGate, demand: np.ndarray, scales: list[float], start: int = 0,
          stop: int | None = None) -> list:
    out = []
    for k in range(max(start, 1), len(demand) if stop is None else stop):
        paths = tuple(exact(demand, k, s) for s in scales)
        out.append(g.step(now=k * STEP, demand=float(demand[k - 1]), capacity=100.0,
                          paths=paths))
    return out


def test_transition_table_allows_only_its_moves() -> None:
    """Shadow can only be promoted, active switched or demoted; anything else raises."""
    assert transition(GateMode.SHADOW, GateEvent.PROMOTE) is GateMode.ACTIVE
    assert transition(GateMode.ACTIVE, GateEvent.DEMOTE) is GateMode.SHADOW
    assert transition(GateMode.ACTIVE, GateEvent.SWITCH) is GateMode.ACTIVE
    for bad in ((GateMode.SHADOW, GateEvent.DEMOTE), (GateMode.SHADOW, GateEvent.SWITCH),
                (GateMode.ACTIVE, GateEvent.PROMOTE)):
        assert bad not in TRANSITIONS
        with pytest.raises(ValueError, match="no transition"):
            transition(*bad)


def test_starts_in_shadow_until_evidence_then_earns_control() -> None:
    """Warming up in shadow, then promoted with beats-reactive when the forecast sees ramps."""
    demand = ramps(24 * 6)
    verdicts = drive(gate(), demand, [1.0])
    assert verdicts[0].mode is GateMode.SHADOW and verdicts[0].reason is GateReason.WARMING_UP
    assert all(v.mode is GateMode.SHADOW for v in verdicts[:46])
    promoted = next(v for v in verdicts if v.event is GateEvent.PROMOTE)
    assert promoted.reason is GateReason.BEATS_REACTIVE and promoted.rung == 0
    assert promoted.reactive.steps >= 48
    assert promoted.rungs[0].under_seconds < promoted.reactive.under_seconds
    assert verdicts[-1].mode is GateMode.ACTIVE and verdicts[-1].quantile == 0.9


def test_a_costly_forecast_never_takes_control() -> None:
    """A band ten times the demand beats the HPA on under-provisioning but is over budget."""
    demand = ramps(24 * 6)
    verdicts = drive(gate(), demand, [10.0])
    assert all(v.mode is GateMode.SHADOW for v in verdicts)
    assert verdicts[-1].reason is GateReason.OVER_BUDGET
    assert verdicts[-1].rungs[0].replica_seconds > 1.05 * verdicts[-1].reactive.replica_seconds


def test_a_forecast_that_misses_ramps_stays_in_shadow() -> None:
    """A forecast of a flat 100/s adds nothing: no less under-provisioning, no control."""
    demand = ramps(24 * 6)
    g = gate()
    flat = ForecastPath(uppers=(100.0,) * (LEAD + 2), lead=LEAD)
    verdicts = [g.step(now=k * STEP, demand=float(demand[k - 1]), capacity=100.0,
                       paths=(flat,)) for k in range(1, len(demand))]
    assert all(v.mode is GateMode.SHADOW for v in verdicts)
    assert verdicts[-1].reason in {GateReason.NOT_BETTER, GateReason.COVERAGE_DECAYED}


def test_coverage_decay_hands_control_back_at_once() -> None:
    """When the band stops covering demand, control returns to reactive with the code."""
    demand = np.concatenate([ramps(24 * 6), ramps(24 * 4) * 3.0])
    g = gate(coverage_tolerance=0.15)
    before = drive(g, demand, [1.0], stop=24 * 6)
    assert before[-1].mode is GateMode.ACTIVE
    # The demand triples; the forecast keeps predicting the old level.
    after = []
    for k in range(24 * 6, len(demand)):
        old = ForecastPath(uppers=tuple(float(demand[min(k + h, len(demand) - 1)]) / 3.0
                                        for h in range(LEAD + 2)), lead=LEAD)
        after.append(g.step(now=k * STEP, demand=float(demand[k - 1]), capacity=100.0,
                            paths=(old,)))
    demoted = next(v for v in after if v.event is GateEvent.DEMOTE)
    assert demoted.reason in {GateReason.COVERAGE_DECAYED, GateReason.WORSE_THAN_REACTIVE}
    assert demoted.mode is GateMode.SHADOW and demoted.rung is None
    assert demoted.changed
    assert "reactive in control" in demoted.detail


def test_a_cheaper_rung_takes_control_when_the_first_is_over_budget() -> None:
    """With the top rung far too wide, the ladder's next rung earns control instead."""
    demand = ramps(24 * 6)
    verdicts = drive(gate(quantiles=(0.9, 0.8)), demand, [10.0, 1.0])
    last = verdicts[-1]
    assert last.mode is GateMode.ACTIVE and last.rung == 1 and last.quantile == 0.8
    assert last.rungs[0].replica_seconds > 1.05 * last.reactive.replica_seconds
    assert last.rungs[1].replica_seconds <= 1.05 * last.reactive.replica_seconds


def test_ungated_controls_from_the_first_cycle() -> None:
    """With the gate off the predictive policy is in control at once (replays still kept)."""
    demand = ramps(48)
    verdicts = drive(gate(enabled=False), demand, [1.0])
    assert all(v.mode is GateMode.ACTIVE and v.reason is GateReason.UNGATED for v in verdicts)
    assert verdicts[-1].reactive.steps == len(demand) - 2


def test_state_round_trip_continues_identically() -> None:
    """A gate restored from its arrays gives the same verdicts as the original."""
    demand = ramps(24 * 6)
    a = gate(quantiles=(0.9, 0.8))
    drive(a, demand, [1.2, 1.0], stop=24 * 3)
    b = gate(quantiles=(0.9, 0.8))
    b.load_state(a.state())
    va = drive(a, demand, [1.2, 1.0], start=24 * 3)
    vb = drive(b, demand, [1.2, 1.0], start=24 * 3)
    assert va == vb
    with pytest.raises(ValueError, match="ladder"):
        gate(quantiles=(0.9, 0.8, 0.7)).load_state(a.state())


def test_gaps_do_not_count_as_evidence() -> None:
    """A NaN demand replays nothing: evidence only grows on observed demand."""
    g = gate()
    path = ForecastPath(uppers=(100.0,) * (LEAD + 2), lead=LEAD)
    g.step(now=0.0, demand=100.0, capacity=100.0, paths=(path,))
    g.step(now=60.0, demand=math.nan, capacity=100.0, paths=(path,))
    assert g.steps == 0
    g.step(now=120.0, demand=100.0, capacity=100.0, paths=(path,))
    assert g.steps == 1
