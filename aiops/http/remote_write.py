"""``POST /api/v1/write``: Prometheus remote write 1.0 (protobuf, snappy), role ``write``.

The order of checks is the contract:

1. the edge's checks (:mod:`aiops.http.endpoint`): origin, token and role (**401**/**403**)
   before any body byte is read, ``Content-Type: application/x-protobuf`` (**415**; a
   remote-write 2.0 ``proto=io.prometheus.write.v2.Request`` is refused too), the body cap
   ``source.remote_write.max_body_bytes`` while streaming (**413**);
2. ``Content-Encoding: snappy`` (**415**); the snappy block's declared size against
   ``max_decoded_bytes`` before decompressing (**413**: no decompression bomb); a body
   that is not snappy or not a ``WriteRequest``, or a series whose labels are not valid
   UTF-8 label pairs with a ``__name__`` (**400** naming the reason; Prometheus drops a
   batch it gets a 4xx for, and logs it);
3. the samples are queued for scoring; if the queue is full, **503** with ``Retry-After``
   (Prometheus 2.x retries every 5xx, but a 429 only with ``retry_on_http_429``, so
   backpressure is always a 503);
4. the answer waits until the samples are scored: **204** then, **503** if scoring failed
   or the daemon is stopping (Prometheus resends). So a 2xx always means scored, and
   a sample Prometheus got no 2xx for is resent, never lost.

A standby replica serves this route too (its detectors stay warm; only the leader acts).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from starlette.responses import Response

from aiops.http.endpoint import Call, Endpoint, error
from aiops.http.limits import Refusal
from aiops.sources.remote_write import Busy, Ticket
from aiops.sources.remote_write_decode import LabelsInvalid
from aiops.sources.remote_write_proto import DecodeError, SnappyError, decompress
from aiops.telemetry.ingest import IngestMetrics
from aiops.telemetry.logging import get_logger

PATH = "/api/v1/write"
MEDIA_TYPE = "application/x-protobuf"
#: Content-Type parameters of a remote-write 1.0 request (none, or its message name).
MEDIA_PARAMS = ("", "proto=prometheus.writerequest")


class Ingest(Protocol):
    """The source side of the route: decode and queue samples, settle them once scored."""

    def receive(self, data: bytes, now: float) -> Ticket: ...


def remote_write_endpoints(
    *,
    ingest: Ingest,
    max_body_bytes: int = 8_388_608,
    max_decoded_bytes: int = 67_108_864,
    clock: Callable[[], float] = time.time,
    metrics: IngestMetrics | None = None,
    path: str = PATH,
) -> list[Endpoint]:
    """The remote-write endpoint, to pass to :func:`aiops.http.app.build_app`."""
    log = get_logger("remote_write")
    stats = metrics or IngestMetrics()

    def refused(exc: Refusal) -> None:
        stats.requests.labels(str(exc.status)).inc()

    async def receive(call: Call) -> Response:
        encoding = call.request.headers.get("content-encoding", "").strip().lower()
        if encoding != "snappy":
            raise Refusal(415, f"Content-Encoding must be snappy, not {encoding[:30]!r}")
        data: bytes = call.body
        try:
            plain = decompress(data, limit=max_decoded_bytes)
        except SnappyError as exc:
            status = 413 if "limit" in str(exc) else 400
            raise Refusal(status, str(exc)) from None
        ticket = _offer(ingest, plain, clock())
        if isinstance(ticket, Response):
            stats.requests.labels(str(ticket.status_code)).inc()
            return ticket
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()

        def settled(ok: bool) -> None:
            loop.call_soon_threadsafe(_resolve, done, ok)

        ticket.on_settled(settled)
        ok = await done
        if not ok:
            stats.requests.labels("503").inc()
            return error(503, "samples not scored (daemon stopping or scoring failed), retry",
                         headers={"Retry-After": "1"})
        stats.requests.labels("204").inc()
        return Response(status_code=204)

    def _offer(target: Ingest, plain: bytes, now: float) -> Ticket | Response:
        try:
            return target.receive(plain, now)
        except DecodeError:
            raise Refusal(400, "body is not a remote-write WriteRequest") from None
        except LabelsInvalid as exc:
            raise Refusal(400, f"invalid series: {exc}") from None
        except Busy as exc:
            log.info("remote_write_backpressure", reason=str(exc))
            return error(503, f"busy: {exc}, retry", headers={"Retry-After": "1"})

    return [Endpoint(name="remote_write", path=path, handler=receive, method="POST",
                     role="write", max_body=max_body_bytes, on_refused=refused,
                     media_type=MEDIA_TYPE, media_params=MEDIA_PARAMS, standby=True)]


def _resolve(future: asyncio.Future[bool], ok: bool) -> None:
    if not future.done():
        future.set_result(ok)
