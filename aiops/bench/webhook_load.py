"""Benchmark: Alertmanager webhook ingestion on loopback, and proof that none is lost.

``alerts`` distinct alerts are POSTed to ``/v1/alerts`` (``per_request`` per v4 body,
``concurrency`` keep-alive senders) served by uvicorn with the real journal (SQLite,
``synchronous=FULL``: every 200 is an fsync'd transaction). The report gives alerts/s,
request latency p50/p99, and counts the alerts the journal holds and the engine was
handed afterwards; both must equal ``alerts``.

The in-run baseline is the same server answering a no-op endpoint (the edge's checks: body
read and JSON decoded, then 200), so
"ingestion costs N x a bare round trip" is comparable across machines.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.responses import Response

from aiops.http import Call, Endpoint, HttpServer, alert_endpoints, build_app
from aiops.journal import Journal
from aiops.model import Alert


def body(first: int, count: int) -> bytes:
    """A v4 webhook body with alerts ``first .. first+count-1`` (distinct fingerprints)."""
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "BenchAlert", "namespace": "bench", "pod": f"p{i}"},
            "annotations": {"summary": f"bench alert {i}"},
            "startsAt": "2026-11-27T11:33:00.002Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://127.0.0.1:9090/graph",
            "fingerprint": f"{i:016x}",
        }
        for i in range(first, first + count)
    ]
    return json.dumps({
        "version": "4", "status": "firing", "receiver": "aiops", "groupKey": "{}:{}",
        "truncatedAlerts": 0, "alerts": alerts,
    }).encode()


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookBench:
    alerts: int
    per_request: int
    concurrency: int
    seconds: float
    latencies: list[float]
    baseline: list[float]
    stored: int
    handed: int
    failures: int

    @property
    def lost(self) -> int:
        return max(self.alerts - self.stored, self.alerts - self.handed)

    def _q(self, data: Sequence[float], q: float) -> float:
        return statistics.quantiles(data, n=100)[int(q) - 1] if len(data) > 1 else data[0]

    def as_dict(self) -> dict[str, Any]:
        return {
            "alerts": self.alerts, "per_request": self.per_request,
            "concurrency": self.concurrency,
            "alerts_per_second": self.alerts / self.seconds,
            "latency_p50_ms": self._q(self.latencies, 50) * 1000,
            "latency_p99_ms": self._q(self.latencies, 99) * 1000,
            "baseline_p50_ms": self._q(self.baseline, 50) * 1000,
            "p50_over_baseline": self._q(self.latencies, 50) / self._q(self.baseline, 50),
            "stored": self.stored, "handed": self.handed, "lost": self.lost,
            "failed_requests": self.failures,
        }

    def render(self) -> str:
        d = self.as_dict()
        return (
            f"webhook ingestion: {self.alerts} alerts ({self.per_request}/request, "
            f"{self.concurrency} senders) in {self.seconds:.2f} s = "
            f"{d['alerts_per_second']:.0f} alerts/s\n"
            f"  latency p50 {d['latency_p50_ms']:.1f} ms, p99 {d['latency_p99_ms']:.1f} ms; "
            f"baseline (no-op route) p50 {d['baseline_p50_ms']:.2f} ms -> "
            f"{d['p50_over_baseline']:.1f}x\n"
            f"  journal holds {self.stored}, engine handed {self.handed}, lost {self.lost}, "
            f"failed requests {self.failures}"
        )


def run_bench(
    *, alerts: int = 10_000, per_request: int = 1, concurrency: int = 8,
    workdir: Path | None = None,
) -> WebhookBench:
    """Deliver ``alerts`` alerts to a fresh receiver and count what arrived."""
    with tempfile.TemporaryDirectory(prefix="aiops-bench-") as tmp_name:
        tmp = workdir or Path(tmp_name)
        journal = Journal(tmp / "journal.sqlite")
        handed = 0
        lock = threading.Lock()

        def on_alerts(new: Sequence[Alert], now: float) -> None:
            nonlocal handed
            with lock:
                handed += len(new)

        async def noop(_: Call) -> Response:
            return Response(b'{"status": "ok"}', media_type="application/json")

        cap = max(1_048_576, per_request * 1024)
        app = build_app(endpoints=[
            *alert_endpoints(journal=journal, on_alerts=on_alerts, max_body_bytes=cap),
            Endpoint(name="noop", path="/noop", handler=noop, method="POST", max_body=cap),
        ])
        server = HttpServer(app, host="127.0.0.1", port=0)
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        try:
            bodies = [
                body(first, min(per_request, alerts - first))
                for first in range(0, alerts, per_request)
            ]
            baseline = _send(f"{base}/noop", bodies[: min(len(bodies), 500)], concurrency)[0]
            t0 = time.perf_counter()
            latencies, failures = _send(f"{base}/v1/alerts", bodies, concurrency)
            seconds = time.perf_counter() - t0
        finally:
            server.stop()
            journal.close()
        with sqlite3.connect(tmp / "journal.sqlite") as db:
            stored = int(db.execute("SELECT COUNT(*) FROM signals WHERE kind='alert'")
                         .fetchone()[0])
        return WebhookBench(
            alerts=alerts, per_request=per_request, concurrency=concurrency, seconds=seconds,
            latencies=latencies, baseline=baseline, stored=stored, handed=handed,
            failures=failures,
        )


def _send(url: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], int]:
    """POST every body (Alertmanager-style: retry on 5xx or connection errors)."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    local = threading.local()
    clients: list[httpx.Client] = []

    def post(payload: bytes) -> None:
        nonlocal failures
        client: httpx.Client | None = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30.0)
            with lock:
                clients.append(client)
        for _attempt in range(5):
            t0 = time.perf_counter()
            try:
                r = client.post(url, content=payload,
                                headers={"Content-Type": "application/json"})
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                failures += 0 if ok else 1
            if ok:
                return
            time.sleep(0.05)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(post, bodies))
    for client in clients:
        client.close()
    return latencies, failures
