"""Build the configured source and actuator (the sandbox is both, sharing one world)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiops.actuators.base import Actuator
from aiops.config import Config
from aiops.errors import ConfigError
from aiops.sources.base import Source


def build_backends(config: Config, state_dir: Path, now: float) -> tuple[Source, Actuator]:
    """The configured source and actuator (the sandbox is both, sharing one world)."""
    src_type, act_type = config.source.type, config.actuator.type
    world: Any = None
    if src_type == "sandbox" or act_type == "sandbox":
        from aiops.actuators.sandbox import SandboxActuator
        from aiops.sim.store import open_world
        from aiops.sources.sandbox import SandboxSource

        path = state_dir / "sandbox.json" if config.source.sandbox.persist else None
        world = open_world(config.source.sandbox, path, now)
    source: Source
    if src_type == "sandbox":
        source = SandboxSource(world, state_path(config, state_dir))
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
        actuator = SandboxActuator(world, state_path(config, state_dir))
    elif act_type == "kubernetes":
        from aiops.actuators.kubernetes import KubernetesActuator

        actuator = KubernetesActuator(config.actuator.kubernetes)
    elif act_type == "systemd":
        from aiops.actuators.systemd import SystemdActuator

        actuator = SystemdActuator(config.actuator.systemd)
    else:
        from aiops.actuators.record import RecordingActuator

        actuator = RecordingActuator()
    return source, actuator


def state_path(config: Config, state_dir: Path) -> Path | None:
    return state_dir / "sandbox.json" if config.source.sandbox.persist else None
