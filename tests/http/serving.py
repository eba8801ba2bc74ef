"""Helpers for the HTTP tests: serve an app on a real loopback socket, tokens, raw requests."""

from __future__ import annotations

import contextlib
import resource
import socket
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from aiops.config.server import HttpLimits
from aiops.http import Health, HttpServer, Principal, Principals, build_app
from aiops.http.endpoint import Endpoint
from aiops.http.stats import HttpStats

TOKENS = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789",
          "am": "am-token-0123456789", "viewer": "viewer-token-0123456789"}
ROLES = {"alice": {"approve", "read"}, "bob": {"approve"}, "am": {"alerts"},
         "viewer": {"read"}}


def principals() -> Principals:
    """alice (approve, read), bob (approve), am (alerts), viewer (read)."""
    names = list(TOKENS)
    return Principals([Principal(name=n, roles=frozenset(ROLES[n])) for n in names],
                      [TOKENS[n] for n in names])


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


class Status:
    def __init__(self) -> None:
        self.ready = True

    def health(self) -> Health:
        checks = {"source": "ok" if self.ready else "down: connection refused"}
        return Health(alive=True, ready=self.ready, checks=checks)


class Incidents:
    rows: ClassVar[list[dict[str, str]]] = [
        {"id": "inc-1", "runbook": "leak", "status": "resolved"}
    ]

    def incidents_json(self, limit: int, status: str | None) -> list[dict[str, Any]]:
        return [r for r in self.rows if status in (None, r["status"])][:limit]

    def incident_json(self, incident_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["id"] == incident_id), None)


@contextlib.contextmanager
def serve(endpoints: Sequence[Endpoint], *, table: Principals | None = None,
          limits: HttpLimits | None = None, registry: Any = None) -> Iterator[HttpServer]:
    """Run ``endpoints`` on 127.0.0.1 (free port) for the duration of the block."""
    app = build_app(endpoints=endpoints, principals=table, limits=limits, registry=registry)
    server = HttpServer(app, host="127.0.0.1", port=0, limits=limits,
                        stats=HttpStats.of(registry))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def raw(port: int, request: bytes, *, timeout: float = 10.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes the connection.

    Requests should say ``Connection: close`` (or be refused) so the server closes.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(request)
        out = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                out += chunk
    return out


def raise_fd_limit(want: int) -> None:
    """Let this test process open ``want`` sockets (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
