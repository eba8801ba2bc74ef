"""A daemon acting on a world server takes the world's clock, and reads Prometheus on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from aiops.bench.realservers import free_port
from aiops.config import load_config
from aiops.config.sources import SandboxConfig
from aiops.daemon import Daemon, RunOptions
from aiops.daemon.world_server import WorldServer
from aiops.errors import AiopsError
from aiops.sources.retimed import Retimed


def config(tmp_path: Path, world: str, speed: float = 1.0) -> Path:
    path = tmp_path / "aiops.yaml"
    path.write_text(yaml.safe_dump({
        "state_dir": str(tmp_path / "state"), "runbooks": {"paths": []},
        "loop": {"speed": speed},
        "source": {"type": "prometheus", "prometheus": {"url": "http://127.0.0.1:9"}},
        "actuator": {"type": "world", "world": {"url": world, "timeout": 2}},
        "http": {"enabled": False}}))
    return path


@pytest.fixture
def world() -> Iterator[WorldServer]:
    with WorldServer(SandboxConfig(), speed=120.0, port=0) as s:
        yield s


def test_the_daemon_follows_the_worlds_clock_whatever_its_own_speed(
    world: WorldServer, tmp_path: Path
) -> None:
    """loop.speed 1 against a 120x world: the daemon runs at 120x on the world's time, and
    its Prometheus source is read on that clock."""
    d = Daemon(load_config(config(tmp_path, world.url, speed=1.0)))
    try:
        assert d.clock.speed == 120.0
        assert abs(d.clock.now() - world.clock.now()) < 120.0 * 0.5
        assert isinstance(d.source, Retimed)
    finally:
        d.close()


def test_a_stepped_daemon_keeps_its_own_clock(world: WorldServer, tmp_path: Path) -> None:
    """--speed max (stepped) does not follow: it runs as fast as the machine goes."""
    d = Daemon(load_config(config(tmp_path, world.url)), RunOptions(stepped=True))
    try:
        assert d.clock.stepped and not isinstance(d.source, Retimed)
    finally:
        d.close()


def test_no_world_server_is_one_clear_error(tmp_path: Path) -> None:
    """With nothing at the world URL the daemon does not start, and says why."""
    with pytest.raises(AiopsError, match="cannot read the world server's clock"):
        Daemon(load_config(config(tmp_path, f"http://127.0.0.1:{free_port()}")))
