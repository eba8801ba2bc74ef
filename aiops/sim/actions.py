"""What each action does to a workload: check it, describe it, then (unless dry-run) do it.

A planner validates an action against a workload and returns a :class:`Change`: the
message and the would-be state shown by a dry-run, plus the mutation to run for real.
Bad input raises :class:`aiops.errors.PermanentError`; a reasoned "no" (such as a
second rollback) raises :class:`Refused`, which the world reports as ``FAILED``.

Which action heals which fault: ``restart`` heals a memory leak and a crash loop,
``rollback`` a bad rollout, ``scale`` a traffic surge once the new replicas could carry
the surge at :data:`HEALTHY_UTILIZATION`. ``delete_pod`` heals nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from aiops.errors import PermanentError
from aiops.model import Action
from aiops.sim.faults import SURGE_MULTIPLIER, FaultKind
from aiops.sim.workload import Timing, WorkloadState

HEALTHY_UTILIZATION = 0.85  # no shedding, p99 within about 3x its unloaded value
MAX_REPLICAS = 100


class Refused(Exception):
    """An action declined for a reason the caller should read (not an error)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Change:
    """A checked action: what it would do (``message``, ``after``) and how to do it."""

    message: str
    after: dict[str, Any]
    apply: Callable[[], None]


class Cluster(Protocol):
    """What planners need from the world."""

    @property
    def timing(self) -> Timing: ...

    @property
    def rng(self) -> np.random.Generator: ...

    def demand_level(self, now: float) -> float: ...

    def heal(self, kind: FaultKind, workload: str, now: float, action: Action) -> None: ...


def plan_scale(world: Cluster, ws: WorkloadState, action: Action, now: float) -> Change:
    """``scale`` to ``params["replicas"]`` (absolute); heals a surge it covers."""
    replicas = action.params.get("replicas")
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise PermanentError(f"scale needs an integer 'replicas', got {replicas!r}")
    if not 0 <= replicas <= MAX_REPLICAS:
        raise PermanentError(f"replicas must be within 0..{MAX_REPLICAS}, got {replicas}")
    old = ws.replicas

    def change() -> None:
        ws.scale_to(replicas, now, world.rng, world.timing)
        full = ws.spec.base_rps * world.demand_level(now) * SURGE_MULTIPLIER
        if replicas * ws.spec.capacity_per_pod * HEALTHY_UTILIZATION >= full:
            world.heal(FaultKind.TRAFFIC_SURGE, ws.spec.name, now, action)

    return Change(
        message=f"scaled {ws.spec.name} from {old} to {replicas} replicas",
        after={**ws.summary(now), "replicas": replicas},
        apply=change,
    )


def plan_restart(world: Cluster, ws: WorkloadState, action: Action, now: float) -> Change:
    """``restart``: a rollout restart with fresh pods; heals a memory leak or crash loop."""
    def change() -> None:
        ws.roll(ws.revision, now, world.rng, world.timing)
        ws.restarted_at = now
        world.heal(FaultKind.MEMORY_LEAK, ws.spec.name, now, action)
        world.heal(FaultKind.CRASH_LOOP, ws.spec.name, now, action)

    return Change(
        message=f"restarted {ws.spec.name} (rolling out fresh pods of revision {ws.revision})",
        after={**ws.summary(now), "restarted_at": now, "rollout_in_progress": True},
        apply=change,
    )


def plan_rollback(world: Cluster, ws: WorkloadState, action: Action, now: float) -> Change:
    """``rollback`` to the previous revision, never a blind second undo; heals a bad rollout."""
    if ws.last_change == "rollback":
        raise Refused(
            f"{ws.spec.name} was already rolled back from revision {ws.rolled_back_from} "
            f"to {ws.revision}; a second undo would restore the revision just undone"
        )
    previous = ws.previous_revision()
    if previous is None:
        raise Refused(f"{ws.spec.name} has no revision before {ws.revision}")
    within = action.params.get("only_if_changed_within")
    if within is not None and (ws.changed_at is None or now - ws.changed_at > float(within)):
        raise Refused(
            f"{ws.spec.name} last changed at {ws.changed_at}, not within {float(within):.0f}s"
        )
    current = ws.revision

    def change() -> None:
        ws.roll(previous.number, now, world.rng, world.timing)
        ws.changed_at, ws.last_change, ws.rolled_back_from = now, "rollback", current
        world.heal(FaultKind.BAD_ROLLOUT, ws.spec.name, now, action)

    return Change(
        message=f"rolled {ws.spec.name} back from revision {current} to {previous.number}",
        after={**ws.summary(now), "revision": previous.number, "image": previous.image},
        apply=change,
    )


def plan_delete_pod(world: Cluster, ws: WorkloadState, action: Action, now: float) -> Change:
    """``delete_pod`` ``params["pod"]`` (default the least healthy); it is replaced."""
    if not ws.pods:
        raise Refused(f"{ws.spec.name} has no pods")
    name = str(action.params.get("pod") or ws.least_healthy(now).name)
    if all(p.name != name for p in ws.pods):
        raise PermanentError(f"no pod {name!r} in {ws.spec.name}")

    def change() -> None:
        ws.delete_pod(name, now, world.rng, world.timing)

    return Change(
        message=f"deleted pod {name}",
        after={**ws.summary(now), "deleted_pod": name},
        apply=change,
    )


Planner = Callable[[Cluster, WorkloadState, Action, float], Change]

PLANNERS: dict[str, Planner] = {
    "scale": plan_scale,
    "restart": plan_restart,
    "rollback": plan_rollback,
    "delete_pod": plan_delete_pod,
}
