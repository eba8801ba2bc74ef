"""The HTTP server answers health, readiness, metrics and incidents over a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest

from aiops.engines.http import Health, HttpServer, build_app
from aiops.telemetry.metrics import Metrics


class Status:
    def __init__(self) -> None:
        self.ready = True

    def health(self) -> Health:
        checks = {"source": "ok" if self.ready else "down: connection refused"}
        return Health(alive=True, ready=self.ready, checks=checks)


class Incidents:
    rows: ClassVar[list[dict[str, str]]] = [
        {"id": "inc-1", "runbook": "leak", "status": "resolved"}
    ]

    def incidents_json(self, limit: int, status: str | None) -> list[dict[str, Any]]:
        return [r for r in self.rows if status in (None, r["status"])][:limit]

    def incident_json(self, incident_id: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["id"] == incident_id), None)


@pytest.fixture
def served() -> Iterator[tuple[str, Status, Metrics]]:
    status, metrics = Status(), Metrics()
    app = build_app(status=status, incidents=Incidents(), registry=metrics.registry)
    server = HttpServer(app, host="127.0.0.1", port=0)
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", status, metrics
    finally:
        server.stop()


def test_readyz_follows_the_source(served: tuple[str, Status, Metrics]) -> None:
    """/readyz is 200 while the source is up and 503 with the reason when it is down."""
    url, status, _ = served
    assert httpx.get(f"{url}/readyz").status_code == 200
    status.ready = False
    r = httpx.get(f"{url}/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["source"].startswith("down")
    assert httpx.get(f"{url}/healthz").status_code == 200


def test_metrics_come_from_the_explicit_registry(served: tuple[str, Status, Metrics]) -> None:
    """/metrics serves our registry in Prometheus text format, not the global one."""
    url, _, metrics = served
    metrics.actions.labels("leak", "restart", "done").inc()
    body = httpx.get(f"{url}/metrics").text
    assert 'aiops_actions_total{action="restart",outcome="done",runbook="leak"} 1.0' in body
    assert "python_gc_objects_collected_total" not in body


def test_incidents_list_detail_and_errors(served: tuple[str, Status, Metrics]) -> None:
    """/v1/incidents lists, filters and details incidents; bad input is a 4xx with a reason."""
    url, _, _ = served
    assert httpx.get(f"{url}/v1/incidents").json()["incidents"][0]["id"] == "inc-1"
    assert httpx.get(f"{url}/v1/incidents?status=running").json()["incidents"] == []
    assert httpx.get(f"{url}/v1/incidents/inc-1").json()["runbook"] == "leak"
    missing = httpx.get(f"{url}/v1/incidents/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    bad = httpx.get(f"{url}/v1/incidents?limit=lots")
    assert bad.status_code == 400 and "limit" in bad.json()["error"]

