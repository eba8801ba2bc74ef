"""The HTTP server: health, readiness, metrics, incidents; webhooks mount here too.

Starlette on uvicorn, run in a thread of the daemon, bound to 127.0.0.1 unless
configured otherwise. Read-only endpoints need no token; endpoints that change state
(webhooks, approvals) are mounted by their owners with their own authentication.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route


@dataclass(frozen=True, kw_only=True, slots=True)
class Health:
    """What ``/readyz`` reports: ready only when every check passes."""

    alive: bool
    ready: bool
    checks: dict[str, str]


class StatusProvider(Protocol):
    def health(self) -> Health: ...


class IncidentReader(Protocol):
    """Read side of the journal used by ``/v1/incidents``."""

    def incidents_json(self, limit: int, status: str | None) -> list[dict[str, Any]]: ...

    def incident_json(self, incident_id: str) -> dict[str, Any] | None: ...


def build_app(
    *,
    status: StatusProvider,
    incidents: IncidentReader,
    registry: CollectorRegistry,
    extra_routes: Sequence[BaseRoute] = (),
    standby: Callable[[], bool] | None = None,
) -> Starlette:
    """The ASGI application with the built-in routes plus ``extra_routes``.

    While ``standby()`` is true, state-changing requests (POST) get 503 so the sender
    (Alertmanager, an operator) retries against the leader; reads keep working.
    """

    async def healthz(_: Request) -> Response:
        h = status.health()
        return JSONResponse({"alive": h.alive}, status_code=200 if h.alive else 503)

    async def readyz(_: Request) -> Response:
        h = status.health()
        return JSONResponse(
            {"ready": h.ready, "checks": h.checks}, status_code=200 if h.ready else 503
        )

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def list_incidents(request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", "100"))
        except ValueError:
            return JSONResponse({"error": "limit must be an integer"}, status_code=400)
        if not 1 <= limit <= 10_000:
            return JSONResponse({"error": "limit must be in 1..10000"}, status_code=400)
        state = request.query_params.get("status")
        rows = await asyncio.to_thread(incidents.incidents_json, limit, state)
        return JSONResponse({"incidents": rows})

    async def get_incident(request: Request) -> Response:
        incident_id = request.path_params["incident_id"]
        row = await asyncio.to_thread(incidents.incident_json, incident_id)
        if row is None:
            return JSONResponse({"error": f"no incident {incident_id!r}"}, status_code=404)
        return JSONResponse(row)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/v1/incidents", list_incidents),
        Route("/v1/incidents/{incident_id}", get_incident),
        *extra_routes,
    ]
    middleware: list[Middleware] = []
    if standby is not None:
        is_standby = standby

        async def leader_only(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            if request.method == "POST" and is_standby():
                return JSONResponse(
                    {"error": "standby replica: not the leader, retry"}, status_code=503,
                    headers={"Retry-After": "5"},
                )
            return await call_next(request)

        middleware.append(Middleware(BaseHTTPMiddleware, dispatch=leader_only))
    return Starlette(routes=routes, middleware=middleware)


class HttpServer:
    """Runs an ASGI app on uvicorn in a background thread."""

    def __init__(self, app: Starlette, *, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="aiops-http", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("HTTP server failed to start (port in use?)")
            time.sleep(0.01)

    @property
    def port(self) -> int:
        servers = self._server.servers
        if servers and servers[0].sockets:
            return int(servers[0].sockets[0].getsockname()[1])
        return int(self._server.config.port)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

