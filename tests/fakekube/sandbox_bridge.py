"""Mirror the sandbox's simulated cluster into the fake API server, and back.

With this bridge the daemon can run on the sandbox *source* while acting through the real
:class:`KubernetesActuator` over HTTP: each sandbox workload is a Deployment in namespace
``shop``; a rollout that happens in the simulation (the bad-rollout fault) becomes a new
revision in the fake cluster; and every action the actuator completes (seen as a new
``aiops.dev/last-action-id`` on a Deployment) is applied to the simulation with the same
id, so the simulated metrics respond exactly as they would to the sandbox actuator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiops.actuators.kubernetes_rollout import (
    LAST_ACTION,
    PENDING_ACTION,
    RESTARTED_AT,
    ROLLED_BACK_TO,
)
from aiops.model import Action, Target
from aiops.sim import World
from tests.fakekube.plugin import deployment, roll_out
from tests.fakekube.server import FakeKube

NAMESPACE = "shop"


def _snapshot(dep: dict[str, Any]) -> dict[str, Any]:
    notes = dep["metadata"].get("annotations", {})
    template = dep["spec"]["template"]
    return {
        "replicas": dep["spec"].get("replicas"),
        "restarted": (template.get("metadata", {}).get("annotations") or {}).get(RESTARTED_AT),
        "rolled_back_to": notes.get(ROLLED_BACK_TO),
        "image": template["spec"]["containers"][0]["image"],
        "pending": notes.get(PENDING_ACTION),
    }


class SandboxBridge:
    """Keeps a :class:`World` and a :class:`FakeKube` in step while the daemon runs."""

    def __init__(self, server: FakeKube, world: World, clock: Callable[[], float]) -> None:
        self.server, self.world, self.clock = server, world, clock
        self.seen: dict[str, dict[str, Any]] = {}
        self.applied: list[tuple[str, str, str]] = []  # (action id, kind, workload)

    def _sim(self, name: str) -> Target:
        return next(t for t in self.world.targets if t.name == name)

    def start(self) -> SandboxBridge:
        """Create one Deployment per sandbox workload and hook into the server."""
        self.server.store.clock = self.clock
        now = self.clock()
        for target in self.world.targets:
            state = self.world.observe(target, now)
            dep = deployment(
                target.name,
                namespace=NAMESPACE,
                replicas=state.replicas,
                image=str(state.details["image"]),
            )
            created = self.server.create("deployments", dep)
            self.seen[target.name] = _snapshot(created)
        self.server.before_request.append(self.sync_rollouts)
        self.server.after_write.append(self.on_write)
        return self

    def sync_rollouts(self) -> None:
        """Roll out in the fake cluster any image the simulation has moved to by itself."""
        now = self.clock()
        for target in self.world.targets:
            image = str(self.world.observe(target, now).details["image"])
            dep = self.server.get("deployments", NAMESPACE, target.name)
            if dep["spec"]["template"]["spec"]["containers"][0]["image"] != image:
                after = roll_out(self.server, NAMESPACE, target.name, image)
                self.seen[target.name] = _snapshot(after)

    def on_write(
        self, resource: str, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        """Apply a completed aiops action (new last-action-id) to the simulation."""
        if resource != "deployments" or before is None or after is None:
            return
        action_id = after["metadata"].get("annotations", {}).get(LAST_ACTION)
        if not action_id or action_id == before["metadata"].get("annotations", {}).get(LAST_ACTION):
            return
        name = after["metadata"]["name"]
        old, new = self.seen[name], _snapshot(after)
        self.seen[name] = new
        params: dict[str, Any] = {}
        if new["rolled_back_to"] != old["rolled_back_to"]:
            kind = "rollback"
        elif new["restarted"] != old["restarted"]:
            kind = "restart"
        elif new["replicas"] != old["replicas"]:
            kind, params = "scale", {"replicas": new["replicas"]}
        elif _snapshot(before)["pending"] and not new["pending"]:
            kind = "delete_pod"
        else:
            return
        action = Action(id=action_id, kind=kind, target=self._sim(name), params=params)
        self.world.apply(action, self.clock())
        self.applied.append((action_id, kind, name))
