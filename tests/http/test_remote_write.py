"""POST /api/v1/write over a real socket: checks in order, 2xx only once scored, 503 to retry."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from aiops.config.sources import RemoteWriteConfig
from aiops.http import HttpServer, Principal, Principals, build_app
from aiops.http.endpoint import Call, Endpoint
from aiops.http.remote_write import remote_write_endpoints
from aiops.sources.remote_write import RemoteWriteSource
from aiops.sources.remote_write_proto import HEADERS, compress, encode_request

TOKENS = {"prom": "prom-token-0123456789", "am": "am-token-0123456789"}
NOW = time.time()


def table() -> Principals:
    return Principals([Principal(name="prom", roles=frozenset({"write"})),
                       Principal(name="am", roles=frozenset({"alerts"}))],
                      [TOKENS["prom"], TOKENS["am"]])


def body(n: int = 3, t: float = NOW, name: str = "aiops_sandbox_cpu_usage") -> bytes:
    return encode_request([({"__name__": name, "namespace": "shop", "workload": f"w{i}"},
                            [(0.5, round(t * 1000))]) for i in range(n)])


class Scorer:
    """Pulls and settles like the daemon's cycle; ``fail`` settles every batch as failed."""

    def __init__(self, source: RemoteWriteSource) -> None:
        self.source = source
        self.fail = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.02):
            if self.source.pending():
                self.source.pull(time.time())
                self.source.settle(not self.fail)


@contextlib.contextmanager
def served(source: RemoteWriteSource, *, standby: bool = False,
           max_body: int = 1 << 20) -> Iterator[tuple[str, Scorer]]:
    async def alerts(call: Call) -> httpx.Response:  # type: ignore[return-value]
        raise AssertionError("not reached on a standby")

    endpoints = [*remote_write_endpoints(ingest=source, max_body_bytes=max_body,
                                         max_decoded_bytes=4 << 20),
                 Endpoint(name="alerts", path="/v1/alerts", handler=alerts, method="POST",
                          role="alerts")]
    app = build_app(endpoints=endpoints, principals=table(), standby=lambda: standby)
    server = HttpServer(app, host="127.0.0.1", port=0)
    server.start()
    scorer = Scorer(source)
    scorer.thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}", scorer
    finally:
        scorer.stop.set()
        server.stop()


def post(url: str, data: bytes, *, token: str | None = "prom",
         headers: dict[str, str] | None = None) -> httpx.Response:
    h = dict(HEADERS) if headers is None else headers
    if token:
        h["Authorization"] = f"Bearer {TOKENS[token]}"
    return httpx.post(f"{url}/api/v1/write", content=data, headers=h, timeout=30)


def rw(**kw: object) -> RemoteWriteSource:
    return RemoteWriteSource(RemoteWriteConfig(preset="sandbox", **kw))  # type: ignore[arg-type]


def test_answered_204_only_after_the_samples_were_scored() -> None:
    """The 2xx comes back once the cycle has settled the request's samples."""
    source = rw()
    with served(source) as (url, _):
        r = post(url, body(5))
        assert r.status_code == 204
        assert source.counts["scored"] == 5


def test_scoring_failure_is_a_503_prometheus_retries() -> None:
    """A batch that could not be scored answers 503 with Retry-After, never 2xx."""
    source = rw()
    with served(source) as (url, scorer):
        scorer.fail = True
        r = post(url, body())
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        scorer.fail = False
        assert post(url, body()).status_code == 204  # the resend is scored, not a duplicate
        assert source.counts["scored"] == 3


def test_backpressure_is_a_503_with_retry_after() -> None:
    """A full queue refuses the request with 503 (Prometheus retries every 5xx)."""
    source = rw(max_pending_samples=1000)
    with served(source) as (url, scorer):
        scorer.stop.set()  # nothing is scored: the queue fills
        scorer.thread.join()
        done: list[httpx.Response] = []
        waiting = threading.Thread(target=lambda: done.append(post(url, body(900))))
        waiting.start()
        deadline = time.monotonic() + 10
        while source.pending() < 900 and time.monotonic() < deadline:
            time.sleep(0.02)
        r = post(url, body(200))
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert "busy" in r.json()["error"]
        source.pull(time.time())
        source.settle(True)
        waiting.join(10)
        assert done[0].status_code == 204


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("am", 403)])
def test_token_and_role_are_checked_before_the_body(token: str | None, status: int) -> None:
    """No token: 401; a token without the write role: 403; nothing is queued."""
    source = rw()
    with served(source) as (url, _):
        assert post(url, body(), token=token).status_code == status
    assert source.counts["scored"] == 0 and source.pending() == 0


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json", "Content-Encoding": "snappy"},
    {"Content-Type": "application/x-protobuf"},
    {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    {"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
     "Content-Encoding": "snappy"},
], ids=["json", "no-encoding", "gzip", "remote-write-2.0"])
def test_media_type_and_encoding_must_be_remote_write_1_0(headers: dict[str, str]) -> None:
    """Only application/x-protobuf (1.0) bodies, snappy-encoded: 415 otherwise."""
    with served(rw()) as (url, _):
        assert post(url, body(), headers=dict(headers)).status_code == 415


def test_bodies_over_the_caps_are_413() -> None:
    """Over the compressed cap while streaming, or declaring a decompressed size over it."""
    with served(rw(), max_body=512 * 1024) as (url, _):
        assert post(url, b"x" * (513 * 1024)).status_code == 413
        bomb = compress(b"\0" * (5 << 20))
        assert len(bomb) < 512 * 1024
        r = post(url, bomb)
        assert r.status_code == 413 and "decompresses" in r.json()["error"]


@pytest.mark.parametrize(("data", "why"), [
    (b"not snappy at all", "snappy"),
    (compress(b"\xff\xff\xff"), "WriteRequest"),
    (body(name=""), "__name__"),
], ids=["not-snappy", "not-protobuf", "no-name"])
def test_malformed_requests_are_400_with_a_reason(data: bytes, why: str) -> None:
    """Bad input is a 4xx naming what is wrong (Prometheus drops it and logs the reason)."""
    source = rw()
    with served(source) as (url, _):
        r = post(url, data)
        assert r.status_code == 400 and why in r.json()["error"]
    assert source.pending() == 0


def test_a_standby_takes_remote_write_but_not_other_posts() -> None:
    """Remote write keeps a standby's detectors warm; its webhook still answers 503."""
    with served(rw(), standby=True) as (url, _):
        assert post(url, body()).status_code == 204
        r = httpx.post(f"{url}/v1/alerts", json={},
                       headers={"Authorization": f"Bearer {TOKENS['am']}"})
        assert r.status_code == 503
