"""``/healthz``, ``/readyz`` and ``/metrics``: open to anyone (probes and scrapers).

``/readyz`` reports every check; ``/metrics`` serves the daemon's own registry (never
the process-global one), which carries no label values from requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.responses import JSONResponse, Response

from aiops.http.endpoint import Call, Endpoint


@dataclass(frozen=True, kw_only=True, slots=True)
class Health:
    """What ``/readyz`` reports: ready only when every check passes."""

    alive: bool
    ready: bool
    checks: dict[str, str]


class StatusProvider(Protocol):
    def health(self) -> Health: ...


def health_endpoints(*, status: StatusProvider, registry: CollectorRegistry) -> list[Endpoint]:
    """The liveness, readiness and metrics endpoints."""

    async def healthz(_: Call) -> Response:
        h = status.health()
        return JSONResponse({"alive": h.alive}, status_code=200 if h.alive else 503)

    async def readyz(_: Call) -> Response:
        h = status.health()
        return JSONResponse(
            {"ready": h.ready, "checks": h.checks}, status_code=200 if h.ready else 503
        )

    async def metrics(_: Call) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return [
        Endpoint(name="healthz", path="/healthz", handler=healthz),
        Endpoint(name="readyz", path="/readyz", handler=readyz),
        Endpoint(name="metrics", path="/metrics", handler=metrics),
    ]
