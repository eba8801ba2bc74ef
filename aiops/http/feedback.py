"""``POST /v1/incidents/{id}/feedback``: an operator's verdict on an incident (role ``approve``).

The body is ``{"verdict": "false-positive" | "true-positive", "note": "..."}``. The person
recorded is the authenticated principal, never a name in the body (``"by"`` naming anyone
else is **403**). The verdict is journaled on the incident (``aiops models compare``
reports precision per model from it) and, with ``models.sensitivity`` enabled, may raise
the series' signal floor (docs/models.md). Answers: 200 with what was recorded, 400 for
a bad body, 401 without a token, 403 for a principal without ``approve``, 404 for an
unknown incident, 503 when the journal cannot take the write now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from starlette.responses import JSONResponse, Response

from aiops.errors import NotFound, TemporaryError
from aiops.http.endpoint import Call, Endpoint
from aiops.http.limits import Refusal
from aiops.models.feedback import MAX_NOTE, Verdict

#: Records a verdict: (incident, verdict, by, note, now) -> what was recorded.
Record = Callable[[str, str, str, str, float], Mapping[str, object]]
MAX_ID = 200
VERDICTS = tuple(v.value for v in Verdict)


def feedback_endpoints(*, record: Record, clock: Callable[[], float]) -> list[Endpoint]:
    """The feedback endpoint, to pass to :func:`aiops.http.app.build_app`."""

    async def post(call: Call) -> Response:
        incident_id = str(call.path_params["incident_id"])
        if len(incident_id) > MAX_ID:
            raise Refusal(400, f"incident id longer than {MAX_ID} characters")
        body = call.body
        if not isinstance(body, dict):
            raise Refusal(400, "expected a JSON object: {\"verdict\": \"false-positive\"}")
        unknown = sorted(set(body) - {"verdict", "note", "by"})
        if unknown:
            raise Refusal(400, f"unknown field {unknown[0]!r}", field=unknown[0])
        verdict = body.get("verdict")
        if verdict not in VERDICTS:
            raise Refusal(400, f"verdict must be one of {', '.join(VERDICTS)}", field="verdict")
        note = body.get("note", "")
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise Refusal(400, f"note must be a string of at most {MAX_NOTE} characters",
                          field="note")
        who = call.principal.name
        if body.get("by") not in (None, who):
            raise Refusal(403, f"authenticated as {who}: cannot give feedback as another "
                          "principal", field="by")
        try:
            done = await asyncio.to_thread(record, incident_id, str(verdict), who, note, clock())
        except NotFound as exc:
            raise Refusal(404, str(exc)) from None
        except TemporaryError as exc:  # the journal refused the write: nothing was recorded
            raise Refusal(503, f"not recorded, try again: {exc}") from None
        return JSONResponse(dict(done))

    return [Endpoint(name="feedback", path="/v1/incidents/{incident_id}/feedback", handler=post,
                     method="POST", role="approve")]
