"""``POST /v1/approvals/{id}``: approve an incident waiting in ``approve`` mode (role ``approve``).

The approver is the authenticated principal, never a name in the body: the body is
``{}`` (or ``{"approver": "<your principal>"}``; naming anyone else is **403**). The
remediator checks the runbook's ``approvers`` against the principal and journals a
refusal; the remediate loop runs the incident on its next tick. Answers: 200 with the
incident, 401 without a token, 403 for a principal who may not approve, 400 for a bad
body, 404 for an unknown incident, 409 when it cannot be approved now (and why).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from starlette.responses import JSONResponse, Response

from aiops.errors import Forbidden, NotFound, PermanentError
from aiops.http.endpoint import Call, Endpoint
from aiops.http.limits import Refusal
from aiops.telemetry.logging import get_logger


class Approved(Protocol):
    def to_dict(self) -> Mapping[str, Any]: ...


Approve = Callable[[str, str, float], Approved]
Exists = Callable[[str], bool]
MAX_ID = 200


def approval_endpoints(
    *, approve: Approve, exists: Exists, clock: Callable[[], float]
) -> list[Endpoint]:
    """The approvals endpoint, to pass to :func:`aiops.http.app.build_app`."""
    log = get_logger("approvals")

    async def post(call: Call) -> Response:
        incident_id = str(call.path_params["incident_id"])
        if len(incident_id) > MAX_ID:
            raise Refusal(400, f"incident id longer than {MAX_ID} characters")
        if not isinstance(call.body, dict):
            raise Refusal(400, "expected a JSON object (may be empty: {})")
        who = call.principal.name
        named = call.body.get("approver")
        if named is not None and named != who:
            log.warning("approval_as_other_refused", incident=incident_id, principal=who)
            raise Refusal(403, f"authenticated as {who}: cannot approve as another principal",
                          field="approver")
        if not await asyncio.to_thread(exists, incident_id):
            raise Refusal(404, f"no incident {incident_id!r}")
        try:
            view = await asyncio.to_thread(approve, incident_id, who, clock())
        except Forbidden as exc:
            raise Refusal(403, str(exc)) from None
        except NotFound as exc:
            raise Refusal(404, str(exc)) from None
        except PermanentError as exc:
            raise Refusal(409, str(exc)) from None
        return JSONResponse(dict(view.to_dict()))

    return [Endpoint(name="approvals", path="/v1/approvals/{incident_id}", handler=post,
                     method="POST", role="approve")]
