"""The HTTP server: uvicorn in a thread of the daemon, with every connection limit set.

uvicorn runs the app (:mod:`aiops.http.app`) with the guarded h11 protocol
(:mod:`aiops.http.connections`: connection cap, header timeout, keep-alive budget), its
own keep-alive timeout and header size limit, and no access log. At start the process's
file-descriptor limit is raised to its hard limit and the connection cap kept well under
it, so a flood of connections is shed by the server instead of starving the daemon's
other sockets and files. Server log lines (uvicorn's warnings, asyncio's accept errors)
pass a rate limit: a storm of bad connections writes a few lines a minute, not megabytes.
"""

from __future__ import annotations

import logging
import resource
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from aiops.config.server import HttpLimits
from aiops.http.connections import ConnectionGuard, guarded_protocol
from aiops.http.stats import HttpStats
from aiops.telemetry.logging import get_logger

#: File descriptors kept for the rest of the daemon (journal, sources, actuators).
FD_RESERVE = 256


class RateLimit(logging.Filter):
    """Let at most ``burst`` records of one message through per ``period`` seconds."""

    def __init__(self, burst: int = 5, period: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.period = period
        self._monotonic = monotonic
        self._seen: dict[str, tuple[float, int, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.name}:{record.msg}"[:200]
        now = self._monotonic()
        with self._lock:
            start, passed, dropped = self._seen.get(key, (now, 0, 0))
            if now - start >= self.period:
                if dropped:
                    record.msg = f"{record.msg} ({dropped} similar messages suppressed)"
                start, passed, dropped = now, 0, 0
            if passed < self.burst:
                self._seen[key] = (start, passed + 1, dropped)
                if len(self._seen) > 1000:
                    self._seen.clear()
                return True
            self._seen[key] = (start, passed, dropped + 1)
            return False


_RATE_LIMIT = RateLimit()


def rate_limit_server_logs() -> None:
    """Install the rate limit on uvicorn's and asyncio's loggers (once per process)."""
    for name in ("uvicorn.error", "asyncio"):
        logger = logging.getLogger(name)
        if _RATE_LIMIT not in logger.filters:
            logger.addFilter(_RATE_LIMIT)


def raise_fd_limit() -> int:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


class HttpServer:
    """Runs an ASGI app on uvicorn in a background thread, within ``limits``."""

    def __init__(self, app: object, *, host: str, port: int, limits: HttpLimits | None = None,
                 stats: HttpStats | None = None) -> None:
        bounds = limits or HttpLimits()
        fds = raise_fd_limit()
        cap = min(bounds.max_connections, max(8, (fds - FD_RESERVE) // 2))
        if cap < bounds.max_connections:
            get_logger("http").info("http_connection_cap_lowered", cap=cap, fd_limit=fds,
                                       configured=bounds.max_connections)
        self.guard = ConnectionGuard(
            max_connections=cap, header_timeout=bounds.header_timeout,
            max_requests=bounds.max_requests_per_connection, stats=stats or HttpStats(None),
            max_header_bytes=bounds.max_header_bytes,
        )
        rate_limit_server_logs()
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host=host, port=port, log_level="warning", access_log=False, lifespan="off",
            http=guarded_protocol(self.guard), ws="none",
            timeout_keep_alive=max(1, round(bounds.keep_alive_timeout)),
            h11_max_incomplete_event_size=bounds.max_header_bytes,
            timeout_graceful_shutdown=3, server_header=False,
        )
        self._app = app
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="aiops-http", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("HTTP server failed to start (port in use?)")
            time.sleep(0.01)

    @property
    def routes(self) -> list[Any]:
        """The app's routes (for tests and benchmarks that attack each one)."""
        return list(getattr(self._app, "routes", []))

    @property
    def port(self) -> int:
        servers = self._server.servers
        if servers and servers[0].sockets:
            return int(servers[0].sockets[0].getsockname()[1])
        return int(self._server.config.port)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
