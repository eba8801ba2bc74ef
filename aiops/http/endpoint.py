"""Endpoints: the only way a route reaches the app, so every one passes the same checks.

An :class:`Endpoint` declares its path, method, the role it needs and (for a POST) its
body cap; :func:`mount` wraps its handler in the checks, in this order:

1. origin (a browser page of another origin, or a non-loopback ``Host`` while no token
   is configured: **403**);
2. authentication (**401**) and the role (**403**), before any body byte is read;
3. for a POST: ``application/json`` (**415**), the streamed body cap (**413**) and body
   timeout (**408**), UTF-8 JSON within the depth and number bounds (**400**).

Only then is the handler called, with the principal and the decoded JSON. Refusals carry
a reason (and the field) and close the connection when the body was not read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aiops.config.server import HttpLimits
from aiops.errors import TemporaryError
from aiops.http.limits import Refusal, check_origin, decode_json, read_body, require_json
from aiops.http.principals import Principal, Principals
from aiops.http.stats import HttpStats

#: The caller of an open endpoint who presented no valid token.
NOBODY = Principal(name="unauthenticated", roles=frozenset())


@dataclass(frozen=True, kw_only=True, slots=True)
class Call:
    """What a handler receives: the request, who sent it, and its decoded JSON body."""

    request: Request
    principal: Principal
    body: Any = None

    @property
    def path_params(self) -> Mapping[str, Any]:
        return self.request.path_params


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True, kw_only=True, slots=True)
class Endpoint:
    """One route: ``role`` ``None`` is open to anyone (health probes, metrics)."""

    name: str
    path: str
    handler: Handler
    method: Literal["GET", "POST"] = "GET"
    role: str | None = None
    max_body: int | None = None  # POST: None means ``limits.max_small_body_bytes``
    on_refused: Callable[[Refusal], None] | None = None
    #: A page a browser opens: a 401 asks for HTTP basic auth (the token as the password),
    #: which the browser then sends with the page's own requests.
    browser: bool = False


def error(status: int, reason: str, *, field: str | None = None,
          headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A JSON error answer: ``{"error": reason, "field": ...}``."""
    body: dict[str, Any] = {"error": reason, **extra}
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=dict(headers or {}) or None)


def refusal_response(exc: Refusal, *, close: bool, browser: bool = False) -> JSONResponse:
    headers = dict(exc.headers)
    if exc.status == 401:
        headers["WWW-Authenticate"] = ('Basic realm="aiops", charset="UTF-8"' if browser
                                       else 'Bearer realm="aiops"')
    if close:
        headers["Connection"] = "close"
    return error(exc.status, exc.reason, field=exc.field, headers=headers)


def mount(
    endpoint: Endpoint, *, principals: Principals, limits: HttpLimits, stats: HttpStats
) -> Route:
    """The Starlette route running ``endpoint`` behind every check."""
    cap = endpoint.max_body if endpoint.max_body is not None else limits.max_small_body_bytes
    post = endpoint.method == "POST"

    async def run(request: Request) -> Response:
        read = not post
        try:
            check_origin(request, loopback_only=not principals.enabled)
            principal = principals.authenticate(request.headers.get("authorization"))
            if principal is None and endpoint.role is None:
                principal = NOBODY  # open endpoints (probes, metrics) need no token
            if principal is None:
                raise Refusal(401, "missing or wrong token")
            if endpoint.role is not None and not principal.may(endpoint.role):
                raise Refusal(403, f"principal {principal.name} lacks the role {endpoint.role}")
            body: Any = None
            if post:
                require_json(request)
                raw = await read_body(request, limit=cap, timeout=limits.body_timeout)
                read = True
                body = decode_json(raw, max_depth=limits.max_json_depth,
                                   max_number_chars=limits.max_number_chars)
            return await endpoint.handler(Call(request=request, principal=principal, body=body))
        except Refusal as exc:
            stats.refused.labels(endpoint.name, exc.code).inc()
            if endpoint.on_refused is not None:
                endpoint.on_refused(exc)
            return refusal_response(exc, close=not read, browser=endpoint.browser)
        except TemporaryError as exc:  # e.g. the journal's database is unreachable
            stats.refused.labels(endpoint.name, "unavailable").inc()
            return error(503, f"temporarily unavailable, retry: {exc}", headers={
                "Retry-After": str(max(1, round(exc.retry_after)))})

    return Route(endpoint.path, run, methods=[endpoint.method], name=endpoint.name)
