"""The HTTP app over a real socket: probes, metrics, incidents, roles and the edge's checks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest
from starlette.responses import JSONResponse, Response

from aiops.config.server import HttpLimits
from aiops.http import Call, Endpoint, health_endpoints, incident_endpoints
from aiops.telemetry.metrics import Metrics
from tests.http.serving import Incidents, Status, bearer, principals, raw, serve


def _echo_endpoints(max_body: int | None = 1_048_576) -> list[Endpoint]:
    async def echo(call: Call) -> Response:
        return JSONResponse({"got": call.body, "principal": call.principal.name})

    return [Endpoint(name="echo", path="/echo", handler=echo, method="POST", role="alerts",
                     max_body=max_body)]


@pytest.fixture
def served() -> Iterator[tuple[str, Status, Metrics]]:
    status, metrics = Status(), Metrics()
    endpoints = [*health_endpoints(status=status, registry=metrics.registry),
                 *incident_endpoints(incidents=Incidents()), *_echo_endpoints()]
    with serve(endpoints, registry=metrics.registry) as server:
        yield f"http://127.0.0.1:{server.port}", status, metrics


@pytest.fixture
def secured() -> Iterator[str]:
    metrics = Metrics()
    endpoints = [*health_endpoints(status=Status(), registry=metrics.registry),
                 *incident_endpoints(incidents=Incidents()), *_echo_endpoints()]
    with serve(endpoints, table=principals(), registry=metrics.registry) as server:
        yield f"http://127.0.0.1:{server.port}"


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


def test_read_less_token_cannot_list_incidents(secured: str) -> None:
    """Once tokens exist, incidents need the read role: none is 401, alerts-only is 403."""
    assert httpx.get(f"{secured}/v1/incidents").status_code == 401
    for who in ("am", "bob"):
        r = httpx.get(f"{secured}/v1/incidents", headers=bearer(who))
        assert r.status_code == 403 and "read" in r.json()["error"]
        assert httpx.get(f"{secured}/v1/incidents/inc-1", headers=bearer(who)).status_code == 403
    assert httpx.get(f"{secured}/v1/incidents", headers=bearer("viewer")).status_code == 200
    assert httpx.get(f"{secured}/healthz").status_code == 200  # probes stay open


def test_the_handler_sees_the_authenticated_principal(secured: str) -> None:
    """A POST reaches its handler with the principal of the token and the decoded body."""
    r = httpx.post(f"{secured}/echo", json={"a": [1]}, headers=bearer("am"))
    assert r.status_code == 200 and r.json() == {"got": {"a": [1]}, "principal": "am"}
    assert httpx.post(f"{secured}/echo", json={}, headers=bearer("viewer")).status_code == 403


def test_cross_origin_text_plain_post_is_refused(served: tuple[str, Status, Metrics]) -> None:
    """A browser form post (text/plain, no token configured) never reaches the handler."""
    url, _, metrics = served
    form = httpx.post(f"{url}/echo", content=b'{"version": "4"}',
                      headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert form.status_code in (403, 415)
    plain = httpx.post(f"{url}/echo", content=b'{"a": 1}', headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415 and "application/json" in plain.json()["error"]
    origin = httpx.post(f"{url}/echo", json={"a": 1}, headers={"Origin": "http://evil.example"})
    assert origin.status_code == 403 and "cross-origin" in origin.json()["error"]
    same = httpx.post(f"{url}/echo", json={"a": 1}, headers={"Origin": url})
    assert same.status_code == 200
    assert metrics.registry.get_sample_value(
        "aiops_http_refused_total", {"route": "echo", "reason": "media_type"}) == 1.0


def test_dns_rebinding_host_is_refused_without_tokens(served: tuple[str, Status, Metrics]) -> None:
    """Without tokens only a loopback Host is served, so a rebinding page cannot post."""
    url, _, _ = served
    port = int(url.rsplit(":", 1)[1])
    body = b'{"a": 1}'
    head = raw(port, b"POST /echo HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n"
               b"Content-Type: application/json\r\nContent-Length: 8\r\n\r\n" + body)
    assert head.startswith(b"HTTP/1.1 403") and b"not loopback" in head


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper"),
        (b'{"n": ' + b"9" * 5000 + b"}", "digits"),
        (b'{"n": 1e999}', "out of range"),
        (b'{"n": NaN}', "NaN is not JSON"),
        (b'{"s": "\xff\xfe"}', "not UTF-8"),
        (b'{"s": ', "invalid JSON"),
    ],
)
def test_hostile_json_is_400_with_a_reason(served: tuple[str, Status, Metrics], body: bytes,
                                           reason: str) -> None:
    """Deep nesting, huge numbers, NaN, invalid UTF-8 and truncation are 400s, never 5xx."""
    url, _, _ = served
    r = httpx.post(f"{url}/echo", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and reason in r.json()["error"], r.text


def test_small_body_routes_have_a_small_cap() -> None:
    """Routes other than the webhook refuse bodies past max_small_body_bytes with 413."""
    limits = HttpLimits(max_small_body_bytes=1024)
    with serve(_echo_endpoints(max_body=None), limits=limits) as server:
        url = f"http://127.0.0.1:{server.port}/echo"
        r = httpx.post(url, json={"pad": "x" * 2000})
        assert r.status_code == 413 and r.headers["connection"] == "close"
        assert httpx.post(url, json={"pad": "x" * 100}).status_code == 200


def test_in_flight_cap_answers_503_but_probes_pass() -> None:
    """Past max_in_flight requests a new one gets 503 + Retry-After; /healthz still answers."""
    entered, release = threading.Event(), threading.Event()

    async def slow(call: Call) -> Response:
        entered.set()
        while not release.is_set():
            await asyncio.sleep(0.01)
        return JSONResponse({"slow": True})

    endpoints = [*health_endpoints(status=Status(), registry=Metrics().registry),
                 Endpoint(name="slow", path="/slow", handler=slow)]
    with serve(endpoints, limits=HttpLimits(max_in_flight=1)) as server:
        url = f"http://127.0.0.1:{server.port}"
        results: list[int] = []
        held = threading.Thread(target=lambda: results.append(
            httpx.get(f"{url}/slow", timeout=30).status_code))
        held.start()
        assert entered.wait(10)
        busy = httpx.get(f"{url}/slow", timeout=10)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        release.set()
        held.join(10)
        assert results == [200]
