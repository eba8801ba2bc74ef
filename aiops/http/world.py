"""The world server's routes: one sandbox world, scraped by Prometheus and acted on.

``aiops world-server`` (:mod:`aiops.daemon.world_server`) serves these, behind the same
edge as the daemon (origin, tokens and roles, body and JSON limits):

- ``GET /metrics`` (open, for Prometheus): the world's series as
  ``aiops_sandbox_<metric>{namespace, workload}``, the world advanced to its clock first;
- ``GET /healthz`` (open);
- ``GET /v1/clock`` (``read``): the world's :class:`~aiops.sim.timeframe.TimeFrame`
  (``wall``, ``sim``, ``speed``) and its ``now``: a daemon acting on this world follows it;
- ``GET /v1/faults`` (``read``): the fault schedule, with when and by which action id
  each fault was healed;
- ``GET /v1/targets/{kind}/{namespace}/{name}`` (``read``): the target's state;
- ``POST /v1/actions`` (``admin``): apply an action (:mod:`aiops.sim.wire` JSON) at the
  world's own time; idempotent on the action id. 400 for a malformed action or one the
  world cannot do, 404 for an unknown target;
- ``GET /v1/actions/{id}`` (``read``): what the world remembers of an applied action, or 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from starlette.responses import JSONResponse, Response

from aiops.errors import PermanentError
from aiops.http.endpoint import Call, Endpoint
from aiops.http.limits import Refusal
from aiops.model import Action, Outcome, Target, TargetState
from aiops.sim.timeframe import TimeFrame
from aiops.sim.wire import MAX_ID, WireError, action_from_json, outcome_to_json, state_to_json

EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"


class WorldApi(Protocol):
    """What the routes need of the served world (all on the world's own clock)."""

    def frame(self) -> TimeFrame: ...
    def now(self) -> float: ...
    def metrics(self) -> bytes: ...
    def faults(self) -> list[dict[str, Any]]: ...
    def exists(self, target: Target) -> bool: ...
    def apply(self, action: Action) -> Outcome: ...
    def observe(self, target: Target) -> TargetState: ...
    def applied(self, action_id: str) -> Mapping[str, Any] | None: ...


def world_endpoints(*, world: WorldApi) -> list[Endpoint]:
    """The world server's endpoints, to pass to :func:`aiops.http.app.build_app`."""

    async def metrics(_: Call) -> Response:
        body = await asyncio.to_thread(world.metrics)
        return Response(body, media_type=EXPOSITION)

    async def healthz(_: Call) -> Response:
        return JSONResponse({"alive": True})

    async def clock(_: Call) -> Response:
        return JSONResponse({**world.frame().to_dict(), "now": world.now()})

    async def faults(_: Call) -> Response:
        return JSONResponse({"now": world.now(), "faults": world.faults()})

    def target_of(call: Call) -> Target:
        p = call.path_params
        ns = str(p["namespace"])
        parts = (str(p["kind"]), "" if ns == "-" else ns, str(p["name"]))
        if any(len(x) > MAX_ID for x in parts):
            raise Refusal(400, f"target names are at most {MAX_ID} characters")
        return Target(kind=parts[0], namespace=parts[1], name=parts[2])

    async def target(call: Call) -> Response:
        t = target_of(call)
        if not world.exists(t):
            raise Refusal(404, f"no such workload in this world: {t}")
        state = await asyncio.to_thread(world.observe, t)
        return JSONResponse(state_to_json(state))

    async def act(call: Call) -> Response:
        try:
            action = action_from_json(call.body)
        except WireError as exc:
            raise Refusal(400, exc.message, field=exc.field) from None
        if not world.exists(action.target):
            raise Refusal(404, f"no such workload in this world: {action.target}",
                          field="target")
        try:
            outcome = await asyncio.to_thread(world.apply, action)
        except PermanentError as exc:
            raise Refusal(400, str(exc)) from None
        return JSONResponse(outcome_to_json(outcome))

    async def applied(call: Call) -> Response:
        action_id = str(call.path_params["action_id"])
        if len(action_id) > MAX_ID:
            raise Refusal(400, f"action id longer than {MAX_ID} characters")
        seen = world.applied(action_id)
        if seen is None:
            raise Refusal(404, f"the world has not applied {action_id[:100]!r}")
        return JSONResponse({"id": action_id, **seen})

    return [
        Endpoint(name="world_metrics", path="/metrics", handler=metrics),
        Endpoint(name="world_healthz", path="/healthz", handler=healthz),
        Endpoint(name="world_clock", path="/v1/clock", handler=clock, role="read"),
        Endpoint(name="world_faults", path="/v1/faults", handler=faults, role="read"),
        Endpoint(name="world_target", path="/v1/targets/{kind}/{namespace}/{name}",
                 handler=target, role="read"),
        Endpoint(name="world_act", path="/v1/actions", handler=act, method="POST",
                 role="admin"),
        Endpoint(name="world_applied", path="/v1/actions/{action_id}", handler=applied,
                 role="read"),
    ]
