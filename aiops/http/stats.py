"""The HTTP edge's own Prometheus metrics: refusals by route and reason, connections shed."""

from __future__ import annotations

import threading
import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge

_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, HttpStats] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


class HttpStats:
    """Counters of refused requests and shed connections (bounded label sets)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        r = registry or CollectorRegistry()
        self.refused = Counter(
            "aiops_http_refused_total", "Requests refused with a 4xx or 503, by route and reason.",
            ["route", "reason"], registry=r,
        )
        self.shed = Counter(
            "aiops_http_connections_shed_total",
            "Connections closed by the server's limits, by reason.", ["reason"], registry=r,
        )
        self.open = Gauge("aiops_http_connections_open", "Open HTTP connections.", registry=r)

    @classmethod
    def of(cls, registry: CollectorRegistry | None) -> HttpStats:
        """The stats registered on ``registry`` (created once per registry)."""
        if registry is None:
            return cls(None)
        with _LOCK:
            stats = _BY_REGISTRY.get(registry)
            if stats is None:
                stats = _BY_REGISTRY[registry] = cls(registry)
            return stats
