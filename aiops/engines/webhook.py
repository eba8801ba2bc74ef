"""``POST /v1/alerts``: the Alertmanager webhook receiver (v4 payloads), as Starlette routes.

The order of checks is the contract:

1. authentication (when a token is configured): ``Authorization: Bearer <token>`` or
   HTTP basic auth whose password is the token; otherwise **401**;
2. size: a declared ``Content-Length`` above the limit is refused before reading, and the
   body is read incrementally and abandoned as soon as it passes the limit (**413**; a
   10 MB body is never buffered);
3. schema: invalid JSON or a body that is not a v4 payload gets **400** with the field;
4. the alerts are stored in the journal in one durable transaction (dedup by fingerprint +
   startsAt + status); if that fails the answer is **503** so Alertmanager retries;
5. only then **200**, and the alerts the journal had not seen before are handed to
   ``on_alerts`` (the remediation engine): a retried delivery is acknowledged again but
   never handed over twice.

Nothing is written unless every check passed, so a rejected request leaves no trace
but a counter.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from aiops.config.server import HttpConfig
from aiops.errors import ConfigError
from aiops.model import Alert
from aiops.sources.alertmanager import WebhookError, parse_webhook
from aiops.telemetry.logging import get_logger
from aiops.telemetry.metrics import Metrics

PATH = "/v1/alerts"


class AlertJournal(Protocol):
    """The journal's side of the webhook: durable before return, deduplicating."""

    def record_new_alerts(self, alerts: Iterable[Alert], now: float) -> list[Alert]: ...


OnAlerts = Callable[[Sequence[Alert], float], None]


def load_token(config: HttpConfig, base_dir: Path | None = None) -> str | None:
    """The webhook token from ``config.token_file`` (stripped), or ``None`` if unset."""
    if not config.token_file:
        return None
    path = Path(config.token_file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read token file: {exc.strerror}", file=str(path)) from None
    if not token:
        raise ConfigError("token file is empty", file=str(path))
    return token


def authorized(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (bearer, or basic password).

    >>> authorized("Bearer s3cret", "s3cret"), authorized("Bearer nope", "s3cret")
    (True, False)
    >>> authorized("Basic " + base64.b64encode(b"am:s3cret").decode(), "s3cret")
    True
    """
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return hmac.compare_digest(value.encode(), token.encode())
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
        _, sep, password = decoded.partition(b":")
        return bool(sep) and hmac.compare_digest(password, token.encode())
    return False


class BodyTooLarge(Exception):
    """The request body passed the configured limit."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk; raises :class:`BodyTooLarge` past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"declared {declared} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, reason: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="aiops"'} if status == 401 else None
    if status in (413, 401):
        headers = {**(headers or {}), "Connection": "close"}
    return JSONResponse({"error": reason, **extra}, status_code=status, headers=headers)


def webhook_routes(
    *,
    journal: AlertJournal,
    on_alerts: OnAlerts | None = None,
    token: str | None = None,
    max_body_bytes: int = 1_048_576,
    clock: Callable[[], float] = time.time,
    metrics: Metrics | None = None,
    path: str = PATH,
) -> list[BaseRoute]:
    """Routes to mount in the HTTP app (``extra_routes``) for the webhook receiver."""
    log = get_logger("webhook")

    def count(result: str, n: int = 1) -> None:
        if metrics is not None and n:
            metrics.webhook_alerts.labels(result).inc(n)

    async def receive(request: Request) -> Response:
        if token is not None and not authorized(request.headers.get("authorization"), token):
            count("unauthorized")
            return _error(401, "missing or wrong token")
        try:
            body = await read_limited(request, max_body_bytes)
        except BodyTooLarge as exc:
            count("too_large")
            return _error(413, f"body too large: {exc} (limit {max_body_bytes})")
        except ClientDisconnect:
            count("disconnected")
            return _error(400, "client disconnected before the body was read")
        now = clock()
        try:
            hook = parse_webhook(body, now=now)
        except WebhookError as exc:
            count("invalid")
            return _error(400, exc.reason, field=exc.field)
        try:
            fresh = await asyncio.to_thread(journal.record_new_alerts, hook.alerts, now)
        except Exception as exc:  # the journal is down: make Alertmanager retry
            count("journal_error")
            log.error("webhook journal write failed", error=str(exc))
            return _error(503, "journal unavailable, retry later")
        count("new", len(fresh))
        count("duplicate", len(hook.alerts) - len(fresh))
        if fresh and on_alerts is not None:
            try:
                on_alerts(fresh, now)
            except Exception as exc:  # already durable: the engine can recover from the journal
                log.error("webhook hand-off failed", error=str(exc), alerts=len(fresh))
        log.info(
            "webhook received", receiver=hook.receiver, alerts=len(hook.alerts),
            new=len(fresh), truncated=hook.truncated,
        )
        return JSONResponse(
            {
                "status": "ok",
                "received": len(hook.alerts),
                "new": len(fresh),
                "duplicates": len(hook.alerts) - len(fresh),
            }
        )

    return [Route(path, receive, methods=["POST"])]
