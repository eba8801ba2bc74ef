"""Tests for aiops.sim.world: determinism, state, bands, actions' bookkeeping."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest

from aiops.config.sources import SandboxConfig
from aiops.errors import PermanentError
from aiops.model import Action, OutcomeStatus, Target
from aiops.sim import METRICS, WORKLOADS, Trace, World
from tests.sim.helpers import T0, action, at, target


def _run(world: World, minutes: float, every: float = 15.0) -> list[tuple[str, float, float]]:
    out: list[tuple[str, float, float]] = []
    t = world.t
    while t < at(minutes):
        t = min(t + every, at(minutes))
        out.extend((str(s.key), s.t, s.value) for s in world.samples(t))
    return out


def test_same_seed_same_samples(trace: Trace) -> None:
    """Two worlds with the same seed emit identical samples; another seed differs."""
    a = World.create(SandboxConfig(seed=3), now=T0, trace=trace)
    b = World.create(SandboxConfig(seed=3), now=T0, trace=trace)
    c = World.create(SandboxConfig(seed=4), now=T0, trace=trace)
    sa, sb, sc = _run(a, 20), _run(b, 20), _run(c, 20)
    assert sa == sb
    assert sa != sc


def test_polling_rhythm_does_not_change_the_world(trace: Trace) -> None:
    """Sampling every 15 s or once gives the same values: sub-steps sit on a fixed grid."""
    a = World.create(SandboxConfig(), now=T0, trace=trace)
    b = World.create(SandboxConfig(), now=T0, trace=trace)
    _run(a, 30, every=15.0)
    _run(b, 30, every=7.0)
    assert a.samples(at(30)) == b.samples(at(30))


def test_samples_cover_every_workload_and_metric(trace: Trace) -> None:
    """Each workload emits the six documented metrics, labelled namespace and workload."""
    world = World.create(SandboxConfig(), now=T0, trace=trace)
    samples = world.samples(T0 + 15.0)
    keys = {(s.key.metric, s.key.labels) for s in samples}
    assert len(samples) == len(keys) == len(WORKLOADS) * len(METRICS)
    for name in ("frontend", "checkout", "cart", "payments"):
        for metric in METRICS:
            assert (metric, (("namespace", "shop"), ("workload", name))) in keys
    assert all(s.t == T0 + 15.0 and s.valid for s in samples)


def test_state_round_trip_continues_identically(world_at: Callable[[int], World]) -> None:
    """A world rebuilt from its JSON state continues exactly like the original."""
    a = world_at(44)
    a.apply(action("s1", "scale", "frontend", replicas=8), at(44))
    b = World.from_state(json.loads(json.dumps(a.to_state())), trace=a.trace)
    assert _run(a, 60) == _run(b, 60)
    assert a.observe(target("checkout"), at(60)) == b.observe(target("checkout"), at(60))
    assert a.to_state() == b.to_state()


def test_demand_follows_the_trace(trace: Trace) -> None:
    """request_rate is base_rps scaled by the trace level at start + elapsed time."""
    world = World.create(SandboxConfig(fault_schedule="none"), now=T0, trace=trace)
    world.advance(at(30))
    level = trace.level(world.trace_position(at(30))) / trace.reference
    assert world.demand_level(at(30)) == pytest.approx(level)
    rps = world.metrics("frontend")["request_rate"]
    assert rps == pytest.approx(WORKLOADS["frontend"].base_rps * level, rel=0.15)


def test_fault_free_world_stays_within_normal_bands(trace: Trace) -> None:
    """Without faults, two simulated hours stay healthy on every workload."""
    world = World.create(SandboxConfig(fault_schedule="none"), now=T0, trace=trace)
    assert world.faults == ()
    for minute in range(1, 121):
        world.advance(at(minute))
        for name, spec in WORKLOADS.items():
            m = world.metrics(name)
            assert m["ready_replicas"] == spec.replicas, (minute, name)
            assert m["error_rate"] < 0.02, (minute, name, m)
            assert spec.base_latency < m["latency_p99"] < 2.5 * spec.base_latency, (minute, name)
            assert m["memory_usage"] < 0.6 * spec.memory_limit, (minute, name)
            assert 0.0 < m["cpu_usage"] < 1.0, (minute, name)
            assert m["request_rate"] > 0.3 * spec.base_rps, (minute, name)


def test_faults_false_means_no_faults(trace: Trace) -> None:
    """faults: false disables the default schedule too."""
    assert World.create(SandboxConfig(faults=False), now=T0, trace=trace).faults == ()
    assert len(World.create(SandboxConfig(), now=T0, trace=trace).faults) == 4


def test_default_faults_are_spaced_inside_two_hours(trace: Trace) -> None:
    """Faults start after 20 quiet minutes, end within 2 h and are 15+ minutes apart."""
    faults = World.create(SandboxConfig(), now=T0, trace=trace).faults
    starts = [f.start - T0 for f in faults]
    assert starts[0] >= 20 * 60
    assert all(b - a >= 15 * 60 for a, b in itertools.pairwise(starts))
    assert all(s < 7200 for s in starts)
    assert {(f.workload, f.heals_with) for f in faults} == {
        ("cart", "restart"), ("checkout", "rollback"), ("frontend", "scale"),
        ("payments", "restart"),
    }


def test_scaled_pods_become_ready_after_start_up_delay(world_at: Callable[[int], World]) -> None:
    """New replicas count as ready only 60-90 s after the scale."""
    world = world_at(24)
    now = at(24)
    out = world.apply(action("up", "scale", "catalog", replicas=7), now)
    assert out.status is OutcomeStatus.DONE
    assert out.before["replicas"] == 4 and out.after["replicas"] == 7
    assert world.observe(target("catalog"), now + 55).ready_replicas == 4
    assert world.metrics("catalog")["ready_replicas"] == 4
    state = world.observe(target("catalog"), now + 95)
    assert state.replicas == 7 and state.ready_replicas == 7
    assert world.metrics("catalog")["ready_replicas"] == 7


def test_scale_down_removes_pods_at_once(world_at: Callable[[int], World]) -> None:
    """Scaling down drops replicas immediately."""
    world = world_at(24)
    world.apply(action("down", "scale", "catalog", replicas=2), at(24))
    assert world.observe(target("catalog"), at(24) + 5).ready_replicas == 2


def test_apply_is_idempotent_on_action_id(world_at: Callable[[int], World]) -> None:
    """Re-applying an action id is ALREADY_DONE and changes nothing."""
    world = world_at(24)
    first = world.apply(action("same", "scale", "cart", replicas=6), at(24))
    again = world.apply(action("same", "scale", "cart", replicas=9), at(25))
    assert first.status is OutcomeStatus.DONE
    assert again.status is OutcomeStatus.ALREADY_DONE and again.ok
    assert world.observe(target("cart"), at(25)).replicas == 6


def test_dry_run_changes_nothing(world_at: Callable[[int], World]) -> None:
    """A dry-run reports the would-be change, leaves the world as is, and is not remembered."""
    world = world_at(24)
    world.advance(at(25))
    before = world.to_state()
    probe = Action(id="d", kind="scale", target=target("cart"), params={"replicas": 9},
                   dry_run=True)
    out = world.apply(probe, at(25))
    assert out.status is OutcomeStatus.DRY_RUN
    assert out.before["replicas"] == 4 and out.after["replicas"] == 9
    assert world.to_state() == before
    real = world.apply(action("d", "scale", "cart", replicas=9), at(25))
    assert real.status is OutcomeStatus.DONE


def test_invalid_actions_are_permanent_errors(world_at: Callable[[int], World]) -> None:
    """Unknown targets, kinds and bad parameters raise PermanentError."""
    world = world_at(24)
    now = at(24)
    bad = [
        Action(id="1", kind="scale", target=Target(kind="Deployment", namespace="shop",
                                                   name="cart"), params={"replicas": 2}),
        action("2", "scale", "nope", replicas=2),
        action("3", "reboot", "cart"),
        action("4", "scale", "cart", replicas="3"),
        action("5", "scale", "cart", replicas=-1),
        action("6", "delete_pod", "cart", pod="cart-r9-99999"),
    ]
    for a in bad:
        with pytest.raises(PermanentError):
            world.apply(a, now)
    assert world.observe(target("cart"), now).replicas == 4


def test_observe_unknown_target_reports_missing(world_at: Callable[[int], World]) -> None:
    """Observing a target the sandbox does not have says it does not exist."""
    world = world_at(24)
    assert not world.observe(target("nope"), at(24)).exists
    assert world.observe(target("cart"), at(24)).exists
