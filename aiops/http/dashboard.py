"""The web page's read-only JSON (role ``read``), every answer bounded.

- ``GET /v1/status``: readiness and its checks, the clock (which one, its speed), the
  backends, the detector and forecaster models (what the daemon's ``status`` callable
  returns);
- ``GET /v1/incidents/{id}/series``: the incident's series (trigger, verify metrics, or
  the series an alert's labels name; at most 6) with expected band, score and episodes
  over a window around the incident (``?before=`` seconds of context, at most a day),
  at most ``?points=`` points each (at most 600), and the marks (opened, actions,
  verifications, closed);
- ``GET /v1/forecasts``: for each predictive workload the forecasts (predicted at
  ``t + horizon``, its band, capacity, current and desired replicas) and the demand
  seen, over ``?span=`` seconds (at most a day).

Times are on the daemon's clock (simulated in the sandbox), as ``/v1/status`` says.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from aiops.http.endpoint import Call, Endpoint
from aiops.http.incidents import IncidentReader
from aiops.http.limits import Refusal
from aiops.http.series_view import MAX_POINTS, incident_keys, marks, num, series_json
from aiops.telemetry.history import SeriesHistory

MAX_ID = 200
DAY = 86_400.0
#: Context drawn after an incident closed (seconds on the daemon's clock).
AFTER_CLOSE = 900.0

Status = Callable[[], Mapping[str, Any]]


def _bounded(call: Call, name: str, default: float, low: float, high: float) -> float:
    raw = call.request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise Refusal(400, f"{name} must be a number", field=name) from None
    if not (math.isfinite(value) and low <= value <= high):
        raise Refusal(400, f"{name} must be in {low:g}..{high:g}", field=name)
    return value


def dashboard_endpoints(
    *,
    status: Status,
    incidents: IncidentReader,
    history: SeriesHistory,
    clock: Callable[[], float],
    floor: float,
    open_level: float | None = None,
) -> list[Endpoint]:
    """The page's JSON endpoints, to pass to :func:`aiops.http.app.build_app`.

    ``floor`` is the signal floor, ``open_level`` the detector's episode_open: an
    episode drawn on the page is a run at ``open_level`` that reached ``floor``.
    """

    async def get_status(_: Call) -> Response:
        return JSONResponse(dict(status()), headers={"Cache-Control": "no-store"})

    async def get_series(call: Call) -> Response:
        incident_id = str(call.path_params["incident_id"])
        if len(incident_id) > MAX_ID:
            raise Refusal(400, f"incident id longer than {MAX_ID} characters")
        before = _bounded(call, "before", 1800.0, 0.0, DAY)
        limit = int(_bounded(call, "points", MAX_POINTS, 2, MAX_POINTS))
        incident = await asyncio.to_thread(incidents.incident_json, incident_id)
        if incident is None:
            raise Refusal(404, f"no incident {incident_id[:100]!r}")
        now = clock()
        opened = float(incident.get("opened_at") or now)
        closed = incident.get("closed_at")
        start = opened - before
        end = min(now, float(closed) + AFTER_CLOSE) if closed is not None else now
        end = max(end, opened)
        chosen = incident_keys(incident, history.series_keys())
        series = [series_json(key, role, history.window(key, start, end), floor=floor,
                              limit=limit, open_level=open_level) for key, role in chosen]
        return JSONResponse({"incident": incident_id, "start": start, "end": end,
                             "floor": floor, "series": series, "marks": marks(incident)},
                            headers={"Cache-Control": "no-store"})

    async def get_forecasts(call: Call) -> Response:
        span = _bounded(call, "span", 7200.0, 60.0, DAY)
        now = clock()
        out = []
        for key in history.forecast_keys():
            fc = history.forecasts(key, now - span, now)[-MAX_POINTS:]
            seen = history.window(key, now - span, now)[-MAX_POINTS:]
            out.append({
                "key": str(key), "metric": key.metric, "labels": key.label_map,
                "forecasts": [[num(f.t, 12), num(f.horizon), num(f.predicted), num(f.lower),
                               num(f.upper), num(f.capacity), f.desired_replicas,
                               f.current_replicas] for f in fc],
                "demand": [[num(p.t, 12), num(p.value)] for p in seen],
            })
        return JSONResponse({"now": now, "start": now - span, "workloads": out},
                            headers={"Cache-Control": "no-store"})

    return [
        Endpoint(name="status", path="/v1/status", handler=get_status, role="read"),
        Endpoint(name="incident_series", path="/v1/incidents/{incident_id}/series",
                 handler=get_series, role="read"),
        Endpoint(name="forecasts", path="/v1/forecasts", handler=get_forecasts, role="read"),
    ]
