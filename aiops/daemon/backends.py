"""Build the configured source and actuators (the sandbox is both, sharing one world).

The composition root owns every actuator: the workload actuator (sandbox, Kubernetes,
systemd or recording) and the step executors (``notify``/``webhook`` over HTTP,
``command`` as argv). The remediation engine receives them as
:class:`~aiops.actuators.base.Executors` and never builds its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiops.actuators.base import Actuator, Executors
from aiops.config import Config
from aiops.errors import ConfigError
from aiops.sources.base import Source
from aiops.statedir import StateDir


@dataclass(frozen=True, kw_only=True, slots=True)
class Backends:
    """What the daemon reads from and acts through."""

    source: Source
    executors: Executors

    @property
    def actuator(self) -> Actuator:
        return self.executors.workloads

    def close(self) -> None:
        self.source.close()
        for a in self.executors.all():
            a.close()


def build_backends(config: Config, state: StateDir, now: float) -> Backends:
    """The configured source and actuators (the sandbox is both, sharing one world)."""
    src_type, act_type = config.source.type, config.actuator.type
    world: Any = None
    sandbox_path = state.path(StateDir.SANDBOX) if config.source.sandbox.persist else None
    if src_type == "sandbox" or act_type == "sandbox":
        from aiops.sim.store import open_world

        world = open_world(config.source.sandbox, sandbox_path, now)
    source: Source
    if src_type == "sandbox":
        from aiops.sources.sandbox import SandboxSource

        source = SandboxSource(world, sandbox_path)
    elif src_type == "prometheus":
        from aiops.sources.prometheus import PrometheusSource

        source = PrometheusSource(config.source.prometheus, base_dir=Path(config.base_dir))
    elif src_type == "replay":
        from aiops.sources.replay import ReplaySource

        assert config.source.replay is not None  # checked by the config model
        source = ReplaySource(config.resolve(config.source.replay.path))
    elif src_type == "host":
        from aiops.sources.host import HostSource

        source = HostSource()
    else:
        raise ConfigError(f"source type {src_type!r} is not available yet", field="source.type")
    actuator: Actuator
    if act_type == "sandbox":
        if world is None:
            raise ConfigError(
                "the sandbox actuator needs the sandbox source", field="actuator.type"
            )
        from aiops.actuators.sandbox import SandboxActuator

        actuator = SandboxActuator(world, sandbox_path)
    elif act_type == "kubernetes":
        from aiops.actuators.kubernetes import KubernetesActuator

        actuator = KubernetesActuator(config.actuator.kubernetes)
    elif act_type == "systemd":
        from aiops.actuators.systemd import SystemdActuator

        actuator = SystemdActuator(config.actuator.systemd)
    elif act_type == "world":
        from aiops.actuators.world import WorldActuator

        actuator = WorldActuator(config.actuator.world, base_dir=Path(config.base_dir))
    else:
        from aiops.actuators.record import RecordingActuator

        actuator = RecordingActuator()
    return Backends(source=source, executors=step_executors(actuator))


def step_executors(workloads: Actuator) -> Executors:
    """``workloads`` for workload steps, plus the HTTP and command executors."""
    from aiops.actuators.command import CommandActuator
    from aiops.actuators.webhook import WebhookActuator

    webhook = WebhookActuator()
    return Executors(workloads=workloads, by_kind={
        "notify": webhook, "webhook": webhook, "command": CommandActuator()})
