"""Connection limits over real sockets: slowloris, header timeout, connection cap, keep-alive."""

from __future__ import annotations

import contextlib
import logging
import resource
import socket
import time
from collections.abc import Iterator

import pytest
from starlette.responses import Response

from aiops.config.server import HttpLimits
from aiops.http import Call, Endpoint, health_endpoints
from aiops.http.server import RateLimit
from aiops.telemetry.metrics import Metrics
from tests.http.serving import Status, raise_fd_limit, raw, serve

HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def _open(port: int, n: int, first_bytes: bytes) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        socks.append(s)
    _drip(socks, first_bytes)
    return socks


def _drip(socks: list[socket.socket], data: bytes) -> None:
    for s in socks:
        with contextlib.suppress(OSError):  # refused, evicted, not connected: it does not care
            s.send(data)


def _closed(s: socket.socket) -> bool:
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _poll(cond: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def closing() -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    yield socks
    for s in socks:
        s.close()


def test_healthz_answers_under_a_slowloris(metrics: Metrics,
                                           closing: list[socket.socket]) -> None:
    """3,000 drip-feeding connections past a cap of 256: /healthz keeps answering 200."""
    raise_fd_limit(8192)
    n = min(3000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 768)
    assert n > 2 * 256, "the hard file-descriptor limit is too low for this test"
    limits = HttpLimits(max_connections=256, header_timeout=60)
    endpoints = health_endpoints(status=Status(), registry=metrics.registry)
    with serve(endpoints, limits=limits, registry=metrics.registry) as server:
        closing += _open(server.port, n, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for round_ in range(20):
            _drip(closing, b"X-a: b\r\n")
            answer = raw(server.port, HEALTHZ)
            assert answer.startswith(b"HTTP/1.1 200"), (round_, answer[:80])
        shed = metrics.registry.get_sample_value(
            "aiops_http_connections_shed_total", {"reason": "evicted"})
        assert shed is not None and shed >= n - 256
        open_now = metrics.registry.get_sample_value("aiops_http_connections_open")
        assert open_now is not None and open_now <= 256


def test_headers_not_sent_in_time_close_the_connection(metrics: Metrics,
                                                       closing: list[socket.socket]) -> None:
    """A connection that does not finish its headers within header_timeout is closed."""
    limits = HttpLimits(header_timeout=0.5)
    endpoints = health_endpoints(status=Status(), registry=metrics.registry)
    with serve(endpoints, limits=limits, registry=metrics.registry) as server:
        closing += _open(server.port, 5, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        _poll(lambda: all(_closed(s) for s in closing), "the server to close slow connections")
        assert metrics.registry.get_sample_value(
            "aiops_http_connections_shed_total", {"reason": "header_timeout"}) == 5
        assert raw(server.port, HEALTHZ).startswith(b"HTTP/1.1 200")


def test_new_connection_gets_503_when_every_slot_is_mid_request(
    metrics: Metrics, closing: list[socket.socket]
) -> None:
    """With all slots busy (headers sent, body pending), a new connection is told 503."""
    async def sink(call: Call) -> Response:
        raise AssertionError("the bodies never complete")

    limits = HttpLimits(max_connections=8, body_timeout=60)
    endpoints = [Endpoint(name="sink", path="/sink", handler=sink, method="POST")]
    with serve(endpoints, limits=limits, registry=metrics.registry) as server:
        head = (b"POST /sink HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{")
        closing += _open(server.port, 8, head)
        _poll(lambda: not server.guard.waiting and len(server.guard.open) == 8,
              "eight requests under way")
        answer = raw(server.port, HEALTHZ)
        assert answer.startswith(b"HTTP/1.1 503") and b"too many connections" in answer
        assert metrics.registry.get_sample_value(
            "aiops_http_connections_shed_total", {"reason": "full"}) == 1


def test_keep_alive_connection_closes_after_its_request_budget(metrics: Metrics) -> None:
    """After max_requests_per_connection responses the server closes the connection."""
    limits = HttpLimits(max_requests_per_connection=3)
    endpoints = health_endpoints(status=Status(), registry=metrics.registry)
    with serve(endpoints, limits=limits, registry=metrics.registry) as server:
        one = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        answer = raw(server.port, one * 5)
        assert answer.count(b"HTTP/1.1 200") == 3


def test_oversized_headers_are_refused(metrics: Metrics) -> None:
    """A request head past max_header_bytes gets 431 (or h11's 400), never a growing buffer."""
    limits = HttpLimits(max_header_bytes=2048)
    endpoints = health_endpoints(status=Status(), registry=metrics.registry)
    with serve(endpoints, limits=limits, registry=metrics.registry) as server:
        head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 8192 + b"\r\n\r\n"
        answer = raw(server.port, head)
        assert answer.startswith((b"HTTP/1.1 431", b"HTTP/1.1 400")), answer[:60]


def test_repeated_server_log_lines_are_rate_limited() -> None:
    """A storm of one log message lets a burst through, then counts what it suppressed."""
    clock = [0.0]
    limit = RateLimit(burst=3, period=60.0, monotonic=lambda: clock[0])
    record = logging.LogRecord("asyncio", logging.ERROR, __file__, 1,
                               "socket.accept() out of system resource", None, None)
    passed = [limit.filter(record) for _ in range(1000)]
    assert passed.count(True) == 3
    clock[0] = 61.0
    later = logging.LogRecord("asyncio", logging.ERROR, __file__, 1,
                              "socket.accept() out of system resource", None, None)
    assert limit.filter(later) and "997 similar messages suppressed" in str(later.msg)
