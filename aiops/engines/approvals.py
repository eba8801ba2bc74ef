"""``POST /v1/approvals/{id}``: approve an incident waiting in ``approve`` mode.

Body: ``{"approver": "alice"}``. The same bearer token as the webhook is required when
one is configured. The approval is written to the journal (the runbook's approver
allowlist and timeout are checked there); the remediate loop runs the incident on its
next tick. Answers: 200 with the incident, 401 without the token, 400 for a bad body,
404 for an unknown incident, 409 when it cannot be approved (and why).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from aiops.engines.webhook import authorized
from aiops.errors import PermanentError
from aiops.journal.views import IncidentView

Approve = Callable[[str, str, float], IncidentView]
Exists = Callable[[str], bool]


def approval_routes(
    *, approve: Approve, exists: Exists, token: str | None, clock: Callable[[], float]
) -> list[BaseRoute]:
    """Routes to mount in the HTTP app for approvals."""

    async def post(request: Request) -> Response:
        if token is not None and not authorized(request.headers.get("authorization"), token):
            return JSONResponse({"error": "missing or wrong token"}, status_code=401)
        incident_id = request.path_params["incident_id"]
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as exc:
            return JSONResponse({"error": f"invalid JSON: {exc.msg}"}, status_code=400)
        approver = body.get("approver") if isinstance(body, dict) else None
        if not isinstance(approver, str) or not approver.strip():
            return JSONResponse(
                {"error": "approver: a non-empty string is required"}, status_code=400
            )
        if not await asyncio.to_thread(exists, incident_id):
            return JSONResponse({"error": f"no incident {incident_id!r}"}, status_code=404)
        try:
            view = await asyncio.to_thread(approve, incident_id, approver.strip(), clock())
        except PermanentError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse(view.to_dict())

    return [Route("/v1/approvals/{incident_id}", post, methods=["POST"])]
