"""Request limits every route passes: media type, streamed body cap, JSON shape bounds.

Each check raises :class:`Refusal`, an HTTP 4xx with a reason (and the field, where there
is one), never a 5xx:

- a POST must say ``Content-Type: application/json`` (**415**), so a browser's
  cross-origin ``text/plain`` form post never reaches a handler, and a browser ``Origin``
  that is not the server itself is refused (**403**);
- the body is read chunk by chunk and abandoned as soon as it passes the route's cap
  (**413**, also on a declared ``Content-Length``), or when the whole body takes longer
  than the body timeout (**408**);
- the body must be UTF-8 JSON no deeper than ``max_json_depth`` and without number
  literals longer than ``max_number_chars``, ``NaN`` or ``Infinity`` (**400**).

>>> decode_json(b'{"a": [1, 2.5, "x"]}', max_depth=4, max_number_chars=16)
{'a': [1, 2.5, 'x']}
>>> decode_json(b'[[[[[1]]]]]', max_depth=4, max_number_chars=16)
Traceback (most recent call last):
...
aiops.http.limits.Refusal: 400: JSON nested deeper than 4 levels
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import ClientDisconnect, Request


class Refusal(Exception):
    """A request refused with an HTTP 4xx status, a reason and possibly the field."""

    def __init__(
        self, status: int, reason: str, *, field: str | None = None, code: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason
        self.field = field
        self.code = code or _CODES.get(status, "refused")
        self.headers = dict(headers or {})


_CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          408: "timeout", 409: "conflict", 413: "too_large", 415: "media_type",
          503: "unavailable"}
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def require_json(request: Request) -> None:
    """415 unless the request declares ``application/json`` (charset utf-8 at most)."""
    declared = request.headers.get("content-type", "")
    media, _, params = declared.partition(";")
    charset = params.strip().lower().replace(" ", "")
    if media.strip().lower() != "application/json" or charset not in ("", "charset=utf-8"):
        raise Refusal(415, f"Content-Type must be application/json, not {declared[:60]!r}")


def host_of(value: str) -> str:
    """The host part of a ``Host`` header (no port, no brackets).

    >>> host_of("127.0.0.1:9464"), host_of("[::1]:80"), host_of("localhost")
    ('127.0.0.1', '::1', 'localhost')
    """
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") > 1:  # a bare IPv6 address
        return value
    return value.partition(":")[0]


def check_origin(request: Request, *, loopback_only: bool) -> None:
    """403 for a browser request from another origin, or (without tokens) another host.

    Without tokens the server trusts loopback, so the ``Host`` must be a loopback name:
    a DNS-rebinding page on ``evil.example`` cannot pass as same-origin.
    """
    host = request.headers.get("host", "")
    if loopback_only and host and host_of(host) not in LOOPBACK_HOSTS:
        raise Refusal(403, f"Host {host[:60]!r} is not loopback (configure http.tokens)")
    origin = request.headers.get("origin")
    if origin is None:
        return
    parts = urlsplit(origin)
    if origin == "null" or parts.netloc.lower() != host.strip().lower():
        raise Refusal(403, f"cross-origin request from {origin[:60]!r} refused")


async def read_body(request: Request, *, limit: int, timeout: float) -> bytes:
    """The body, read incrementally: 413 past ``limit`` bytes, 408 past ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise Refusal(400, f"Content-Length {declared[:30]!r} is not a number")
        if int(declared) > limit:
            raise Refusal(413, f"body too large: declared {int(declared)} bytes (limit {limit})")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Refusal(413, f"body too large: more than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise Refusal(408, f"body not received within {timeout:g} s") from None
    except ClientDisconnect:
        raise Refusal(400, "client disconnected before the body was read") from None
    return b"".join(chunks)


class _NumberRefused(ValueError):
    pass


def decode_json(body: bytes, *, max_depth: int, max_number_chars: int) -> Any:
    """Parse a UTF-8 JSON body within the depth and number bounds, or raise a 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(400, f"body is not UTF-8 (byte {exc.start})") from None

    def integer(s: str) -> int:
        if len(s) > max_number_chars:
            raise _NumberRefused(f"number of {len(s)} digits (limit {max_number_chars})")
        return int(s)

    def real(s: str) -> float:
        if len(s) > max_number_chars:
            raise _NumberRefused(f"number of {len(s)} characters (limit {max_number_chars})")
        value = float(s)
        if not math.isfinite(value):
            raise _NumberRefused(f"number {s} is out of range")
        return value

    def constant(s: str) -> Any:
        raise _NumberRefused(f"{s} is not JSON")

    try:
        data = json.loads(text, parse_int=integer, parse_float=real, parse_constant=constant)
    except _NumberRefused as exc:
        raise Refusal(400, f"invalid JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise Refusal(400, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")\
            from None
    except RecursionError:
        raise Refusal(400, f"JSON nested deeper than {max_depth} levels") from None
    if text.count("[") + text.count("{") > max_depth and _depth(data, max_depth) > max_depth:
        raise Refusal(400, f"JSON nested deeper than {max_depth} levels")
    return data


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a decoded JSON value, stopping once past ``limit``.

    >>> _depth({"a": [1, {"b": []}]}, 10), _depth(1, 10)
    (4, 0)
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return deepest
