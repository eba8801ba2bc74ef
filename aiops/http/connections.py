"""Connection limits uvicorn lacks: a header timeout and a cap that sheds the slowest.

uvicorn closes idle keep-alive connections but has no timeout for a request's headers,
so a slowloris (thousands of connections each dripping a header byte now and then) holds
file descriptors forever. :class:`ConnectionGuard` keeps, per server:

- a cap on open connections: at the cap, the connection that has waited longest for its
  headers is closed to admit the new one; when every connection is mid-request the new one
  gets ``503`` and is closed. A probe that sends its request at once is never the oldest
  waiter, so ``/healthz`` keeps answering under a slowloris;
- a header timeout: a connection that has not sent a complete request head within
  ``header_timeout`` (+-20%, so connections opened together are not shed together) of
  opening, or of its previous response, is closed;
- a head size cap: more than ``max_header_bytes`` without a complete request head is
  answered 431 and closed (h11's own limit only applies to heads arriving in pieces);
- a keep-alive budget: after ``max_requests`` responses the connection is closed.

:func:`guarded_protocol` returns uvicorn's h11 protocol class extended with these hooks.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

from aiops.http.stats import HttpStats

TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n"
             b"content-length: 0\r\n\r\n")
_JITTER = random.Random()  # its own generator: the process-wide one is left alone
FULL = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        b"retry-after: 1\r\nconnection: close\r\ncontent-length: 40\r\n\r\n"
        b'{"error": "too many connections, retry"}')


class ConnectionGuard:
    """Shared bookkeeping of one server's connections (event-loop thread only)."""

    def __init__(self, *, max_connections: int, header_timeout: float, max_requests: int,
                 stats: HttpStats, max_header_bytes: int = 16_384) -> None:
        self.max_connections = max_connections
        self.max_header_bytes = max_header_bytes
        self.header_timeout = header_timeout
        self.max_requests = max_requests
        self.stats = stats
        self.open: set[GuardedH11Protocol] = set()
        self.waiting: OrderedDict[GuardedH11Protocol, None] = OrderedDict()

    def admit(self, conn: GuardedH11Protocol) -> bool:
        """Make room for ``conn`` (shedding the oldest header-waiter), or refuse it."""
        if len(self.open) >= self.max_connections:
            if not self.waiting:
                self.stats.shed.labels("full").inc()
                return False
            oldest = next(iter(self.waiting))
            self.shed(oldest, "evicted")
        self.open.add(conn)
        self.stats.open.set(len(self.open))
        return True

    def awaiting_headers(self, conn: GuardedH11Protocol) -> None:
        self.waiting[conn] = None
        self.waiting.move_to_end(conn)

    def busy(self, conn: GuardedH11Protocol) -> None:
        self.waiting.pop(conn, None)

    def shed(self, conn: GuardedH11Protocol, reason: str) -> None:
        self.stats.shed.labels(reason).inc()
        self.forget(conn)
        conn.transport.abort()

    def forget(self, conn: GuardedH11Protocol) -> None:
        self.waiting.pop(conn, None)
        self.open.discard(conn)
        self.stats.open.set(len(self.open))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the guard's admission, header timer and request budget."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._served = 0
        self._head = 0  # bytes received while waiting for the request head

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.admit(self):
            transport.write(FULL)
            transport.close()
            return
        self._await_headers()

    def _await_headers(self) -> None:
        self._cancel_timer()
        self._head = 0
        self.guard.awaiting_headers(self)
        jitter = 0.8 + 0.4 * _JITTER.random()  # a flood opened at once is shed over a spread
        self._timer = self.loop.call_later(self.guard.header_timeout * jitter, self._headers_late)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _request_under_way(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _headers_late(self) -> None:
        self._timer = None
        if not self._request_under_way() and not self.transport.is_closing():
            self.guard.shed(self, "header_timeout")

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        waiting = self._timer is not None
        super().data_received(data)
        if self.cycle is not before and self._request_under_way():
            self._cancel_timer()
            self.guard.busy(self)
        elif waiting and not self.transport.is_closing():
            self._head += len(data)
            if self._head > self.guard.max_header_bytes:
                self.transport.write(TOO_LARGE)
                self.guard.shed(self, "header_size")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._served += 1
        if self.transport.is_closing():
            return
        if self._served >= self.guard.max_requests:
            self.guard.stats.shed.labels("max_requests").inc()
            self.transport.close()
        elif self._request_under_way():  # a pipelined request started at once
            self._cancel_timer()
            self.guard.busy(self)
        else:
            self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.guard.forget(self)
        super().connection_lost(exc)


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """A protocol class bound to ``guard`` (one per server), for ``uvicorn.Config(http=...)``."""
    return type("GuardedH11", (GuardedH11Protocol,), {"guard": guard})
