"""Each scheduled fault shows on its metrics, the right action heals it, a wrong one does not."""

from __future__ import annotations

from collections.abc import Callable

from aiops.model import OutcomeStatus
from aiops.sim import WORKLOADS, World
from tests.sim.helpers import action, at, mean, target

MIB = 1024.0 * 1024.0


def test_memory_leak_grows_until_restart(world_at: Callable[[int], World]) -> None:
    """cart memory climbs after 25 min; restart heals it and memory returns to baseline."""
    world = world_at(24)
    base = mean(world, "cart", "memory_usage", 24, 25)
    assert mean(world, "cart", "memory_usage", 39, 40) > base + 100 * MIB
    out = world.apply(action("fix", "restart", "cart"), at(40))
    assert out.status is OutcomeStatus.DONE
    fault = world.fault("cart-memory-leak")
    assert fault.healed_at == at(40) and fault.healed_by == "fix"
    assert abs(mean(world, "cart", "memory_usage", 43, 44) - base) < 0.05 * base
    assert abs(mean(world, "cart", "memory_usage", 59, 60) - base) < 0.05 * base


def test_memory_leak_is_not_healed_by_scaling(world_at: Callable[[int], World]) -> None:
    """Scaling cart adds fresh pods but the leak goes on."""
    world = world_at(24)
    world.apply(action("more", "scale", "cart", replicas=6), at(40))
    assert world.fault("cart-memory-leak").healed_at is None
    earlier = mean(world, "cart", "memory_usage", 45, 46)
    assert mean(world, "cart", "memory_usage", 55, 56) > earlier + 50 * MIB


def test_unhealed_leak_ends_in_oom_kills(world_at: Callable[[int], World]) -> None:
    """Left alone, cart pods hit the 1 GiB limit and are restarted by the kubelet."""
    world = world_at(64)
    state = world.observe(target("cart"), at(100))
    assert state.details["restarts"] >= WORKLOADS["cart"].replicas
    assert world.metrics("cart")["memory_usage"] < WORKLOADS["cart"].memory_limit


def test_bad_rollout_raises_latency_until_rollback(world_at: Callable[[int], World]) -> None:
    """checkout revision 2 lands at 45 min with p99 several-fold; rollback restores rev 1."""
    world = world_at(44)
    base = mean(world, "checkout", "latency_p99", 43.5, 44.9)
    state = world.observe(target("checkout"), at(45))
    assert state.revision == 2 and state.changed_at == at(45) and state.rollout_in_progress
    assert mean(world, "checkout", "latency_p99", 48, 50) > 3 * base
    out = world.apply(action("undo", "rollback", "checkout", only_if_changed_within=3600), at(50))
    assert out.status is OutcomeStatus.DONE
    assert out.before["revision"] == 2 and out.after["revision"] == 1
    assert world.fault("checkout-bad-rollout").healed_at == at(50)
    assert mean(world, "checkout", "latency_p99", 52, 54) < 1.3 * base
    state = world.observe(target("checkout"), at(54))
    assert state.revision == 1 and state.changed_at == at(50) and not state.rollout_in_progress


def test_bad_rollout_is_not_healed_by_restart(world_at: Callable[[int], World]) -> None:
    """Restarting checkout brings back revision 2 pods, just as slow."""
    world = world_at(44)
    base = mean(world, "checkout", "latency_p99", 43.5, 44.9)
    world.apply(action("kick", "restart", "checkout"), at(50))
    assert world.fault("checkout-bad-rollout").healed_at is None
    assert mean(world, "checkout", "latency_p99", 53, 55) > 3 * base


def test_rollback_never_undoes_blindly_twice(world_at: Callable[[int], World]) -> None:
    """A second rollback is refused instead of restoring the bad revision."""
    world = world_at(44)
    world.apply(action("undo1", "rollback", "checkout"), at(50))
    again = world.apply(action("undo2", "rollback", "checkout"), at(51))
    assert again.status is OutcomeStatus.FAILED and not again.ok
    assert "already rolled back" in again.message
    assert world.observe(target("checkout"), at(51)).revision == 1


