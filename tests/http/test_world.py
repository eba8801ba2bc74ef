"""The world server's routes: bounded, strict JSON in, the edge's roles on top."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from aiops.config.sources import SandboxConfig
from aiops.daemon.world_server import WorldServer
from tests.http.serving import bearer, principals

TARGET = {"kind": "SandboxWorkload", "namespace": "shop", "name": "cart"}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with WorldServer(SandboxConfig(), speed=60.0, port=0) as s:
        yield s.url


@pytest.fixture(scope="module")
def secured() -> Iterator[str]:
    with WorldServer(SandboxConfig(), speed=60.0, port=0, principals=principals()) as s:
        yield s.url


def test_a_malformed_action_is_400_naming_the_field(url: str) -> None:
    """Missing, mistyped or oversized fields are refused before the world is touched."""
    for body, field in (({"kind": "restart", "target": TARGET}, "id"),
                        ({"id": "a", "kind": "restart", "target": {"kind": "X"}}, "target.name"),
                        ({"id": "a", "kind": "scale", "target": TARGET, "params": []}, "params"),
                        ({"id": "x" * 300, "kind": "restart", "target": TARGET}, "id"),
                        ({"id": "a", "kind": "restart", "target": TARGET, "step": True}, "step")):
        r = httpx.post(f"{url}/v1/actions", json=body)
        assert r.status_code == 400 and r.json()["field"] == field, (body, r.text)
    assert httpx.post(f"{url}/v1/actions", json=[1]).status_code == 400
    assert httpx.post(f"{url}/v1/actions", content=b"{", headers={
        "content-type": "application/json"}).status_code == 400


def test_bad_parameters_and_unknown_targets_are_4xx(url: str) -> None:
    """An invalid scale is 400 with the world's reason; an unknown workload 404."""
    r = httpx.post(f"{url}/v1/actions", json={"id": "b", "kind": "scale", "target": TARGET,
                                              "params": {"replicas": "many"}})
    assert r.status_code == 400 and "replicas" in r.json()["error"]
    ghost = {**TARGET, "name": "ghost"}
    assert httpx.post(f"{url}/v1/actions", json={"id": "c", "kind": "restart",
                                                 "target": ghost}).status_code == 404
    assert httpx.get(f"{url}/v1/targets/SandboxWorkload/shop/ghost").status_code == 404
    assert httpx.get(f"{url}/v1/actions/never").status_code == 404


def test_clock_and_metrics(url: str) -> None:
    """/v1/clock gives the frame and now; /metrics is Prometheus text of every series."""
    clock = httpx.get(f"{url}/v1/clock").json()
    assert clock["speed"] == 60.0 and clock["now"] >= clock["sim"]
    text = httpx.get(f"{url}/metrics")
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert text.text.count("aiops_sandbox_") >= 30


def test_with_tokens_acting_needs_admin_and_reading_needs_read(secured: str) -> None:
    """The same edge as the daemon: 401 without a token, 403 without the role."""
    body = {"id": "s1", "kind": "restart", "target": TARGET}
    assert httpx.post(f"{secured}/v1/actions", json=body).status_code == 401
    assert httpx.post(f"{secured}/v1/actions", json=body,
                      headers=bearer("alice")).status_code == 403
    assert httpx.get(f"{secured}/v1/clock", headers=bearer("viewer")).status_code == 200
    assert httpx.get(f"{secured}/v1/clock", headers=bearer("am")).status_code == 403
    assert httpx.get(f"{secured}/metrics").status_code == 200  # Prometheus scrapes openly
