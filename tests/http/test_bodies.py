"""A 1 GiB chunked body against every POST route of the real daemon: cut off, RSS bounded."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml
from starlette.routing import Route

from aiops.config import load_config
from aiops.daemon import Daemon, RunOptions
from tests.e2e.sandbox_config import sandbox_config

GiB = 1 << 30
CHUNK = 1 << 20
ADMIN = "admin-token-for-body-tests"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("bodies")
    cfg = sandbox_config(tmp, http=True)
    data = yaml.safe_load(cfg.read_text())
    (tmp / "admin.token").write_text(ADMIN)
    data["http"]["tokens"] = [{"name": "ops", "token_file": str(tmp / "admin.token"),
                               "roles": ["admin"]}]
    cfg.write_text(yaml.safe_dump(data))
    d = Daemon(load_config(cfg), RunOptions(stepped=True))
    d.start_http()
    try:
        yield d
    finally:
        d.close()


def post_routes(d: Daemon) -> list[str]:
    assert d.http is not None
    routes = [r for r in d.http.routes if isinstance(r, Route) and "POST" in (r.methods or ())]
    return [r.path.replace("{incident_id}", "inc-1") for r in routes]


class PeakRss:
    """Samples this process's RSS (the server runs in it) every 2 ms."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def push_chunked(port: int, path: str) -> tuple[int, bytes]:
    """Stream up to 1 GiB as chunked JSON; return the bytes sent and the answer."""
    piece = b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n"
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN}"
                  "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  .encode() + b"6\r\n{\"a\":[\r\n")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
            while sent < GiB:
                s.sendall(piece)
                sent += CHUNK
            s.sendall(b"0\r\n\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while chunk := s.recv(65536):
                answer += chunk
    return sent, answer


def test_every_post_route_is_covered(daemon: Daemon) -> None:
    """The daemon mounts the webhook and approvals as POST routes (what the next test hits)."""
    assert sorted(post_routes(daemon)) == ["/v1/alerts", "/v1/approvals/inc-1"]


@pytest.mark.parametrize("index", [0, 1])
def test_gigabyte_chunked_body_is_cut_off_with_rss_bounded(daemon: Daemon, index: int) -> None:
    """Each POST route stops reading past its cap: far less than 1 GiB sent, RSS +< 50 MB."""
    assert daemon.http is not None
    path = sorted(post_routes(daemon))[index]
    with PeakRss() as rss:
        sent, answer = push_chunked(daemon.http.port, path)
    assert sent < 256 * CHUNK, f"{path}: the server read {sent} bytes"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert rss.peak - rss.base < 50 * CHUNK, f"{path}: RSS grew {rss.peak - rss.base} bytes"
    # and the daemon keeps serving afterwards
    assert push_small(daemon.http.port).startswith(b"HTTP/1.1 200")


def push_small(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_token_files_are_read_from_the_config(daemon: Daemon, tmp_path: Path) -> None:
    """The daemon authenticates with the configured principal (and nobody else)."""
    assert daemon.http is not None
    with socket.create_connection(("127.0.0.1", daemon.http.port), timeout=10) as s:
        s.sendall(b"GET /v1/incidents HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  b"Authorization: Bearer wrong\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 401")
