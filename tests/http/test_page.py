"""The web page and its JSON over a real socket: assets, headers, auth, bounded answers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aiops.http import dashboard_endpoints, incident_endpoints, page_endpoints
from aiops.http.page import CSP
from aiops.model import ForecastSignal, Score, SeriesKey
from aiops.telemetry.history import SeriesHistory
from tests.http.serving import TOKENS, bearer, principals, serve

NOW = 10_000.0
KEY = SeriesKey.of("memory_usage", namespace="shop", workload="cart")
DEMAND = SeriesKey.of("request_rate", namespace="shop", workload="catalog")
INCIDENT = {
    "id": "inc-1", "runbook": "cart-memory-leak", "status": "resolved", "opened_at": 9000.0,
    "closed_at": 9300.0, "close_code": "verified",
    "labels": {"metric": "memory_usage", "namespace": "shop", "workload": "cart"},
    "steps": [{"verify": {"metric": "memory_usage"}}],
    "actions": [{"started_at": 9000.0, "kind": "restart", "status": "done", "step": 0}],
    "timeline": [{"t": 9200.0, "kind": "verify", "code": "verified", "detail": {}}],
}


class Journal:
    def incidents_json(self, limit: int, status: str | None) -> list[dict[str, Any]]:
        return [INCIDENT][:limit]

    def incident_json(self, incident_id: str) -> dict[str, Any] | None:
        return INCIDENT if incident_id == "inc-1" else None


def history() -> SeriesHistory:
    h = SeriesHistory(points=2000, admit_score=0.9)
    for i in range(1000):
        t = 7000.0 + 3 * i
        h.record([Score(key=KEY, t=t, value=math.nan if i == 500 else 3e8 + t, score=0.95
                        if 9000 <= t < 9100 else 0.1, expected=3e8, lower=2.9e8, upper=3.1e8,
                        warm=i > 10)])
        h.record([Score(key=DEMAND, t=t, value=100.0, score=0.1, expected=100.0, lower=90.0,
                        upper=110.0)])
    h.record_forecasts([ForecastSignal(key=DEMAND, t=9960.0, horizon=150.0, predicted=120.0,
                                       lower=100.0, upper=math.inf, capacity=240.0,
                                       desired_replicas=5, current_replicas=4)])
    return h


def endpoints() -> list[Any]:
    status = {"ready": True, "checks": {"source": "ok"}, "now": NOW}
    return [*page_endpoints(), *incident_endpoints(incidents=Journal()),
            *dashboard_endpoints(status=lambda: status, incidents=Journal(), history=history(),
                                 clock=lambda: NOW, floor=0.9)]


@pytest.fixture(scope="module")
def open_url() -> Iterator[str]:
    with serve(endpoints()) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def secured_url() -> Iterator[str]:
    with serve(endpoints(), table=principals()) as server:
        yield f"http://127.0.0.1:{server.port}"


def test_page_and_assets_are_served_with_a_strict_policy(open_url: str) -> None:
    """/ is HTML linking only same-origin assets; every answer forbids inline script and frames."""
    page = httpx.get(f"{open_url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/assets/page.js"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    for path, media in (("/", "text/html"), ("/assets/page.js", "text/javascript"),
                        ("/assets/page.css", "text/css")):
        r = httpx.get(f"{open_url}{path}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(media)
        assert r.headers["content-security-policy"] == CSP
        assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP
        assert r.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{open_url}/assets/../core.py").status_code == 404
    assert httpx.get(f"{open_url}/assets/other.js").status_code == 404


def test_the_script_never_writes_markup() -> None:
    """The page's JS builds nodes and sets textContent: no innerHTML, eval or remote URL."""
    from aiops.http.page import asset

    js = asset("page.js").decode()
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function",
                   "document.write", "http://", "https://"):
        assert banned not in js.replace("http://www.w3.org/2000/svg", ""), banned


def test_with_tokens_the_page_asks_the_browser_for_basic_auth(secured_url: str) -> None:
    """401 with a Basic challenge; the token as basic password (or bearer) with role read passes."""
    r = httpx.get(f"{secured_url}/")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith('Basic realm="aiops"')
    assert httpx.get(f"{secured_url}/", auth=("anyone", TOKENS["viewer"])).status_code == 200
    assert httpx.get(f"{secured_url}/assets/page.js", headers=bearer("alice")).status_code == 200
    assert httpx.get(f"{secured_url}/", auth=("x", TOKENS["am"])).status_code == 403
    assert httpx.get(f"{secured_url}/v1/status").status_code == 401
    assert httpx.get(f"{secured_url}/v1/status", auth=("x", TOKENS["viewer"])).status_code == 200
    assert httpx.get(f"{secured_url}/v1/forecasts", headers=bearer("bob")).status_code == 403


def test_incident_series_is_windowed_thinned_and_strict_json(open_url: str) -> None:
    """The series around the incident: at most `points` rows, null for gaps, episodes, marks."""
    r = httpx.get(f"{open_url}/v1/incidents/inc-1/series", params={"points": 100,
                                                                    "before": 600})
    assert r.status_code == 200
    doc = r.json()
    assert (doc["start"], doc["end"]) == (8400.0, NOW)  # closed 9300 + 900 > now: up to now
    (series,) = doc["series"]
    assert series["role"] == "trigger" and series["key"] == str(KEY)
    ts = [row[0] for row in series["points"]]
    assert len(ts) <= 100 and series["thinned"] and ts == sorted(ts)
    assert ts[0] >= 8400.0 and ts[-1] <= NOW
    assert series["episodes"] == [[9001.0, 9097.0]]  # points every 3 s, anomalous 9000-9100
    assert [m["kind"] for m in doc["marks"]] == ["opened", "action", "verify", "closed"]


def test_bad_parameters_and_unknown_incidents_are_4xx(open_url: str) -> None:
    """Out-of-range windows and point counts are 400 naming the field; unknown ids 404."""
    base = f"{open_url}/v1/incidents/inc-1/series"
    for params, field in (({"points": 5000}, "points"), ({"before": 10 ** 9}, "before"),
                          ({"before": "nan"}, "before"), ({"points": "x"}, "points")):
        r = httpx.get(base, params=params)
        assert r.status_code == 400 and r.json()["field"] == field, params
    assert httpx.get(f"{open_url}/v1/incidents/nope/series").status_code == 404
    assert httpx.get(f"{open_url}/v1/incidents/{'x' * 300}/series").status_code == 400
    assert httpx.get(f"{open_url}/v1/forecasts", params={"span": 1}).status_code == 400


def test_forecasts_carry_predictions_capacity_and_demand(open_url: str) -> None:
    """Each predictive workload: forecasts (infinite bound as null) and the demand seen."""
    doc = httpx.get(f"{open_url}/v1/forecasts", params={"span": 300}).json()
    (w,) = doc["workloads"]
    assert w["labels"]["workload"] == "catalog"
    assert w["forecasts"] == [[9960.0, 150.0, 120.0, 100.0, None, 240.0, 5, 4]]
    assert w["demand"] and all(NOW - 300 <= t <= NOW for t, _ in w["demand"])


def test_status_passes_through(open_url: str) -> None:
    """/v1/status is whatever the daemon's status callable returns, uncached."""
    r = httpx.get(f"{open_url}/v1/status")
    assert r.json()["checks"] == {"source": "ok"} and r.headers["cache-control"] == "no-store"
