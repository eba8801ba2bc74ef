"""The daemon's HTTP routes: each :mod:`aiops.http` endpoint wired to the part of the
daemon that answers it (journal, remediator, models, history, the remote-write source).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aiops.http import (
    Endpoint,
    alert_endpoints,
    approval_endpoints,
    dashboard_endpoints,
    feedback_endpoints,
    health_endpoints,
    incident_endpoints,
    page_endpoints,
)
from aiops.http.remote_write import remote_write_endpoints

if TYPE_CHECKING:
    from aiops.daemon.core import Daemon


def daemon_endpoints(
    d: Daemon, *, extra: Callable[[Daemon], Sequence[Endpoint]] | None = None,
) -> list[Endpoint]:
    """Every route the daemon serves (``extra``: routes a caller adds, such as tests)."""
    cfg = d.config.http
    endpoints: list[Endpoint] = [
        *health_endpoints(status=d, registry=d.metrics.registry),
        *incident_endpoints(incidents=d.journal),
        *page_endpoints(),
        *dashboard_endpoints(
            status=d.page_status, incidents=d.journal, history=d.history,
            clock=d.clock.now, floor=d.config.detect.signal_floor,
            open_level=d.config.detect.episode_open,
        ),
        *alert_endpoints(
            journal=d.journal, on_alerts=d.on_alerts, max_body_bytes=cfg.max_body_bytes,
            limits=cfg.limits, clock=d.clock.now, metrics=d.metrics,
        ),
        *approval_endpoints(
            approve=d.remediator.approve,
            exists=lambda i: d.journal.incident(i) is not None,
            clock=d.clock.now,
        ),
        *feedback_endpoints(record=d.models.feedback, clock=d.clock.now),
        *(extra(d) if extra else ()),
    ]
    if d.push is not None:
        rw = d.config.source.remote_write
        endpoints += remote_write_endpoints(
            ingest=d.push, max_body_bytes=rw.max_body_bytes,
            max_decoded_bytes=rw.max_decoded_bytes, clock=d.clock.now,
            metrics=d.push.metrics)
    return endpoints
