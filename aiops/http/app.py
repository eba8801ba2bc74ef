"""The ASGI application: every route is an :class:`~aiops.http.endpoint.Endpoint`.

:func:`build_app` mounts endpoints only (never raw Starlette routes), so each one passes
the edge's checks by construction, and wraps the whole app in :class:`Gate`, which
answers 431 to a request head over ``max_header_bytes``, 503 (with ``Retry-After``) when
more than ``max_in_flight`` requests are being handled or, on a standby replica, to any
POST, and cuts off any body past the largest cap as a backstop to the per-route limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiops.config.server import HttpLimits
from aiops.http.endpoint import Endpoint, mount
from aiops.http.principals import Principals
from aiops.http.stats import HttpStats

#: Probes answered even when the in-flight cap is reached (they are cheap).
PROBES = frozenset({"/healthz", "/readyz"})


def build_app(
    *,
    endpoints: Sequence[Endpoint],
    principals: Principals | None = None,
    limits: HttpLimits | None = None,
    registry: CollectorRegistry | None = None,
    standby: Callable[[], bool] | None = None,
) -> Gate:
    """The application serving ``endpoints`` behind the edge's limits."""
    table = principals or Principals([], [])
    bounds = limits or HttpLimits()
    stats = HttpStats.of(registry)
    seen: set[tuple[str, str]] = set()
    for e in endpoints:
        if (e.method, e.path) in seen:
            raise ValueError(f"two endpoints for {e.method} {e.path}")
        seen.add((e.method, e.path))
    routes = [mount(e, principals=table, limits=bounds, stats=stats) for e in endpoints]
    largest = max([bounds.max_small_body_bytes, *(e.max_body or 0 for e in endpoints)])
    # The backstop sits past every route's own cap (plus a chunk), so routes answer 413 first.
    return Gate(Starlette(routes=routes), max_in_flight=bounds.max_in_flight,
                max_body=2 * largest + 65_536, standby=standby, stats=stats,
                max_header_bytes=bounds.max_header_bytes)


async def _answer(send: Send, status: int, reason: str, *, retry_after: int | None = None,
                  close: bool = False) -> None:
    body = json.dumps({"error": reason}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Gate:
    """Pure ASGI wrapper: head size, standby refusal, in-flight cap, body backstop."""

    def __init__(self, app: ASGIApp, *, max_in_flight: int, max_body: int,
                 standby: Callable[[], bool] | None, stats: HttpStats,
                 max_header_bytes: int = 16_384) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_in_flight = max_in_flight
        self.max_body = max_body
        self.standby = standby
        self.stats = stats
        self.in_flight = 0

    @property
    def routes(self) -> list[BaseRoute]:
        """The routes served (every one mounted from an endpoint)."""
        return list(getattr(self.app, "routes", []))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        post = scope.get("method") == "POST"
        head = len(scope.get("raw_path", b"")) + sum(len(k) + len(v) for k, v in scope["headers"])
        if head > self.max_header_bytes:
            self.stats.refused.labels("gate", "header_size").inc()
            await _answer(send, 431, f"request head over {self.max_header_bytes} bytes",
                          close=True)
            return
        if post and self.standby is not None and self.standby():
            self.stats.refused.labels("standby", "standby").inc()
            await _answer(send, 503, "standby replica: not the leader, retry", retry_after=5,
                          close=True)
            return
        if self.in_flight >= self.max_in_flight and path not in PROBES:
            self.stats.refused.labels("gate", "busy").inc()
            await _answer(send, 503, "too many requests in flight, retry", retry_after=1,
                          close=post)
            return
        received = 0
        cap = self.max_body

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:  # a handler reading past every route's cap: cut it off
                    return {"type": "http.disconnect"}
            return message

        self.in_flight += 1
        try:
            await self.app(scope, bounded, send)
        finally:
            self.in_flight -= 1
