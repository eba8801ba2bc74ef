"""``GET /v1/incidents`` and ``GET /v1/incidents/{id}``: the journal's incidents (role ``read``)."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from starlette.responses import JSONResponse, Response

from aiops.http.endpoint import Call, Endpoint
from aiops.http.limits import Refusal


class IncidentReader(Protocol):
    """Read side of the journal used by ``/v1/incidents``."""

    def incidents_json(self, limit: int, status: str | None) -> list[dict[str, Any]]: ...

    def incident_json(self, incident_id: str) -> dict[str, Any] | None: ...


def incident_endpoints(*, incidents: IncidentReader) -> list[Endpoint]:
    """List (``?limit=``, ``?status=``) and detail of incidents."""

    async def list_incidents(call: Call) -> Response:
        query = call.request.query_params
        try:
            limit = int(query.get("limit", "100"))
        except ValueError:
            raise Refusal(400, "limit must be an integer", field="limit") from None
        if not 1 <= limit <= 10_000:
            raise Refusal(400, "limit must be in 1..10000", field="limit")
        state = query.get("status")
        if state is not None and len(state) > 64:
            raise Refusal(400, "status is too long", field="status")
        rows = await asyncio.to_thread(incidents.incidents_json, limit, state)
        return JSONResponse({"incidents": rows})

    async def get_incident(call: Call) -> Response:
        incident_id = str(call.path_params["incident_id"])
        row = await asyncio.to_thread(incidents.incident_json, incident_id)
        if row is None:
            raise Refusal(404, f"no incident {incident_id[:100]!r}")
        return JSONResponse(row)

    return [
        Endpoint(name="incidents", path="/v1/incidents", handler=list_incidents, role="read"),
        Endpoint(name="incident", path="/v1/incidents/{incident_id}", handler=get_incident,
                 role="read"),
    ]
