"""Fixtures of the fault-injection suite: one warm fork server for every daemon it starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aiops.bench.chaos_launch import Launcher
from tests.realservers import daemons


@pytest.fixture(scope="session")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """The fork server (imports once; each daemon is a fresh fork running the real CLI)."""
    server = Launcher([], tmp_path_factory.mktemp("launcher") / "launcher.log")
    daemons.track(server.pid)
    try:
        yield server
    finally:
        server.close()
        daemons.untrack(server.pid)
