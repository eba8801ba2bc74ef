"""The world actuator against a real world server over loopback: one world, one clock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from aiops.actuators.base import Actuator, Reconciler
from aiops.actuators.world import WorldActuator
from aiops.bench.realservers import free_port
from aiops.config.actuators import WorldConfig
from aiops.config.sources import SandboxConfig
from aiops.daemon.world_server import WorldServer
from aiops.errors import PermanentError, TemporaryError
from aiops.model import Action, OutcomeStatus, Reconciled, Target

CART = Target(kind="SandboxWorkload", namespace="shop", name="cart")


@pytest.fixture
def server() -> Iterator[WorldServer]:
    with WorldServer(SandboxConfig(), speed=60.0, port=0) as s:
        yield s


@pytest.fixture
def actuator(server: WorldServer) -> Iterator[WorldActuator]:
    a = WorldActuator(WorldConfig(url=server.url, timeout=5.0))
    yield a
    a.close()


def test_it_is_an_actuator_that_reconciles() -> None:
    """It satisfies both protocols the engine relies on."""
    a = WorldActuator(WorldConfig())
    assert isinstance(a, Actuator) and isinstance(a, Reconciler)
    a.close()


def test_an_action_changes_the_world_the_scrape_shows(server: WorldServer,
                                                       actuator: WorldActuator) -> None:
    """A scale through the actuator is what /metrics (Prometheus' view) then reports."""
    before = actuator.observe(CART, now=0.0)
    out = actuator.apply(Action(id="a1", kind="scale", target=CART,
                                params={"replicas": before.replicas + 3}), now=0.0)
    assert out.status is OutcomeStatus.DONE and out.action_id == "a1"
    assert actuator.observe(CART, now=0.0).replicas == before.replicas + 3
    assert server.world.observe(CART, server.clock.now()).replicas == before.replicas + 3
    again = actuator.apply(Action(id="a1", kind="scale", target=CART,
                                  params={"replicas": 1}), now=0.0)
    assert again.status is OutcomeStatus.ALREADY_DONE  # idempotent on the id
    assert 'aiops_sandbox_cpu_usage{namespace="shop",workload="cart"}' in httpx.get(
        f"{server.url}/metrics").text


def test_dry_run_changes_nothing(actuator: WorldActuator) -> None:
    """A dry-run action says what it would do and leaves the world as it was."""
    before = actuator.observe(CART, now=0.0).replicas
    out = actuator.apply(Action(id="d1", kind="scale", target=CART,
                                params={"replicas": before + 5}, dry_run=True), now=0.0)
    assert out.status is OutcomeStatus.DRY_RUN
    assert actuator.observe(CART, now=0.0).replicas == before


def test_reconcile_reads_the_ids_the_world_applied(actuator: WorldActuator) -> None:
    """DONE for an applied id, NOT_DONE for one the world never saw."""
    act = Action(id="inc-9:0", kind="restart", target=CART)
    assert actuator.reconcile(act, before={}, now=0.0).status is Reconciled.NOT_DONE
    actuator.apply(act, now=0.0)
    assert actuator.reconcile(act, before={}, now=0.0).status is Reconciled.DONE


def test_refusals_are_permanent_with_the_servers_reason(actuator: WorldActuator) -> None:
    """Unknown target (404) and an action the world cannot do (400) are PermanentError."""
    ghost = Target(kind="SandboxWorkload", namespace="shop", name="ghost")
    with pytest.raises(PermanentError, match="404 no such workload"):
        actuator.apply(Action(id="g", kind="restart", target=ghost), now=0.0)
    with pytest.raises(PermanentError, match="400 sandbox cannot 'explode'"):
        actuator.apply(Action(id="x", kind="explode", target=CART), now=0.0)
    with pytest.raises(PermanentError, match="404"):
        actuator.observe(ghost, now=0.0)


def test_an_unreachable_server_is_a_temporary_error() -> None:
    """Nothing listening: TemporaryError with a retry hint; reconcile says UNKNOWN."""
    a = WorldActuator(WorldConfig(url=f"http://127.0.0.1:{free_port()}", timeout=1.0))
    with pytest.raises(TemporaryError) as err:
        a.apply(Action(id="t", kind="restart", target=CART), now=0.0)
    assert err.value.retry_after > 0
    act = Action(id="t", kind="restart", target=CART)
    assert a.reconcile(act, before={}, now=0.0).status is Reconciled.UNKNOWN
    a.close()


def test_the_clock_frame_is_the_worlds(server: WorldServer, actuator: WorldActuator) -> None:
    """The frame read over HTTP is the world's own: same speed, same mapping."""
    frame = actuator.clock_frame()
    own = server.clock.frame
    assert own is not None and frame == own
    assert frame.speed == 60.0


def test_faults_list_the_schedule_and_who_healed(actuator: WorldActuator) -> None:
    """The fault schedule comes back with its healing fields."""
    kinds = [f["kind"] for f in actuator.faults()]
    assert kinds == ["memory_leak", "bad_rollout", "traffic_surge", "crash_loop"]
    assert all("healed_by" in f for f in actuator.faults())
