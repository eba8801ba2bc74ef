"""The Alertmanager webhook endpoint over a real socket (uvicorn) with the real journal."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiops.http import HttpServer, Principal, Principals, alert_endpoints, build_app
from aiops.journal import Journal
from aiops.model import Alert
from aiops.telemetry.metrics import Metrics
from tests.paths import SHARED

FIXTURES = SHARED / "fixtures"
FIRING = (FIXTURES / "alertmanager-v0.25-firing.json").read_bytes()
RESOLVED = (FIXTURES / "alertmanager-v0.25-resolved.json").read_bytes()
TOKEN = "t0ken-for-tests"
LIMIT = 64 * 1024


@dataclass
class Receiver:
    url: str
    journal_path: Path
    journal: Journal
    handed: list[Alert] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)

    def rows(self) -> list[tuple[str, str, str]]:
        with sqlite3.connect(self.journal_path) as db:
            return list(db.execute("SELECT kind, fingerprint, status FROM signals ORDER BY id"))

    def post(self, body: bytes, token: str | None = TOKEN, **kw: Any) -> httpx.Response:
        headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.post(self.url, content=body, headers=headers, timeout=10, **kw)


def start_receiver(tmp: Path, *, token: str | None = TOKEN) -> tuple[Receiver, HttpServer]:
    journal = Journal(tmp / "journal.db")
    rx = Receiver(url="", journal_path=tmp / "journal.db", journal=journal)

    def on_alerts(alerts: Sequence[Alert], now: float) -> None:
        rx.handed.extend(alerts)

    principals = None
    if token is not None:
        principals = Principals([Principal(name="am", roles=frozenset({"alerts"}))], [token])
    app = build_app(endpoints=alert_endpoints(
        journal=journal, on_alerts=on_alerts, max_body_bytes=LIMIT,
        clock=lambda: 1000.0, metrics=rx.metrics), principals=principals)
    server = HttpServer(app, host="127.0.0.1", port=0)
    server.start()
    rx.url = f"http://127.0.0.1:{server.port}/v1/alerts"
    return rx, server


@pytest.fixture
def rx(tmp_path: Path) -> Iterator[Receiver]:
    receiver, server = start_receiver(tmp_path)
    yield receiver
    server.stop()
    receiver.journal.close()


def _mutate(body: bytes, fn: Any) -> bytes:
    data = json.loads(body)
    fn(data)
    return json.dumps(data).encode()


def test_captured_firing_body_is_journaled_then_handed_over(rx: Receiver) -> None:
    """A real Alertmanager 0.25 body is stored durably and its alert handed to the engine."""
    r = rx.post(FIRING)
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "received": 1, "new": 1, "duplicates": 0}
    assert rx.rows() == [("alert", "84280e2050557c51", "firing")]
    assert [(a.name, a.status, a.labels["pod"]) for a in rx.handed] == [
        ("PodCpuHigh", "firing", "probe-0s-0-3cf25eb3")]


def test_redelivery_is_acknowledged_but_not_handed_twice(rx: Receiver) -> None:
    """A retried delivery (same fingerprint + startsAt) gets 200 and creates nothing new."""
    assert rx.post(FIRING).status_code == 200
    r = rx.post(FIRING)
    assert r.status_code == 200 and r.json()["duplicates"] == 1
    assert len(rx.rows()) == 1 and len(rx.handed) == 1
    assert rx.metrics.webhook_alerts.labels("duplicate")._value.get() == 1


def test_resolved_alert_is_a_new_signal(rx: Receiver) -> None:
    """The resolved notification of a firing alert is stored and handed over once."""
    rx.post(FIRING)
    assert rx.post(RESOLVED).json()["new"] == 1
    assert [s for _, _, s in rx.rows()] == ["firing", "resolved"]
    assert rx.handed[-1].status == "resolved" and rx.handed[-1].ends_at.startswith("2026")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (_mutate(FIRING, lambda d: d["alerts"][0].pop("fingerprint")), "alerts[0].fingerprint"),
        (_mutate(FIRING, lambda d: d["alerts"][0].pop("startsAt")), "alerts[0].startsAt"),
        (_mutate(FIRING, lambda d: d["alerts"][0]["labels"].update(pod=3)), "alerts[0].labels.pod"),
        (_mutate(FIRING, lambda d: d["alerts"][0].update(status="burning")), "alerts[0].status"),
        (_mutate(FIRING, lambda d: d["alerts"][0].update(startsAt="today")), "alerts[0].startsAt"),
        (_mutate(FIRING, lambda d: d.update(version=4)), "version"),
        (_mutate(FIRING, lambda d: d.update(alerts={})), "alerts"),
    ],
)
def test_bad_bodies_get_400_naming_the_field_and_write_nothing(
    rx: Receiver, body: bytes, field: str | None
) -> None:
    """Invalid JSON, wrong types and missing fields are 400 with a reason; journal untouched."""
    r = rx.post(body)
    assert r.status_code == 400
    assert r.json()["error"]
    assert r.json().get("field") == field
    assert rx.rows() == [] and rx.handed == []


def test_one_bad_alert_rejects_the_whole_body(rx: Receiver) -> None:
    """A body with one good and one bad alert is refused entirely: nothing half-written."""
    def add_bad(d: dict[str, Any]) -> None:
        d["alerts"].append({**d["alerts"][0], "fingerprint": "ffff", "labels": {"a": None}})
    r = rx.post(_mutate(FIRING, add_bad))
    assert r.status_code == 400 and r.json()["field"] == "alerts[1].labels.a"
    assert rx.rows() == []


def test_ten_megabyte_body_is_413_without_reading_it(rx: Receiver) -> None:
    """A declared 10 MB body is refused with 413 and the server keeps serving."""
    big = b'{"version": "4", "alerts": [' + b" " * (10 * 1024 * 1024) + b"]}"
    with socket.create_connection(("127.0.0.1", int(rx.url.split(":")[2].split("/")[0]))) as s:
        s.sendall(
            f"POST /v1/alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(big)}\r\n\r\n".encode()
            + big[:4096]
        )
        head = b""
        while chunk := s.recv(4096):  # the server answers, then closes the connection
            head += chunk
    assert head.decode().startswith("HTTP/1.1 413")
    assert b"body too large" in head
    assert rx.rows() == []
    assert rx.post(FIRING).status_code == 200


def test_chunked_oversized_body_is_cut_off_at_the_limit(rx: Receiver) -> None:
    """A body without Content-Length is read incrementally and refused once past the limit."""
    def chunks() -> Iterator[bytes]:
        yield b'{"version": "4", "alerts": ['
        for _ in range(200):  # 200 x 8 KiB = 1.6 MB, far past the 64 KiB limit
            yield b" " * 8192
        yield b"]}"
    try:
        r = httpx.post(rx.url, content=chunks(), timeout=10, headers={
            "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        assert r.status_code == 413
    except httpx.WriteError:
        pass  # the server closed the connection after answering 413 mid-upload
    assert rx.rows() == []
    assert rx.metrics.webhook_alerts.labels("too_large")._value.get() == 1


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic bm90OmJhc2U2NA==", "Token x"])
def test_wrong_or_missing_token_is_401(rx: Receiver, auth: str | None) -> None:
    """Without the configured token the request is refused before the body is read."""
    headers = {"Authorization": auth} if auth else {}
    r = rx.post(FIRING, token=None, headers=headers)
    assert r.status_code == 401 and r.json()["error"] == "missing or wrong token"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert rx.rows() == []


def test_basic_auth_with_the_token_as_password_is_accepted(rx: Receiver) -> None:
    """Alertmanager's basic_auth (any user, password = token) is accepted."""
    r = httpx.post(rx.url, content=FIRING, auth=("alertmanager", TOKEN), timeout=10,
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and len(rx.rows()) == 1


def test_journal_failure_is_503_so_alertmanager_retries(tmp_path: Path) -> None:
    """If the journal cannot store the alerts the answer is 503 and nothing is handed over."""
    receiver, server = start_receiver(tmp_path, token=None)
    try:
        receiver.journal.close()
        r = receiver.post(FIRING, token=None)
        assert r.status_code == 503 and "retry" in r.json()["error"]
        assert receiver.handed == []
    finally:
        server.stop()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
alert_like = st.fixed_dictionaries(
    {"status": st.sampled_from(["firing", "resolved", "x"]),
     "labels": st.dictionaries(
         st.text(max_size=5), st.text(max_size=5) | st.integers(), max_size=3),
     "startsAt": st.sampled_from(["2026-11-27T11:33:00Z", "nope", ""]),
     "fingerprint": st.text(max_size=6)},
    optional={"annotations": json_values, "endsAt": st.text(max_size=25)},
)
bodies = (
    st.binary(max_size=64)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.fixed_dictionaries({"version": st.sampled_from(["4", 4, "3"]),
                             "alerts": st.lists(alert_like, max_size=3)}).map(
        lambda v: json.dumps(v).encode())
)


def test_fuzzed_bodies_never_5xx_and_refusals_write_nothing(tmp_path: Path) -> None:
    """Hypothesis: any body gets 200 or 400, and a 400 leaves the journal unchanged."""
    receiver, server = start_receiver(tmp_path, token=None)
    client = httpx.Client(timeout=10)

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies)
    def check(body: bytes) -> None:
        before = len(receiver.rows())
        r = client.post(receiver.url, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (200, 400), r.text
        if r.status_code == 400:
            assert r.json()["error"] and len(receiver.rows()) == before
        else:
            assert len(receiver.rows()) == before + r.json()["new"]

    try:
        check()
    finally:
        client.close()
        server.stop()
        receiver.journal.close()