def test_rollback_refusals(world_at: Callable[[int], World]) -> None:
    """Rollback is refused without a previous revision or outside only_if_changed_within."""
    world = world_at(44)
    none = world.apply(action("r0", "rollback", "cart"), at(44))
    assert none.status is OutcomeStatus.FAILED and "no revision before" in none.message
    late = world.apply(action("r1", "rollback", "checkout", only_if_changed_within=60), at(50))
    assert late.status is OutcomeStatus.FAILED and "not within" in late.message
    assert world.observe(target("checkout"), at(50)).revision == 2
    ok = world.apply(action("r1", "rollback", "checkout", only_if_changed_within=600), at(50))
    assert ok.status is OutcomeStatus.DONE


def test_traffic_surge_overloads_until_scaled(world_at: Callable[[int], World]) -> None:
    """frontend demand triples at 65 min; enough replicas bring latency and errors back."""
    world = world_at(64)
    lat = mean(world, "frontend", "latency_p99", 63, 64.9)
    cpu = mean(world, "frontend", "cpu_usage", 63, 64.9)
    assert mean(world, "frontend", "latency_p99", 68, 70) > 5 * lat
    assert mean(world, "frontend", "cpu_usage", 68, 70) > 1.4 * cpu
    assert mean(world, "frontend", "error_rate", 68, 70) > 0.05
    small = world.apply(action("s1", "scale", "frontend", replicas=7), at(70))
    assert small.status is OutcomeStatus.DONE
    assert world.fault("frontend-traffic-surge").healed_at is None
    assert mean(world, "frontend", "error_rate", 72, 73) > 0.05
    world.apply(action("s2", "scale", "frontend", replicas=10), at(73))
    assert world.fault("frontend-traffic-surge").healed_by == "s2"
    assert mean(world, "frontend", "error_rate", 75, 77) < 0.02
    assert mean(world, "frontend", "latency_p99", 75, 77) < 2.6 * lat
    world.apply(action("s3", "scale", "frontend", replicas=14), at(77))
    assert mean(world, "frontend", "latency_p99", 80, 82) < 1.5 * lat


def test_traffic_surge_is_not_healed_by_restart_but_passes(
    world_at: Callable[[int], World],
) -> None:
    """Restarting frontend does not help; the surge ends by itself after 35 minutes."""
    world = world_at(64)
    lat = mean(world, "frontend", "latency_p99", 63, 64.9)
    world.apply(action("kick", "restart", "frontend"), at(70))
    assert mean(world, "frontend", "latency_p99", 75, 77) > 5 * lat
    fault = world.fault("frontend-traffic-surge")
    assert fault.healed_at is None and fault.resolved_at() == at(100)
    assert mean(world, "frontend", "latency_p99", 101, 103) < 1.5 * lat


def test_crash_loop_until_restart(world_at: Callable[[int], World]) -> None:
    """payments pods crash from 105 min on; a rollout restart brings them back for good."""
    world = world_at(104)
    assert world.metrics("payments")["ready_replicas"] == 4
    assert mean(world, "payments", "ready_replicas", 108, 110) < 2
    assert mean(world, "payments", "error_rate", 108, 110) > 0.2
    assert world.observe(target("payments"), at(110)).details["restarts"] >= 4
    world.apply(action("fix", "restart", "payments"), at(110))
    assert world.fault("payments-crash-loop").healed_by == "fix"
    world.advance(at(112))
    assert world.metrics("payments")["ready_replicas"] == 4
    assert mean(world, "payments", "error_rate", 112, 125) < 0.02
    assert world.observe(target("payments"), at(125)).details["restarts"] == 0


def test_crash_loop_is_not_healed_by_deleting_a_pod(world_at: Callable[[int], World]) -> None:
    """delete_pod replaces the worst pod, whose replacement crashes too."""
    world = world_at(104)
    world.advance(at(110))
    worst = world.observe(target("payments"), at(110)).details["pods"]
    out = world.apply(action("del", "delete_pod", "payments"), at(110))
    assert out.status is OutcomeStatus.DONE and out.after["deleted_pod"] in worst
    assert world.fault("payments-crash-loop").healed_at is None
    assert mean(world, "payments", "ready_replicas", 115, 118) < 2
    assert mean(world, "payments", "error_rate", 115, 118) > 0.2
